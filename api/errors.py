"""Errors as RFC 9457 problem documents, everywhere; and the Api subclass that makes it so."""

from __future__ import annotations

import http
import logging
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, Response, json, request
from flask_smorest import Api
from flask_smorest.spec import prepare_response
from marshmallow import Schema, ValidationError, fields
from werkzeug.exceptions import HTTPException

from api.idempotency import IdempotencyMismatch, RequestInProgress
from timeline.application import VersionMismatch
from timeline.audit import LogEndsEarly
from timeline.domain import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    TimelineError,
    UnknownActor,
)

PROBLEM = "application/problem+json"
log = logging.getLogger(__name__)


class ProblemSchema(Schema):
    """An RFC 9457 problem document."""

    type = fields.String(required=True, metadata={"description": "A URI naming the problem"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(
        metadata={"description": "The fields at fault and what is wrong with each"}
    )


def problem(
    status: int,
    detail: str | None = None,
    *,
    errors: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response for `status`."""
    phrase = http.HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"https://timeline.invalid/problems/{phrase.lower().replace(' ', '-')}",
        "title": phrase,
        "status": status,
        "instance": request.path,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


# Domain errors and the status each becomes; the first match in order wins.
STATUS_OF_ERROR: list[tuple[type[TimelineError], int]] = [
    (NotFound, 404),
    (LogEndsEarly, 503),  # until an operator acts (see the audit guide)
    (UnknownActor, 422),
    (IdempotencyMismatch, 422),
    (InvalidInput, 422),
    (VersionMismatch, 412),
    (RequestInProgress, 409),
    (AlreadyExists, 409),
    (Conflict, 409),
]


def handle_timeline_error(error: TimelineError) -> Response:
    status = next(code for cls, code in STATUS_OF_ERROR if isinstance(error, cls))
    if status == 404 and error.field in ("id", "actor"):
        return problem(404, error.message)
    errors = {error.field: [error.message]} if error.field else None
    return problem(status, error.message, errors=errors)


def handle_unexpected(error: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.path)
    return problem(500, "an unexpected error; it has been logged")


class TimelineApi(Api):
    """flask-smorest's Api, with problem+json errors that keep their headers (Allow on 405,
    WWW-Authenticate on 401), and error responses documented as problem+json."""

    ERROR_SCHEMA = ProblemSchema
    DEFAULT_ERROR_RESPONSE_NAME = "DEFAULT_ERROR"

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("spec_kwargs", {})["marshmallow_plugin"] = MarshmallowPlugin(
            schema_name_resolver=schema_name
        )
        super().__init__(app, **kwargs)

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        if error.response is not None:  # a ready problem document (api.http.Abort)
            return error.response
        data = getattr(error, "data", None) or {}
        headers = dict(error.get_headers())
        headers.pop("Content-Type", None)
        headers.update(data.get("headers") or {})
        errors = data.get("errors") or data.get("messages")
        if isinstance(errors, dict) and set(errors) <= {"json", "query", "headers", "view_args"}:
            # webargs groups errors by location; one location is the common case
            errors = next(iter(errors.values())) if len(errors) == 1 else errors
        if isinstance(errors, list):  # not about fields: "Invalid JSON body."
            detail, errors = " ".join(map(str, errors)), None
        else:
            detail = data.get("message") or (
                "the request has invalid fields" if errors else error.description
            )
        return problem(error.code or 500, detail, errors=errors, headers=headers)

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        default = {"description": "An error", "schema": self.ERROR_SCHEMA}
        prepare_response(default, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", default, lazy=True)


def schema_name(schema: Any) -> str:
    """Component names: the class name without a trailing "Schema"; partial schemas apart."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type) and schema.partial:
        name += "Changes"
    return name


def handle_validation_error(error: ValidationError) -> Response:
    """Values a view checks itself (a cursor, say), reported like webargs reports the rest."""
    return problem(422, "the request has invalid fields", errors=error.normalized_messages())


def register(app: Flask) -> None:
    app.register_error_handler(TimelineError, handle_timeline_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(Exception, handle_unexpected)
