"""The Open311 GeoReport v2 server (`civicflow api`): JSON and XML by suffix under /open311/v2/.

Reads come from the read model (requests, request_events); a POSTed request is validated with the intake
pipeline's own rules, sent to the intake topic, and answered with its id once the read model shows it (or with a
token while it is on its way). Agencies POST status updates (FixMyStreet's servicerequestupdates).

    GET  discovery.{json|xml}                    service discovery
    GET  services.{json|xml}                     the service list
    GET  services/{service_code}.{json|xml}      a service definition
    POST requests.{json|xml}                     submit a request (api_key)
    GET  requests.{json|xml}                     search requests
    GET  requests/{service_request_id}.{json|xml}
    GET  tokens/{token}.{json|xml}               the request id of a token
    GET  servicerequestupdates.{json|xml}        accepted agency updates (FixMyStreet)
    POST servicerequestupdates.{json|xml}        an agency's status update (agency api_key)
    GET  openapi.json                            OpenAPI description of the JSON side
"""

import inspect
from collections.abc import Callable, Mapping

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from civicflow.services.api import models, params
from civicflow.services.api import observability as api_observability
from civicflow.services.api import progress as api_progress
from civicflow.services.api.endpoints import BASE, Open311
from civicflow.services.api.exceptions import ApiConfigError, ApiError
from civicflow.streams.kafka import security as kafka_security
from civicflow.streams.open311 import formats
from civicflow.streams.settings import Settings

log = structlog.get_logger(__name__)

SEND_TIMEOUT_S = 10.0  # how long a POST waits for the broker to acknowledge the record


def _form_body(fields: dict[str, str], *, required: tuple[str, ...], example: dict[str, str]) -> dict:
    """An OpenAPI requestBody of form fields (the endpoints read the body themselves), and the api_key it needs."""
    return {"requestBody": {"required": True, "content": {params.FORM_TYPE: {"schema": {
        "type": "object", "required": list(required), "example": example,
        "properties": {name: {"type": "string", "description": text} for name, text in fields.items()}}}}},
        "security": [{API_KEY: []}]}


API_KEY = "api_key"
SECURITY_SCHEMES = {API_KEY: {
    "type": "apiKey", "in": "query", "name": "api_key",
    "description": "The client's key (deploy/api/keys.yaml): as GeoReport v2 posts it, a field of the form body, or "
                   "in the query string. A client key's channel becomes the request's channel; only agency keys "
                   "may POST servicerequestupdates, for their own agency's requests. Missing, unknown or not "
                   "allowed: 403."}}


POST_REQUEST_FIELDS = {
    "api_key": "required: the client's key; its channel becomes the request's channel",
    "jurisdiction_id": "only when the server serves several jurisdictions",
    "service_code": "required",
    "lat": "WGS84 latitude (with long), or give address_string or address_id",
    "long": "WGS84 longitude", "address_string": "free-text address", "address_id": "the city's address id",
    "attribute[code]": "answer to the service definition's attribute `code`; attribute[code][]=v once per value of "
                       "a multivaluelist",
    "email": "", "device_id": "", "account_id": "", "first_name": "", "last_name": "", "phone": "",
    "description": "plain text, at most 4,000 characters", "media_url": "http(s) URL",
    "idempotency_key": "extension: the same key again within 24 hours creates no second request",
    "language": "extension: BCP 47 tag of the citizen's language",
}
POST_UPDATE_FIELDS = {
    "api_key": "required: an agency's key; the update is sent as that agency",
    "service_request_id": "required", "status": "required: acknowledged, in_progress, on_hold, resolved, closed, "
    "reopened, transferred, duplicate, or FixMyStreet's FIXED, CLOSED, IN_PROGRESS, ACTION_SCHEDULED, INVESTIGATING, "
    "OPEN", "updated_datetime": "when it happened (W3C datetime; default: now)",
    "description": "note for the citizen (status_notes)", "update_id": "the sender's id of the update (idempotency)",
    "to_agency": "for transferred", "duplicate_of": "for duplicate",
}


# ---- the application -------------------------------------------------------------------------------------------

