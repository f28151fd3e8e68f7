"""HTTP conventions shared by every resource: JSON bodies, ETags and conditional requests,
cursor pagination with Link headers, bearer tokens, idempotent retries and CORS."""

from __future__ import annotations

import base64
import binascii
import hashlib
import http
import json
import logging
import os
import signal
from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, ClassVar
from urllib.parse import urlencode
from uuid import UUID

import flask_smorest
from eventsourcing.persistence import InterfaceError, OperationalError
from flask import Flask, Response, current_app, g, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from api.errors import problem
from api.idempotency import Claim, Earlier, IdempotencyRecords, RequestInProgress
from timeline.access import Scope, Token
from timeline.application import Timeline
from timeline.axes import AXES, WEEK, Axes, moment, query_day
from timeline.domain import InvalidInput
from timeline.queries import dataset_values
from timeline.readmodel import ViewBehind, ViewState
from timeline.vocabulary import Dataset

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MIN_POSITION_WAIT = 5.0  # seconds a read with min_position waits for the view at most
log = logging.getLogger(__name__)


def timeline() -> Timeline:
    """The Timeline application of the running Flask app."""
    return current_app.extensions["timeline"]


def idempotency() -> IdempotencyRecords:
    """The running Flask app's idempotency records."""
    return current_app.extensions["idempotency"]


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response; GET responses carry an ETag and answer If-None-Match with 304. An
    answer from a read model behind the log says so in its body (see read_from_view)."""
    state: ViewState | None = g.get("view_state")
    if state is not None and state.lag and isinstance(body, dict):
        body = {**body, READ_MODEL: {"position": state.position, "lag": state.lag}}
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return cacheable(response)


def cacheable(response: Response) -> Response:
    """A GET's 200 response with an ETag, answering If-None-Match with 304."""
    if request.method == "GET" and response.status_code == 200:
        if "ETag" not in response.headers:
            response.add_etag()
        response.make_conditional(request)
        # make_conditional adds a Date, and every server (Werkzeug's, gunicorn) adds its own:
        # a response must carry one (RFC 9110 §6.6.1), so the server's is the one sent.
        del response.headers["Date"]
    return response


# --- parsing requests ------------------------------------------------------------------------


class Parser(FlaskParser):
    """webargs' parser, with a JSON body nested beyond Python's recursion limit refused as a
    400 like any other unreadable body, not left to become a 500."""

    def _raw_load_json(self, req: Any) -> Any:
        try:
            return super()._raw_load_json(req)
        except RecursionError:
            raise Abort(problem(400, "the JSON body is nested too deeply to read")) from None


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, reading requests with the Parser above; each of its views
    takes only the query parameters it documents, and a read that fails on a dead database
    connection is tried once more. With `reads_view`, its GETs answer from the read model:
    they take `min_position` and say where the view stood (see read_from_view)."""

    ARGUMENTS_PARSER = Parser()

    def __init__(self, *args: Any, reads_view: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads_view = reads_view
        if reads_view:
            self._prepare_doc_cbks.append(document_view_read)

    def add_url_rule(  # type: ignore[override]
        self, rule: str, endpoint: str | None = None, view_func: Any = None,
        provide_automatic_options: bool | None = None, **options: Any,
    ) -> None:
        if callable(view_func) and not isinstance(view_func, type):
            reads = self.reads_view and "GET" in (options.get("methods") or ("GET",))
            if reads:
                view_func = read_from_view(view_func)
            view_func = retried_once(view_func)
            view_func = only_documented_query(view_func, {MIN_POSITION} if reads else set())
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)


def retried_once(view: Callable[..., Any]) -> Callable[..., Any]:
    """A read (GET, HEAD) that fails on a dead database connection runs once more, on a fresh
    one (the pool drops a broken connection when it is returned). A write is never retried
    here: its Idempotency-Key makes the client's own retry safe."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD"):
            return view(*args, **kwargs)
        try:
            return view(*args, **kwargs)
        except (OperationalError, InterfaceError) as error:
            log.warning("%s %s: the store connection failed (%s); trying once more",
                        request.method, request.path, str(error).strip())
            return view(*args, **kwargs)

    return wrapper


# --- reads from the view: position, lag and min_position --------------------------------------

MIN_POSITION = "min_position"
READ_MODEL = "read_model"  # the body's field for where a read model behind the log stood
POSITION_HEADERS = {
    "Timeline-Position": "The last log position the read model had applied when it answered: "
                         "the answer reflects every event up to it",
    "Timeline-Lag": "Events in the log beyond Timeline-Position at that moment",
}


