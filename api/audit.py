"""Audit: the log's head, and verification of its hash chain against a head kept earlier."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.errors import problem
from api.http import Blueprint, cacheable, ok, timeline
from timeline.audit import MAX_POSITION, Head
from timeline.checkpoint import SigningKey, configured_key, default_origin

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


class TreeOut(Schema):
    size = fields.Integer(required=True, metadata={"description": "Leaves: events in the log"})
    root = fields.String(required=True, metadata={"description": "RFC 9162 root hash, hex"})


class InclusionQuery(Schema):
    index = fields.Integer(required=True, validate=validate.Range(0, MAX_POSITION),
                           metadata={"description": "The leaf: the index-th event, from 0"})
    size = fields.Integer(required=True, validate=validate.Range(1, MAX_POSITION),
                          metadata={"description": "The tree size the proof is for"})


class InclusionOut(Schema):
    index = fields.Integer(required=True)
    size = fields.Integer(required=True)
    leaf_hash = fields.String(required=True, metadata={
        "description": "SHA-256(0x00 ‖ the event's 32-byte chain hash), hex"})
    root = fields.String(required=True, metadata={"description": "The root at `size`, hex"})
    hashes = fields.List(fields.String(), required=True, metadata={
        "description": "The RFC 9162 §2.1.3 inclusion path, hex, nearest the leaf first"})


class ConsistencyQuery(Schema):
    from_ = fields.Integer(required=True, data_key="from",
                           validate=validate.Range(0, MAX_POSITION),
                           metadata={"description": "The earlier tree size"})
    to = fields.Integer(required=True, validate=validate.Range(0, MAX_POSITION),
                        metadata={"description": "The later tree size"})


class ConsistencyOut(Schema):
    from_ = fields.Integer(required=True, data_key="from")
    to = fields.Integer(required=True)
    hashes = fields.List(fields.String(), required=True, metadata={
        "description": "The RFC 9162 §2.1.4 consistency proof, hex"})


@blueprint.get("/tree")
@blueprint.response(200, TreeOut)
def tree() -> Response:
    """The Merkle tree over the chain hashes (RFC 9162 §2.1): its size and root now."""
    return ok(timeline().audit.tree())


@blueprint.get("/proof/inclusion")
@blueprint.arguments(InclusionQuery, location="query")
@blueprint.response(200, InclusionOut)
@blueprint.alt_response(422, description="`index` or `size` is outside the tree")
def inclusion(query: dict[str, Any]) -> Response:
    """Prove that the index-th event (from 0) is in the log at tree size `size`: about
    log2(size) hashes, read from the stored tree."""
    return ok(timeline().audit.inclusion(query["index"], query["size"]))


@blueprint.get("/proof/consistency")
@blueprint.arguments(ConsistencyQuery, location="query")
@blueprint.response(200, ConsistencyOut)
@blueprint.alt_response(422, description="`from` or `to` is outside the tree, or from > to")
def consistency(query: dict[str, Any]) -> Response:
    """Prove that the log at size `to` extends the log at size `from` (append-only), with no
    download of the events between."""
    return ok(timeline().audit.consistency(query["from_"], query["to"]))


def signing_key() -> SigningKey:
    """The key checkpoints are signed with: TIMELINE_SIGNING_KEY's, else one made at the
    first use in this process (ephemeral: the checkpoints say so)."""
    if "signing_key" not in current_app.extensions:
        current_app.extensions["signing_key"] = configured_key(
            current_app.config.get("SIGNING_KEY"), origin())
    return current_app.extensions["signing_key"]


def origin() -> str:
    return current_app.config.get("ORIGIN") or default_origin()


def text(body: str) -> Response:
    return cacheable(Response(body, mimetype="text/plain"))


@blueprint.get("/checkpoint")
@blueprint.response(200, content_type="text/plain", description=(
    "A C2SP tlog-checkpoint signed note: origin, tree size, base64 root, a blank line, then"
    " `— <key name> <base64(key id ‖ Ed25519 signature)>`"))
def checkpoint() -> Response:
    """The current tree, signed: keep it, and later hold the service to it."""
    return text(timeline().audit.checkpoint(signing_key(), origin()))


@blueprint.get("/key")
@blueprint.response(200, content_type="text/plain", description=(
    "The verifier key: `<name>+<8 hex key id>+<base64(0x01 ‖ Ed25519 public key)>`"))
def key() -> Response:
    """The key that checks this service's checkpoints (C2SP signed-note verifier key)."""
    return text(f"{signing_key().verifier}\n")
