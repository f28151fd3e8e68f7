"""Audit: the log's head, and verification of its hash chain against a head kept earlier."""

from __future__ import annotations

from typing import Any

from flask import Response
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.errors import problem
from api.http import Blueprint, ok, timeline
from timeline.audit import MAX_POSITION, Head

blueprint = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description=__doc__)

HASH = validate.Regexp(r"^[0-9a-fA-F]{64}$", error="64 hexadecimal digits")


class HeadOut(Schema):
    position = fields.Integer(required=True)
    hash = fields.String(required=True)
    recorded_at = fields.String(required=True, allow_none=True)


class VerificationOut(Schema):
    ok = fields.Boolean(required=True)
    checked = fields.Integer(required=True, metadata={"description": "Events verified"})
    head = fields.Nested(HeadOut, required=True, allow_none=True)
    first_bad_position = fields.Integer(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class KeptHeadQuery(Schema):
    position = fields.Integer(validate=validate.Range(0, MAX_POSITION))
    hash = fields.String(validate=HASH)

    @validates_schema
    def both_or_neither(self, data: dict[str, Any], **_: Any) -> None:
        if ("position" in data) != ("hash" in data):
            raise ValidationError("give both position and hash of the kept head, or neither",
                                  "position" if "hash" in data else "hash")


@blueprint.get("/head")
@blueprint.response(200, HeadOut)
def head() -> Response:
    """The last event's position and chain hash: keep it to check the log later."""
    return ok(timeline().audit.head())


@blueprint.get("/verify")
@blueprint.arguments(KeptHeadQuery, location="query")
@blueprint.response(200, VerificationOut)
@blueprint.alt_response(409, description="The log does not verify: a problem document whose"
                        " detail names the first bad position and why")
def verify(query: dict[str, Any]) -> Response:
    """Recompute the whole hash chain and check every stream's versions; with a kept head
    (`position` and `hash`), also prove that the log still extends it. 200 when intact; 409
    otherwise, so that a monitor can alert on the status alone."""
    kept = Head(query["position"], query["hash"].lower()) if "position" in query else None
    result = timeline().audit.verify(kept)
    if not result.ok:
        return problem(
            409, f"the log does not verify at position {result.first_bad_position}: "
                 f"{result.reason} ({result.checked} events verified before it)",
            errors={"first_bad_position": [str(result.first_bad_position)]},
        )
    return ok(result.as_dict())