def read_from_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """A read answered from the read model: first the view's own catch-up (a small backlog
    only: a larger one is left to the background projector, see
    timeline.readmodel.ReadModel.catch_up_for_read), then, with `min_position`, a bounded
    wait until the view has applied that position (read-your-writes: a write answers with its
    Timeline-Position), else 503. The answer says where the view stood in its headers and,
    when the view was behind the log, in its body (`read_model`, see ok)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wanted = min_position()
        read_model = timeline().read_model
        state = read_model.reach(None, 0)
        if wanted is not None and wanted > state.position:
            if wanted > state.head:
                raise ValidationError({MIN_POSITION: [
                    f"the log ends at position {state.head}: give a position a write answered"
                ]})
            wait = float(current_app.config.get("MIN_POSITION_WAIT", MIN_POSITION_WAIT))
            try:
                state = read_model.reach(wanted, wait)
            except ViewBehind as behind:
                return problem(
                    503, f"{behind}: the read model is catching up; retry shortly",
                    errors={MIN_POSITION: [f"not reached within {wait:g} s"]},
                    headers={"Retry-After": "1", **position_headers(behind.state)},
                )
        g.view_state = state
        response = view(*args, **kwargs)
        if isinstance(response, Response) and response.status_code < 400:
            response.headers.update(position_headers(state))
        return response

    return wrapper


def min_position() -> int | None:
    raw = request.args.get(MIN_POSITION)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ValidationError({MIN_POSITION: ["a log position: a whole number, 0 or more"]})
    return int(raw)


def position_headers(state: ViewState) -> dict[str, str]:
    return {"Timeline-Position": str(state.position), "Timeline-Lag": str(state.lag)}


def document_view_read(doc: dict[str, Any], doc_info: Any, *, method: str,
                       **_: Any) -> dict[str, Any]:
    """OpenAPI for what read_from_view adds to a GET: `min_position`, the position headers,
    422 for a position beyond the log and 503 when the view does not reach it in time."""
    if method != "get":
        return doc
    doc.setdefault("parameters", []).append({
        "in": "query", "name": MIN_POSITION, "required": False,
        "schema": {"type": "integer", "minimum": 0},
        "description": "Answer only once the read model has applied this log position (the "
                       "Timeline-Position of your write): read-your-writes. Waits up to "
                       f"{MIN_POSITION_WAIT:g} s, then 503 with Retry-After",
    })
    responses = doc.setdefault("responses", {})
    for status, response in responses.items():
        if str(status).startswith("2") and isinstance(response, dict):
            response.setdefault("headers", {}).update({
                name: {"description": text, "schema": {"type": "string"}}
                for name, text in POSITION_HEADERS.items()
            })
    responses.setdefault("422", "UNPROCESSABLE_ENTITY")
    responses.setdefault("503", "SERVICE_UNAVAILABLE")
    return doc


def only_documented_query(
    view: Callable[..., Any], also: set[str] | frozenset[str] = frozenset()
) -> Callable[..., Any]:
    """Refuse a query parameter the view does not document, with a 422 naming it: ignored, a
    misspelt `?asof=` would answer for today as if it had been understood."""
    takes = query_names(view) | also

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        unknown = sorted(set(request.args) - takes)
        if unknown:
            hint = (f"this endpoint takes {', '.join(sorted(takes))}" if takes
                    else "this endpoint takes no query parameters")
            raise ValidationError({name: [f"unknown query parameter; {hint}"]
                                   for name in unknown})
        return view(*args, **kwargs)

    return wrapper


def query_names(view: Callable[..., Any]) -> frozenset[str]:
    """The query parameters of a view: the fields of its `arguments(..., location="query")`
    schemas, as flask-smorest records them for the OpenAPI document."""
    names: set[str] = set()
    for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
        if parameter["in"] == "query":
            schema = parameter["schema"]
            schema = schema() if isinstance(schema, type) else schema
            names |= {field.data_key or name for name, field in schema.fields.items()}
    return frozenset(names)


# --- cursors ---------------------------------------------------------------------------------


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int, types: Sequence[type] | None = None) -> list[Any]:
    """The parts of a cursor made by encode_cursor, each of its type in `types` (default: all
    text); a malformed one is a 422 naming `after`."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        parts = None
    if (not isinstance(parts, list) or len(parts) != size
            or any(type(part) is not kind for part, kind in zip(parts, types or [str] * size,
                                                                 strict=True))):
        raise ValidationError({"after": ["not a cursor this service gave out"]})
    return parts


