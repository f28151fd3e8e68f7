"""HTTP conventions shared by every resource: JSON bodies, ETags and conditional requests,
cursor pagination with Link headers, bearer tokens, idempotent retries and CORS."""

from __future__ import annotations

import base64
import binascii
import hashlib
import http
import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import flask_smorest
from flask import Flask, Response, current_app, g, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from api.errors import problem
from api.idempotency import IdempotencyRecords
from timeline.access import Scope, Token
from timeline.application import Timeline

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def timeline() -> Timeline:
    """The Timeline application of the running Flask app."""
    return current_app.extensions["timeline"]


def idempotency() -> IdempotencyRecords:
    """The running Flask app's idempotency records."""
    return current_app.extensions["idempotency"]


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response; GET responses carry an ETag and answer If-None-Match with 304."""
    response = Response(json.dumps(body, ensure_ascii=False), status=status,
                        mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if request.method == "GET" and status == 200:
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
    takes only the query parameters it documents."""

    ARGUMENTS_PARSER = Parser()

    def add_url_rule(  # type: ignore[override]
        self, rule: str, endpoint: str | None = None, view_func: Any = None,
        provide_automatic_options: bool | None = None, **options: Any,
    ) -> None:
        if callable(view_func) and not isinstance(view_func, type):
            view_func = only_documented_query(view_func)
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)


def only_documented_query(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse a query parameter the view does not document, with a 422 naming it: ignored, a
    misspelt `?asof=` would answer for today as if it had been understood."""
    takes = query_names(view)

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


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The parts of a cursor made by encode_cursor; a malformed one is a 422 naming `after`."""
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        parts = None
    if not isinstance(parts, list) or len(parts) != size:
        raise ValidationError({"after": ["not a cursor this service gave out"]})
    return parts


def page(
    name: str, items: list[Any], limit: int, cursor_of: Callable[[Any], str]
) -> Response:
    """A list response `{name: [...], "next": cursor}`, with an RFC 8288 Link to the next page.

    `items` holds up to limit + 1 entries: the extra one only tells that a next page exists.
    """
    more = len(items) > limit
    items = items[:limit]
    next_cursor = cursor_of(items[-1]) if more and items else None
    headers = {}
    if next_cursor is not None:
        query = request.args.to_dict(flat=False)
        query["after"] = [next_cursor]
        headers["Link"] = f'<{request.base_url}?{urlencode(query, doseq=True)}>; rel="next"'
    return ok({name: items, "next": next_cursor}, headers=headers)


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


def writer(view: Callable[..., Response]) -> Callable[..., Response]:
    """A write: needs a bearer token with the write scope, whose id is recorded with every
    event it causes; an Idempotency-Key makes a retry return the first response and record
    nothing new."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        token = require(Scope.WRITE)
        g.recorded_by = token.id
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 200:
            return problem(422, "Idempotency-Key must have 1 to 200 characters",
                           errors={"Idempotency-Key": ["1 to 200 characters"]})
        fingerprint = hashlib.sha256(
            request.method.encode() + b" " + request.path.encode() + b"\n" + request.get_data()
        ).hexdigest()
        access = idempotency()
        # Owned by the token's id, not its name: a later token with the same name starts afresh.
        owner = token.id
        earlier = access.reserve(owner, key, fingerprint)
        if earlier is not None:
            replayed = Response(earlier["body"], status=earlier["status"],
                                mimetype=earlier["mimetype"])
            replayed.headers.update(earlier["headers"])
            replayed.headers["Idempotent-Replayed"] = "true"
            return replayed
        try:
            response = view(*args, **kwargs)
        except BaseException:
            access.release(owner, key)
            raise
        if response.status_code < 500:
            access.complete(owner, key, response.status_code, {
                "body": response.get_data(as_text=True),
                "mimetype": response.mimetype,
                "headers": {k: v for k, v in response.headers.items()
                            if k in ("Location", "ETag")},
            })
        else:
            access.release(owner, key)
        return response

    return wrapper


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
READ_HEADERS = "Authorization, If-None-Match"
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
    response.headers["Access-Control-Expose-Headers"] = "ETag, Link, Location"
    return response


def install(app: Flask) -> None:
    app.before_request(check_request)
    app.after_request(add_cors)


KNOWN_AT = fields.AwareDateTime(
    metadata={"description": "Only what was recorded by this moment (ISO 8601 with a zone)"}
)


class DateRangeArgs(Schema):
    @validates_schema
    def ordered(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError("must not be after `to`", "from")
