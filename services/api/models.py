"""Pydantic models of the JSON documents, for the OpenAPI description only (views.py builds the documents)."""

from pydantic import BaseModel, Field


class Error(BaseModel):
    code: int = Field(description="The HTTP status: 400 (bad input), 403 (api_key), 404 (not found)")
    description: str


class Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Endpoint]


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool = Field(description="true when the service has a definition with attributes")
    type: str = Field(description="realtime, batch or blackbox")
    keywords: str = Field(description="comma-separated")
    group: str | None


class AttributeValue(BaseModel):
    key: str
    name: str


class Attribute(BaseModel):
    variable: bool
    code: str
    datatype: str = Field(description="string, number, datetime, text, singlevaluelist or multivaluelist")
    required: bool
    datatype_description: str | None
    order: int
    description: str
    values: list[AttributeValue]


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[Attribute]


class Note(BaseModel):
    datetime: str
    type: str = Field(description="opened, activity, closed or rejected")
    summary: str
    status: str | None = Field(description="the platform's detailed status after this step")
    description: str | None


class ExtendedAttributes(BaseModel):
    channel: str | None = Field(description="intake channel: web, mobile, phone, walk_in, email, social, kiosk, api, "
                                "other")
    duplicate_of: str | None


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str | None
    service_name: str | None
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: str = Field(description="W3C datetime with the jurisdiction's UTC offset")
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None
    extended_attributes: ExtendedAttributes | None = Field(default=None, description="only with extensions=true")
    notes: list[Note] | None = Field(default=None, description="only with extensions=true: the request's history")


class PostAnswer(BaseModel):
    """Either service_request_id (with service_notice, account_id and, when known, expected_datetime) once the
    platform has accepted the request, or a token while it is still on its way."""

    service_request_id: str | None = None
    service_notice: str | None = None
    account_id: str | None = None
    expected_datetime: str | None = None
    token: str | None = None


class TokenAnswer(BaseModel):
    """A request's token: its service_request_id. An update's token (POST servicerequestupdates): the lifecycle's
    decision, with update_id, outcome and, once decided, the status it led to or the refusal."""

    service_request_id: str
    token: str
    update_id: str | None = Field(default=None, description="an update's token only")
    outcome: str | None = Field(default=None, description="an update's token only: pending, accepted or refused")
    status: str | None = Field(default=None, description="accepted: the request's status after the update")
    code: int | None = Field(default=None, description="refused: the HTTP status the refusal is (400, 403, 404)")
    description: str | None = Field(default=None, description="refused: why")


class RequestUpdate(BaseModel):
    update_id: str
    service_request_id: str
    status: str = Field(description="OPEN, INVESTIGATING, IN_PROGRESS, ACTION_SCHEDULED, FIXED or CLOSED")
    updated_datetime: str
    description: str
    media_url: str | None


class UpdateAnswer(BaseModel):
    """update_id once the platform has accepted the update; with a token while the platform has not decided yet
    (look the decision up with GET tokens/{token})."""

    update_id: str
    token: str | None = None


def _errors(status: int, text: str, example: str) -> dict:
    return {"model": list[Error], "description": text,
            "content": {"application/json": {"example": [{"code": status, "description": example}]}}}


# The error answers of the reading endpoints (never FastAPI's 422: a bad parameter is a 400 in the spec's format);
# a POST also checks its api_key (403) and hands a record to the broker (503 when it cannot).
ERRORS = {
    400: _errors(400, "Bad input; one error per problem, several at once", "start_date must be a W3C datetime such "
                 "as 2010-04-14T06:37:38-08:00, got 'yesterday'"),
    404: _errors(404, "Not found: no such service, request, token or URL", "Service request not found with id 'x'"),
    500: _errors(500, "The server failed (counted and logged)", "internal error"),
}
POST_ERRORS = {
    **ERRORS,
    403: _errors(403, "api_key missing, unknown, or not allowed to do this", "api_key is not valid"),
    503: _errors(503, "The platform could not take the record now; try again later",
                 "the request could not be handed to the platform now; try again later"),
}