def with_ids(parts: list[Any], *at: int) -> list[Any]:
    """A cursor's parts (see decode_cursor) whose parts `at` are development ids, as the
    service gives them out (a UUID's text); another string is refused as a malformed cursor is
    (the read model compares them as UUIDs on PostgreSQL)."""
    for index in at:
        try:
            valid = str(UUID(parts[index])) == parts[index]
        except (ValueError, TypeError):
            valid = False
        if not valid:
            raise ValidationError({"after": ["not a cursor this service gave out"]})
    return parts


def page(
    name: str, items: list[Any], limit: int, cursor_of: Callable[[Any], str], **extra: Any
) -> Response:
    """A list response `{name: [...], "next": cursor, **extra}`, with an RFC 8288 Link to the
    next page.

    `items` holds up to limit + 1 entries: the extra one only tells that a next page exists.
    """
    more = len(items) > limit
    items = items[:limit]
    return listed(name, items, cursor_of(items[-1]) if more and items else None, **extra)


def listed(name: str, items: list[Any], next_cursor: str | None, **extra: Any) -> Response:
    """A page of a list and the cursor of the next (None: the last), as `page` serves it. A
    page that read as much as one may hold fewer entries than `limit`, even none: the cursor
    says whether more follow."""
    headers = {}
    if next_cursor is not None:
        query = request.args.to_dict(flat=False)
        query["after"] = [next_cursor]
        headers["Link"] = f'<{request.base_url}?{urlencode(query, doseq=True)}>; rel="next"'
    return ok({name: items, "next": next_cursor, **extra}, headers=headers)


class PageArgs(Schema):
    after = fields.String(metadata={"description": "The `next` cursor of the previous page"})
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"},
    )


# --- conditional writes ----------------------------------------------------------------------


def etag_of(version: int) -> str:
    return f'"{version}"'


IF_MATCH_PATTERN = r'^(\*|(W/)?"[0-9]+")$'


def expected_version() -> int | None:
    """The version named by If-Match: required (428), well-formed (400), strong (412);
    `*` means any."""
    header = request.headers.get("If-Match")
    if header is None:
        raise Abort(problem(428, "send If-Match with the ETag of the version you read"))
    header = header.strip()
    if header == "*":
        return None
    tag = header.removeprefix("W/")
    if not (len(tag) > 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit()):
        raise Abort(problem(400, f"If-Match {header!r} is not an ETag this service gives out",
                            errors={"If-Match": ['an ETag such as "3", or *']}))
    if tag != header:
        # RFC 9110 §13.1.1: If-Match compares strongly, and a weak tag never matches.
        raise Abort(problem(412, f"If-Match {header!r} is weak, and a weak ETag never matches",
                            errors={"If-Match": [f"send the strong ETag {tag}"]}))
    return int(tag[1:-1])


class Abort(HTTPException):
    """Stop with a ready response (a problem document)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response=response)


# --- writes: tokens and idempotency ----------------------------------------------------------


def documents(blueprint: Any, *statuses: int, write: bool = False) -> Callable[[Any], Any]:
    """Document error statuses of a view as problem+json responses; `write` adds what every
    write may answer (400, 401, 403 for a token without the write scope, 413, 415) and its
    bearer-token security."""

    def decorate(view: Any) -> Any:
        codes = (*statuses, 400, 401, 403, 413, 415) if write else statuses
        for status in codes:
            view = blueprint.alt_response(status, response=http.HTTPStatus(status).name)(view)
        if write:
            view = blueprint.doc(security=[{"bearer": []}])(view)
        return view

    return decorate


def writer(
    view: Callable[..., Response] | None = None, *,
    replay: Callable[[str], Response] | None = None,
) -> Any:
    """A write: needs a bearer token with the write scope, whose id is recorded with every
    event it causes (a later token with the same name starts afresh); an
    Idempotency-Key makes a retry return the first response and record nothing new (see
    api.idempotency). `replay(result)` answers a retry whose first request recorded `result`
    (the id of what it recorded) but died before answering. A write answers with the
    Timeline-Position of its last event, for a later read's `min_position`."""
    if view is None:
        return lambda view: writer(view, replay=replay)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        token = require(Scope.WRITE)
        g.recorded_by = token.id
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return record(view, None, *args, **kwargs)
        if not 1 <= len(key) <= 200:
            return problem(422, "Idempotency-Key must have 1 to 200 characters",
                           errors={"Idempotency-Key": ["1 to 200 characters"]})
        fingerprint = hashlib.sha256(
            request.method.encode() + b" " + request.path.encode() + b"\n" + request.get_data()
        ).hexdigest()
        records = idempotency()
        try:
            claim = records.claim(g.recorded_by, key, fingerprint)
        except RequestInProgress as busy:
            return problem(409, f"{busy}: retry after its lease ends",
                           headers={"Retry-After": str(busy.retry_after)})
        if isinstance(claim, Earlier):
            return replayed(claim, replay)
        crash_point("after-claim")
        try:
            response = record(view, claim, *args, **kwargs)
        except BaseException:
            records.release(claim)  # kept if its events were recorded: a retry answers then
            raise
        crash_point("after-insert")
        if response.status_code < 500:
            records.complete(claim, response.status_code, {
                "body": response.get_data(as_text=True),
                "mimetype": response.mimetype,
                "headers": {k: v for k, v in response.headers.items()
                            if k in ("Location", "ETag", "Timeline-Position")},
            })
        else:
            records.release(claim)
        return response

    return wrapper


