"""The Open311 endpoints: each reads its parameters, checks them (every problem at once), and answers in the
format the URL's suffix asked for. service.py puts them on routes."""

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Annotated

import structlog
from fastapi import Query, Request
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from civicflow.services.api import keys as api_keys
from civicflow.services.api import params, submissions, updates, views
from civicflow.services.api.exceptions import BadRequest, NotFound, Unavailable
from civicflow.services.readmodel import queries
from civicflow.streams.open311 import fields as open311_fields
from civicflow.streams.open311 import formats
from civicflow.streams.settings import Settings

log = structlog.get_logger(__name__)

BASE = "/open311/v2"
POLL_S = 0.1
MAX_PAGE = 1_000_000
FROM_QUERY = ("api_key", "jurisdiction_id")  # many clients put these in the query string of a POST too

Jurisdiction = Annotated[str | None, Query(description="Needed only when the server serves several jurisdictions "
                                                   "(this one serves one per loaded city)")]


class Open311:
    """The endpoints; each takes the format (json or xml) the URL's suffix asked for."""

    def __init__(self, *, settings: Settings, jurisdictions: Mapping, engine: Engine,
                 submit: Callable[[dict], None], send_update: Callable[[dict], None], post_wait_s: float,
                 read_model_complete: Callable[[], bool] | None = None) -> None:
        self.jurisdictions = dict(jurisdictions)
        self.names = views.Jurisdictions(jurisdictions)
        self.keys = api_keys.load(settings.api_keys_file, jurisdictions=self.jurisdictions)
        self.engine = engine
        self.submit = submit
        self.send_update = send_update
        self.post_wait_s = post_wait_s
        # True when the read model holds every request submitted so far (so one it lacks does not exist); None: the
        # API cannot tell, and an update about a request it lacks is sent with a token
        self.read_model_complete = read_model_complete
        self.changeset = _changeset(self.jurisdictions)

    # ---- catalog ----------------------------------------------------------------------------------------------

    def discovery(self, request: Request, fmt: str) -> Response:
        fmt = _format(fmt)
        first = next(iter(self.jurisdictions.values()))
        url = str(request.base_url).rstrip("/") + BASE
        document = views.discovery(url=url, changeset=self.changeset, zone=self.names.zone(first.id),
                                   names=[j.name for j in self.jurisdictions.values()])
        return formats.render(fmt, "discovery", document)

    def services(self, fmt: str, jurisdiction_id: Jurisdiction = None) -> Response:
        fmt = _format(fmt)
        jurisdiction = self._jurisdiction_or_fail(jurisdiction_id)
        items = sorted(jurisdiction.services.values(), key=lambda s: s.service_code)
        return formats.render(fmt, "services", [views.service(s) for s in items])

    def service_definition(self, service_code: str, fmt: str, jurisdiction_id: Jurisdiction = None) -> Response:
        fmt = _format(fmt)
        jurisdiction = self._jurisdiction_or_fail(jurisdiction_id)
        service = jurisdiction.services.get(service_code)
        if service is None:
            raise NotFound(f"Service not found with service_code {params.echo(service_code)}")
        return formats.render(fmt, "service_definition", views.service_definition(service))

    # ---- requests ---------------------------------------------------------------------------------------------

    async def post_request(self, request: Request, fmt: str) -> Response:
        fmt = _format(fmt)
        pairs = _with_query(request, await params.form(request))
        problems: list[str] = []
        fields, attributes = submissions.collect(
            pairs, allowed=open311_fields.REQUEST_FIELDS + open311_fields.CREDENTIALS, problems=problems)
        key = api_keys.authenticate(self.keys, fields.get("api_key"))
        record = submissions.build(fields, attributes, key=key, jurisdictions=self.jurisdictions,
                                   now=datetime.now(timezone.utc), problems=problems)
        if problems or record is None:
            raise BadRequest(*problems)
        await self._send(self.submit, record, what="request")
        log.info("request_submitted", request_id=record["request_id"], service_code=record["service_code"],
                 client=key.client)
        row = await self._wait_for(record["request_id"])
        if row is None:
            return formats.render(fmt, "service_requests", [{"token": record["request_id"]}])
        if row["status"] == "rejected":
            raise submissions.rejection(row, views.rejection_reasons(row))
        jurisdiction = self.jurisdictions.get(row["jurisdiction_id"])
        expected = submissions.expected_at(row, record=record, jurisdiction=jurisdiction)
        answer = {"service_request_id": row["request_id"],
                  "service_notice": views.service_notice(row, names=self.names, expected=expected),
                  "account_id": fields.get("account_id")}
        if expected is not None:
            answer["expected_datetime"] = formats.w3c(expected, self.names.zone(row["jurisdiction_id"]))
        return formats.render(fmt, "service_requests", [answer])

    def get_requests(self, request: Request, fmt: str, jurisdiction_id: Jurisdiction = None,
                     service_request_id: Annotated[str | None, Query(
                         description="comma list of ids; when given, every other filter is ignored")] = None,
                     service_code: Annotated[str | None, Query(description="comma list")] = None,
                     start_date: Annotated[str | None, Query(description="W3C datetime: requested at or after")] = None,
                     end_date: Annotated[str | None, Query(description="W3C datetime: requested at or before; "
                                                                       "the span may not exceed 90 days")] = None,
                     status: Annotated[str | None, Query(description="open, closed, or both (comma list)")] = None,
                     page: Annotated[str | None, Query(description="extension: page number, from 1")] = None,
                     page_size: Annotated[str | None, Query(description="extension: 1 to 1000 (default 1000)")] = None,
                     updated_after: Annotated[str | None, Query(description="extension: W3C datetime")] = None,
                     updated_before: Annotated[str | None, Query(description="extension: W3C datetime")] = None,
                     extensions: Annotated[str | None, Query(description="extension: true adds each request's "
                                                                         "channel and history (notes)")] = None,
                     ) -> Response:
        fmt = _format(fmt)
        problems: list[str] = []
        jurisdiction = self._jurisdiction(jurisdiction_id, problems)
        zone = self.names.zone(jurisdiction.id if jurisdiction is not None else None)
        query = request.query_params
        statuses = [s.lower() for s in params.text_list(query.getlist("status"))]
        problems += [f"status {params.echo(s)} is not open or closed" for s in statuses if s not in ("open", "closed")]
        start = params.moment("start_date", start_date, zone=zone, problems=problems)
        end = params.moment("end_date", end_date, zone=zone, problems=problems)
        problems += _span_problems(start, end)
        after = params.moment("updated_after", updated_after, zone=zone, problems=problems)
        before = params.moment("updated_before", updated_before, zone=zone, problems=problems)
        page_number = params.integer("page", page, minimum=1, maximum=MAX_PAGE, problems=problems)
        size = params.integer("page_size", page_size, minimum=1, maximum=queries.MAX_PAGE_SIZE, problems=problems)
        extended = params.boolean("extensions", extensions, problems=problems)
        if problems:
            raise BadRequest(*problems)
        ids = params.text_list(query.getlist("service_request_id"))
        with self.engine.connect() as conn:
            rows = queries.list_requests(
                conn, ids=ids, service_codes=params.text_list(query.getlist("service_code")), start=start, end=end,
                statuses=statuses, jurisdiction_id=jurisdiction.id, updated_after=after, updated_before=before,
                page=page_number or 1, page_size=size or queries.MAX_PAGE_SIZE, now=datetime.now(timezone.utc))
            history = queries.history(conn, [r["request_id"] for r in rows]) if extended else {}
        return self._requests(fmt, rows, history, extended)

    def get_request(self, service_request_id: str, fmt: str, jurisdiction_id: Jurisdiction = None,
                    extensions: Annotated[str | None, Query(description="extension: true adds the channel and the "
                                                                        "history (notes)")] = None) -> Response:
        fmt = _format(fmt)
        problems: list[str] = []
        jurisdiction = self._jurisdiction(jurisdiction_id, problems)
        extended = params.boolean("extensions", extensions, problems=problems)
        if problems:
            raise BadRequest(*problems)
        with self.engine.connect() as conn:
            row = queries.get_request(conn, service_request_id)
            if row is None or row["jurisdiction_id"] != jurisdiction.id:
                raise NotFound(f"Service request not found with id {params.echo(service_request_id)}")
            history = queries.history(conn, [row["request_id"]]) if extended else {}
        return self._requests(fmt, [row], history, extended)

    def token(self, token: str, fmt: str, jurisdiction_id: Jurisdiction = None) -> Response:
        """A request's token: its service_request_id once the read model shows it. An update's token (POST
        servicerequestupdates answers one while the request is not in the read model yet): the lifecycle's decision,
        outcome pending, accepted (with the status it led to) or refused (with the reasons)."""
        fmt = _format(fmt)
        self._jurisdiction_or_fail(jurisdiction_id)
        named = updates.parse_token(token)
        if named is not None:
            request_id, update_id = named
            with self.engine.connect() as conn:
                decided = updates.outcome(conn, request_id, update_id)
            answer = {"token": token, "service_request_id": request_id, "update_id": update_id,
                      "outcome": "pending" if decided is None else decided["outcome"]}
            if decided is not None and decided["outcome"] == "accepted":
                answer["status"] = decided["status"]
            elif decided is not None:
                answer["description"] = "; ".join(decided["error"].descriptions)
                answer["code"] = decided["error"].status
            return formats.render(fmt, "service_requests", [answer])
        with self.engine.connect() as conn:
            row = queries.get_request(conn, token)
        if row is None:
            raise NotFound(f"Service request not found with token {params.echo(token)}")
        return formats.render(fmt, "service_requests", [{"service_request_id": row["request_id"], "token": token}])

    # ---- updates (FixMyStreet) --------------------------------------------------------------------------------

    def get_updates(self, fmt: str, jurisdiction_id: Jurisdiction = None,
                    start_date: Annotated[str | None, Query(description="W3C datetime: updates at or after")] = None,
                    end_date: Annotated[str | None, Query(description="W3C datetime: updates at or before")] = None,
                    ) -> Response:
        fmt = _format(fmt)
        problems: list[str] = []
        jurisdiction = self._jurisdiction(jurisdiction_id, problems)
        zone = self.names.zone(jurisdiction.id if jurisdiction is not None else None)
        start = params.moment("start_date", start_date, zone=zone, problems=problems)
        end = params.moment("end_date", end_date, zone=zone, problems=problems)
        problems += _span_problems(start, end)
        if problems:
            raise BadRequest(*problems)
        start, end = queries.window(start=start, end=end, now=datetime.now(timezone.utc))
        with self.engine.connect() as conn:
            events = queries.list_updates(conn, start=start, end=end, jurisdiction_id=jurisdiction.id)
        return formats.render(fmt, "service_request_updates", [views.update(e, names=self.names) for e in events])

    async def post_update(self, request: Request, fmt: str) -> Response:
        fmt = _format(fmt)
        pairs = _with_query(request, await params.form(request))
        problems: list[str] = []
        fields, attributes = submissions.collect(
            pairs, allowed=open311_fields.UPDATE_FIELDS + open311_fields.UPDATE_IGNORED + open311_fields.CREDENTIALS,
            problems=problems)
        key = api_keys.authenticate(self.keys, fields.get("api_key"))
        agency = updates.agency_of(key, fields)
        problems += [f"unknown field 'attribute[{code}]'" for code in attributes]
        if "service_request_id" not in fields:
            problems.append("service_request_id is required")
        updates.platform_status(fields.get("status"), problems=problems)
        jurisdiction = self._jurisdiction(fields.get("jurisdiction_id"), problems)
        if problems:
            raise BadRequest(*problems)
        request_id = fields["service_request_id"]
        row = await self._wait_for(request_id)
        if row is None and await self._read_model_complete():
            row = await run_in_threadpool(self._read, queries.get_request, request_id)
            if row is None:
                raise NotFound(f"Service request not found with id {params.echo(request_id)}")
        if row is not None and row["jurisdiction_id"] != jurisdiction.id:
            raise NotFound(f"Service request not found with id {params.echo(request_id)} in {jurisdiction.id}")
        now = datetime.now(timezone.utc)
        record = updates.build(fields, request_id=request_id, jurisdiction_id=jurisdiction.id,
                               external_id=row["external_id"] if row is not None else None, agency=agency,
                               zone=self.names.zone(jurisdiction.id), now=now, problems=problems)
        if problems or record is None:
            raise BadRequest(*problems)
        if row is not None:
            last = await run_in_threadpool(self._read, updates.last_update_at, request_id)
            updates.check(record, row=row, last_update_at=last, agencies=jurisdiction.agency_names, now=now)
        elif problems := updates.future_problems(record, now=now):
            raise BadRequest(*problems)
        await self._send(self.send_update, record, what="update")
        log.info("update_sent", request_id=request_id, status=record["status"], agency=agency,
                 known=row is not None)
        answer = {"update_id": record["update_id"]}
        decided = await self._wait_for_outcome(record) if row is not None else None
        if decided is None:
            answer["token"] = updates.token_of(record)  # the lifecycle decides later: poll GET tokens/{token}
        elif decided["outcome"] == "refused":
            raise decided["error"]
        return formats.render(fmt, "service_request_updates", [answer])

    # ---- helpers ----------------------------------------------------------------------------------------------

    def _requests(self, fmt: str, rows: list[dict], history: dict, extended: bool) -> Response:
        items = [views.service_request(row, names=self.names, events=history.get(row["request_id"]),
                                       extensions=extended) for row in rows]
        return formats.render(fmt, "service_requests", items)

    def _jurisdiction(self, jurisdiction_id: str | None, problems: list[str]):
        if jurisdiction_id is None or not jurisdiction_id.strip():
            if len(self.jurisdictions) == 1:
                return next(iter(self.jurisdictions.values()))
            problems.append(f"jurisdiction_id is required (one of {', '.join(sorted(self.jurisdictions))})")
            return None
        found = self.jurisdictions.get(jurisdiction_id.strip())
        if found is None:
            problems.append(f"unknown jurisdiction_id {params.echo(jurisdiction_id)} "
                            f"(known: {', '.join(sorted(self.jurisdictions))})")
        return found

    def _jurisdiction_or_fail(self, jurisdiction_id: str | None):
        problems: list[str] = []
        found = self._jurisdiction(jurisdiction_id, problems)
        if problems:
            raise BadRequest(*problems)
        return found

    def _read(self, function, *args):
        with self.engine.connect() as conn:
            return function(conn, *args)

    async def _send(self, send: Callable[[dict], None], record: dict, *, what: str) -> None:
        try:
            await run_in_threadpool(send, record)
        except Exception:
            log.exception(f"{what}_send_failed", request_id=record.get("request_id"))
            raise Unavailable(f"the {what} could not be handed to the platform now; try again later") from None

    async def _read_model_complete(self) -> bool:
        """Whether the read model holds every request submitted so far (False when that cannot be told)."""
        if self.read_model_complete is None:
            return False
        try:
            return bool(await run_in_threadpool(self.read_model_complete))
        except Exception:  # the broker cannot be asked now: the API cannot know, and says so with a token
            log.warning("read_model_completeness_unknown", exc_info=True)
            return False

    async def _wait_for_outcome(self, record: dict) -> dict | None:
        """The lifecycle's decision on a sent update once the read model shows it, polled for up to post_wait_s."""
        deadline = time.monotonic() + self.post_wait_s
        while True:
            try:
                decided = await run_in_threadpool(self._read, updates.outcome, record["request_id"],
                                                  record["update_id"])
            except sa_exc.SQLAlchemyError:
                log.warning("read_model_unavailable", request_id=record["request_id"], exc_info=True)
                return None
            left = deadline - time.monotonic()
            if decided is not None or left <= 0:
                return decided
            await asyncio.sleep(min(POLL_S, left))

    async def _wait_for(self, request_id: str) -> dict | None:
        """The request's row once the read model shows it, polled every 100 ms for up to post_wait_s; None when
        it has not appeared by then (or the read model cannot be read: the request is sent either way)."""
        deadline = time.monotonic() + self.post_wait_s
        while True:
            try:
                row = await run_in_threadpool(self._read, queries.get_request, request_id)
            except sa_exc.SQLAlchemyError:
                log.warning("read_model_unavailable", request_id=request_id, exc_info=True)
                return None
            left = deadline - time.monotonic()
            if row is not None or left <= 0:
                return row
            await asyncio.sleep(min(POLL_S, left))


def _format(fmt: str) -> str:
    found = fmt.lower()
    if found not in formats.FORMATS:
        raise BadRequest(f"unknown format {params.echo(fmt)}: use the suffix .json or .xml")
    return found


def _with_query(request: Request, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The body's fields plus api_key and jurisdiction_id from the query string when the body lacks them."""
    given = {name for name, _ in pairs}
    extra = [(name, request.query_params[name]) for name in FROM_QUERY
             if name not in given and name in request.query_params]
    return pairs + extra


def _span_problems(start: datetime | None, end: datetime | None) -> list[str]:
    if start is None or end is None:
        return []
    if end < start:
        return ["end_date lies before start_date"]
    if end - start > queries.DEFAULT_WINDOW:
        return ["start_date and end_date may not span more than 90 days"]
    return []


def _changeset(jurisdictions: Mapping) -> datetime:
    """When the catalogs last changed (the newest services.yaml), for discovery."""
    stamps = []
    for jurisdiction in jurisdictions.values():
        try:
            stamps.append((jurisdiction.directory / "services.yaml").stat().st_mtime)
        except (OSError, TypeError, AttributeError):
            continue
    return datetime.fromtimestamp(max(stamps), tz=timezone.utc) if stamps else datetime.now(timezone.utc)