def create_app(*, settings: Settings, jurisdictions: Mapping, engine: Engine, submit: Callable[[dict], None],
               send_update: Callable[[dict], None], post_wait_s: float = 1.5,
               read_model_complete: Callable[[], bool] | None = None) -> FastAPI:
    """The API on these jurisdictions and this read model; `submit` sends a ServiceRequestSubmitted record to the
    intake topic, `send_update` a StatusUpdate record to the updates topic (both raise when they cannot);
    `read_model_complete` says whether the read model holds every request submitted so far (services/api/progress:
    from the consumer groups' offsets), so that an update about a request it lacks is a 404, not a token."""
    if not jurisdictions:
        raise ApiConfigError("the API needs at least one jurisdiction")
    api = Open311(settings=settings, jurisdictions=jurisdictions, engine=engine, submit=submit,
                  send_update=send_update, post_wait_s=post_wait_s, read_model_complete=read_model_complete)
    # the docs page's Swagger UI assets come from the fastapi-offline package, served by the API: no CDN
    app = FastAPIOffline(title="civicflow Open311 GeoReport v2", version="2", openapi_tags=TAGS,
                  static_url=f"{BASE}/docs-assets", favicon_url=None,
                  description="GeoReport v2 (http://wiki.open311.org/GeoReport_v2) over the civicflow platform. "
                  "Every resource is also served as XML: replace the .json suffix by .xml. Errors are lists of "
                  "{code, description}.",
                  openapi_url=f"{BASE}/openapi.json", docs_url=f"{BASE}/docs", redoc_url=None,
                  swagger_ui_parameters={"docExpansion": "list", "tryItOutEnabled": False})
    _route(app, "discovery", api.discovery, methods=["GET"], summary="Service discovery",
           response_model=models.Discovery)
    _route(app, "services", api.services, methods=["GET"], summary="List the services (request types)",
           response_model=list[models.Service])
    _route(app, "services/{service_code}", api.service_definition, methods=["GET"],
           summary="A service's definition: the attributes a request must or may answer",
           response_model=models.ServiceDefinition)
    _route(app, "requests", api.post_request, methods=["POST"], summary="Submit a service request",
           description="Form-encoded fields as GeoReport v2 posts them. Every problem is reported, each as one "
           "error, and nothing is sent while anything is wrong. Answers service_request_id once the platform has "
           "accepted the request, or a token while it is still on its way (look it up with GET tokens/{token}).",
           response_model=list[models.PostAnswer],
           openapi_extra=_form_body(POST_REQUEST_FIELDS, required=("api_key", "service_code"), example={
               "api_key": "demo-web-key", "service_code": "noise-residential", "lat": "40.7580", "long": "-73.9855",
               "attribute[descriptor]": "loud-music-party", "description": "Party next door"}))
    _route(app, "requests", api.get_requests, methods=["GET"], summary="Search service requests",
           description="Without ids and dates: the last 90 days, newest first, at most 1,000 per page.",
           response_model=list[models.ServiceRequest])
    _route(app, "requests/{service_request_id}", api.get_request, methods=["GET"], summary="One service request",
           response_model=list[models.ServiceRequest])
    _route(app, "tokens/{token}", api.token, methods=["GET"], summary="The service_request_id of a token",
           response_model=list[models.TokenAnswer])
    _route(app, "servicerequestupdates", api.get_updates, methods=["GET"],
           summary="Accepted agency updates (FixMyStreet's extension)", response_model=list[models.RequestUpdate])
    _route(app, "servicerequestupdates", api.post_update, methods=["POST"],
           summary="Send an agency's status update (FixMyStreet's extension; agency keys only)",
           description="Checked against the read model before anything is sent: 403 when the key's agency does not "
           "own the request, 404 when there is no such accepted request, 400 for an illegal transition, a transfer "
           "or duplicate without its target, or a time before the request's submission or its last accepted "
           "update, older than the live bound (24 hours) or ahead of the clock. Answers update_id once the platform "
           "has accepted it, or update_id and a token while it has not decided (a request not in the read model "
           "yet): GET tokens/{token} tells the outcome.",
           response_model=list[models.UpdateAnswer],
           openapi_extra=_form_body(POST_UPDATE_FIELDS, required=("api_key", "service_request_id", "status"),
                                    example={"api_key": "demo-nypd-agency-key", "service_request_id":
                                             "5d4a1c6e-2f1b-4d8e-9a51-0c7e3b2f9a10", "status": "FIXED",
                                             "description": "Officers asked for the music to be turned down."}))
    _handlers(app)
    api_observability.instrument(app, unexpected=_unexpected)
    app.openapi = lambda: _openapi(app)
    return app


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document with what the API really answers: the spec's error lists for 400, 403, 404 (and 500,
    503), never FastAPI's 422, and the api_key scheme the POSTs need."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes,
                           tags=app.openapi_tags)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    document["components"]["securitySchemes"] = SECURITY_SCHEMES
    app.openapi_schema = document
    return document


TAGS = [
    {"name": "services", "description": "The catalog: which requests can be made, and what each must answer."},
    {"name": "requests", "description": "Submit service requests, follow them, and resolve tokens."},
    {"name": "updates", "description": "Agencies' status updates (FixMyStreet's extension)."},
    {"name": "discovery", "description": "Where this endpoint is and what it supports."},
]
TAG_OF_PATH = {"discovery": "discovery", "services": "services", "requests": "requests", "tokens": "requests",
               "servicerequestupdates": "updates"}


