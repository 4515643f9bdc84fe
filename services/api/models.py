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
    service_request_id: str
    token: str


class RequestUpdate(BaseModel):
    update_id: str
    service_request_id: str
    status: str = Field(description="OPEN, INVESTIGATING, IN_PROGRESS, ACTION_SCHEDULED, FIXED or CLOSED")
    updated_datetime: str
    description: str
    media_url: str | None


class UpdateAnswer(BaseModel):
    update_id: str


ERRORS = {status: {"model": list[Error], "description": text} for status, text in (
    (400, "Bad input; one error per problem"), (403, "api_key missing, unknown or not allowed"),
    (404, "Not found"))}