def record(view: Callable[..., Response], claim: Claim | None, *args: Any,
           **kwargs: Any) -> Response:
    """Run a write's view, its saves carrying the claim into the events' transaction."""
    app = timeline()
    with app.saving_with(**({"idempotency": claim} if claim else {})):
        response = view(*args, **kwargs)
        position = app.last_position()
    if position is not None:
        response.headers["Timeline-Position"] = str(position)
    return response


def replayed(earlier: Earlier, replay: Callable[[str], Response] | None) -> Response:
    """The answer to a retry: the first response, or one made anew from what it recorded."""
    if earlier.status is not None and earlier.response is not None:
        response = Response(earlier.response["body"], status=earlier.status,
                            mimetype=earlier.response["mimetype"])
        response.headers.update(earlier.response["headers"])
    elif replay is not None and earlier.result is not None:
        response = replay(earlier.result)
    else:
        response = problem(409, f"this Idempotency-Key's request recorded {earlier.result}, "
                                "but its response was lost: read it there")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def crash_point(name: str) -> None:
    """For tests only: TIMELINE_TEST_CRASH_AT=after-claim (or after-insert) kills this process
    at that point of an idempotent write, as an out-of-memory kill would. Off unless set."""
    if os.environ.get("TIMELINE_TEST_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


CHALLENGE = 'Bearer realm="timeline"'


def presented_token() -> Token | None:
    """The token in the Authorization header, checked once per request: None when none is
    sent, a 401 when the header is malformed or the token unknown, revoked or expired."""
    if "token" in g:
        return g.token
    header = request.headers.get("Authorization")
    if header is None:
        g.token = None
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Abort(problem(401, "send Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": CHALLENGE}))
    token = timeline().access.authenticate(secret.strip())
    if token is None:
        raise Abort(problem(401, "the token is unknown, revoked or expired", headers={
            "WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'}))
    g.token = token
    return token


def require(scope: Scope) -> Token:
    """The request's token if it holds `scope`: a 401 without one, a 403 (RFC 6750
    insufficient_scope) when its scope is narrower."""
    token = presented_token()
    if token is None:
        raise Abort(problem(401, "send Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": CHALLENGE}))
    if not token.scope.grants(scope):
        raise Abort(problem(
            403, f"this needs a token with the {scope} scope; this one has {token.scope}",
            errors={"Authorization": [f"a token with the {scope} scope"]},
            headers={"WWW-Authenticate":
                     f'{CHALLENGE}, error="insufficient_scope", scope="{scope}"'},
        ))
    return token


def labelled(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Log records with `recorded_by_label`: the label of the token that wrote each, for a
    holder of the admin scope only (labels name people and desks); null for anyone else."""
    token = presented_token()
    labels = {}
    if token is not None and token.scope.grants(Scope.ADMIN):
        labels = timeline().access.labels({e["recorded_by"] for e in events if e["recorded_by"]})
    return [{**event, "recorded_by_label": labels.get(event["recorded_by"])} for event in events]


# --- request checks and CORS -----------------------------------------------------------------


# The raw log: what TIMELINE_LOG_REQUIRES_TOKEN restricts to holders of a token.
LOG_PATHS = ("/api/v1/events", "/api/v1/streams/", "/api/v1/audit/")


def check_request() -> Response | None:
    """Before every request: writes carry JSON (415 otherwise); a token sent is checked; reads
    may require a token (every method but OPTIONS, which a browser's preflight sends
    without credentials), and so may the raw log alone."""
    if request.routing_exception is not None:
        return None  # a 404 or 405 says more than anything checked here
    if request.method in WRITE_METHODS and request.mimetype != "application/json":
        return problem(415, "send the body as application/json")
    if not request.path.startswith("/api/") or request.method == "OPTIONS":
        return None
    presented_token()
    config = current_app.config
    if config.get("READS_REQUIRE_TOKEN") or (
        config.get("LOG_REQUIRES_TOKEN") and request.path.startswith(LOG_PATHS)
    ):
        require(Scope.READ)
    return None


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_HEADERS = "Authorization, If-None-Match, Last-Event-ID"
WRITE_HEADERS = "Authorization, Content-Type, If-Match, Idempotency-Key, If-None-Match"


def add_cors(response: Response) -> Response:
    """The origins in TIMELINE_CORS_ORIGINS (default none) may read, and an origin named
    there may also write; `*` lets any page read, never write. None are needed by a page
    served by the API itself, which is same-origin: the default keeps other pages on a
    user's network from reading the API through the user's browser."""
    origins = current_app.config.get("CORS_ORIGINS") or ""
    if not origins or not request.path.startswith("/api/"):
        return response
    origin = request.headers.get("Origin")
    allowed = [o.strip() for o in origins.split(",")]
    if allowed != ["*"]:
        response.headers.add("Vary", "Origin")
    if origin in allowed and origin != "*":
        response.headers["Access-Control-Allow-Origin"] = origin
        # The methods this URL answers: a preflight asks about one URL.
        methods = request.url_rule.methods if request.url_rule else READ_METHODS
        headers = WRITE_HEADERS
    elif "*" in allowed:
        response.headers["Access-Control-Allow-Origin"] = "*"
        methods, headers = READ_METHODS, READ_HEADERS
    else:
        return response
    response.headers["Access-Control-Allow-Methods"] = ", ".join(sorted(methods or ()))
    response.headers["Access-Control-Allow-Headers"] = headers
    response.headers["Access-Control-Expose-Headers"] = (
        "ETag, Link, Location, Timeline-Position, Timeline-Lag"
    )
    return response


def install(app: Flask) -> None:
    app.before_request(check_request)
    app.after_request(add_cors)


class Moment(fields.Field):
    """A record-time moment: ISO 8601 with a zone, or a bare date for the whole of that day
    (UTC), as on the command line (see timeline.axes.moment)."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "invalid": "Not a date (YYYY-MM-DD) or a moment with a zone."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        try:
            return moment(value)
        except (TypeError, ValueError):
            raise self.make_error("invalid") from None


KNOWN_AT = Moment(metadata={
    "description": "Record time: only what this store had recorded by this moment (ISO 8601 "
                   "with a zone; a bare date means the end of that day, UTC)",
    "type": "string", "format": "date-time"})


class Day(fields.Date):
    """A query's day, YYYY-MM-DD; an ISO week is refused, saying its days (see query_day)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and WEEK.match(value):
            try:
                query_day(value)
            except ValueError as error:
                raise ValidationError(str(error)) from None
        return super()._deserialize(value, attr, data, **kwargs)


AS_OF = Day(metadata={
    "description": "World time: the world on this date, each development with the status in "
                   "force then (YYYY-MM-DD); default: now"})
REPORTED_BY = Day(metadata={
    "description": "Knowledge time: only what sources had reported by this date (YYYY-MM-DD)"})


class Datasets(fields.Field):
    """Datasets named in a query, comma-separated (`seed,gdelt`): a list of their names."""

    NAMES = "|".join(dataset.value for dataset in Dataset)
    default_error_messages: ClassVar[dict[str, str]] = {
        "invalid": "Datasets separated by commas, each one of "
                   + ", ".join(dataset.value for dataset in Dataset) + "."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return dataset_values(name.strip() for name in value.split(","))
        except InvalidInput as error:
            raise ValidationError(error.message) from None


DATASET = Datasets(metadata={
    "description": "Only developments from these datasets, comma-separated: `seed` (the "
                   "sourced seed data), `manual` (recorded through the API or the command "
                   "line), `gdelt`, `acled` (ingested); default: all",
    "type": "string", "pattern": f"^({Datasets.NAMES})(,({Datasets.NAMES}))*$",
    "example": "seed,gdelt"})


class AxesArgs(Schema):
    """The three time axes of a query (see the user guide)."""

    as_of = AS_OF
    reported_by = REPORTED_BY
    known_at = KNOWN_AT


def axes_of(query: dict[str, Any]) -> Axes:
    return Axes(**{name: query.get(name) for name in AXES})


class DateRangeArgs(Schema):
    @validates_schema
    def ordered(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError("must not be after `to`", "from")