def _route(app: FastAPI, path: str, impl: Callable, *, methods: list[str], summary: str, response_model,
           description: str | None = None, openapi_extra: dict | None = None) -> None:
    """Two routes of one endpoint: {path}.json (documented), and {path}.{fmt} for .xml (and any other suffix,
    which is answered with an error)."""
    signature = inspect.signature(impl)
    json_signature = signature.replace(parameters=[p for p in signature.parameters.values() if p.name != "fmt"])
    if inspect.iscoroutinefunction(impl):
        async def as_json(**kwargs):
            return await impl(fmt="json", **kwargs)

        async def any_format(**kwargs):
            return await impl(**kwargs)
    else:
        def as_json(**kwargs):
            return impl(fmt="json", **kwargs)

        def any_format(**kwargs):
            return impl(**kwargs)
    as_json.__signature__ = json_signature
    any_format.__signature__ = signature
    name = f"{impl.__name__}"
    app.add_api_route(f"{BASE}/{path}.json", as_json, methods=methods, name=f"{name}_json", summary=summary,
                      description=description or inspect.getdoc(impl) or "", response_model=response_model,
                      responses=models.POST_ERRORS if "POST" in methods else models.ERRORS,
                      openapi_extra=openapi_extra, tags=[TAG_OF_PATH[path.split("/")[0]]])
    app.add_api_route(f"{BASE}/{path}.{{fmt}}", any_format, methods=methods, name=name, include_in_schema=False)


def _handlers(app: FastAPI) -> None:
    """Every error in the spec's format, in the format the URL asked for (XML when it names none)."""

    async def api_error(request: Request, error: ApiError) -> Response:
        return formats.errors(formats.format_of_path(request.url.path), error.status, error.descriptions)

    async def invalid(request: Request, error: RequestValidationError) -> Response:
        descriptions = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', 'invalid')}"
                        for e in error.errors()] or ["invalid request"]
        return formats.errors(formats.format_of_path(request.url.path), 400, descriptions)

    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        fmt = formats.format_of_path(request.url.path)
        if error.status_code == 404:
            return formats.errors(fmt, 404, [f"no such resource: {params.echo(request.url.path)}"])
        if error.status_code == 405:
            return formats.errors(fmt, 400, [f"{request.method} is not allowed here"], headers=error.headers)
        return formats.errors(fmt, error.status_code if error.status_code >= 400 else 400, [str(error.detail)])

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)


def _unexpected(request: Request, error: Exception) -> Response:
    """A 500 in the spec's format for an error no handler took; the counting middleware answers with it, so it is
    counted like every other answer (Starlette's own catch-all sits outside every middleware)."""
    log.error("api_unexpected_error", path=request.url.path, method=request.method,
              exc_info=(type(error), error, error.__traceback__))
    return formats.errors(formats.format_of_path(request.url.path), 500, ["internal error"])


# ---- the process -----------------------------------------------------------------------------------------------

def run(settings: Settings) -> int:
    """`civicflow api`: the API on the configured jurisdictions, read model and Kafka cluster, until stopped."""
    import uvicorn
    from civicflow.services.readmodel import db
    from civicflow.services.sdk.producer import RequestProducer
    from civicflow.services.sdk.updates import UpdateProducer
    from civicflow.streams.contracts import codec as contract_codec
    from civicflow.streams.contracts import topics as contract_topics
    from civicflow.streams.jurisdiction import loader as jurisdiction_loader
    from civicflow.streams.observability import logs
    from civicflow.streams.observability import ports

    logs.configure(log_format=settings.log_format, level=settings.log_level)
    # expected errors (configuration, a port in use, Kafka down) are raised for the command line to explain
    jurisdictions = jurisdiction_loader.load_jurisdictions(settings.jurisdictions_dir)
    if not ports.bindable(settings.api_host, settings.api_port):
        raise ApiConfigError(f"{settings.api_host}:{settings.api_port} is already in use: stop what listens there, "
                             "or set CIVICFLOW_API_PORT (and CIVICFLOW_API_HOST) to a free address")
    engine = db.engine_for(settings.read_model_url)
    db.migrate(engine)
    codec = contract_codec.from_settings(settings)
    topics = contract_topics.Topics(prefix=settings.topic_prefix)
    security = kafka_security.from_settings(settings)
    try:
        producer = RequestProducer(bootstrap_servers=settings.bootstrap_servers, security=security, topics=topics,
                                   codec=codec,
                                   linger_ms=settings.producer_linger_ms)
        update_producer = UpdateProducer(bootstrap_servers=settings.bootstrap_servers, security=security, topics=topics,
                                         codec=codec,
                                         linger_ms=settings.producer_linger_ms)
    except BaseException:
        engine.dispose()
        raise
    try:
        app = create_app(settings=settings, jurisdictions=jurisdictions, engine=engine,
                         submit=lambda record: producer.send_record(record).get(timeout=SEND_TIMEOUT_S),
                         send_update=lambda record: update_producer.send_record(record).get(timeout=SEND_TIMEOUT_S),
                         read_model_complete=api_progress.checker(settings))
        log.info("api_starting", url=f"http://{settings.api_host}:{settings.api_port}{BASE}/",
                 openapi=f"http://{settings.api_host}:{settings.api_port}{BASE}/openapi.json",
                 read_model=engine.url.render_as_string(hide_password=True))
        uvicorn.run(app, host=settings.api_host, port=settings.api_port, log_config=None)
    finally:
        producer.close()
        update_producer.close()
        engine.dispose()
    return 0
