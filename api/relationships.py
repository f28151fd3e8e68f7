"""Relationships: the state of each pair of actors as of a world date, as known at a moment,
and the replayed steps that built it."""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for
from marshmallow import Schema, fields

from api.http import (
    KNOWN_AT,
    Blueprint,
    PageArgs,
    decode_cursor,
    documents,
    encode_cursor,
    ok,
    page,
    timeline,
)
from timeline.schemas import RelationshipListOut, RelationshipOut, StepListOut
from timeline.vocabulary import Stance

blueprint = Blueprint("relationships", __name__, url_prefix="/api/v1", description=__doc__,
                      reads_view=True)

AS_OF = fields.Date(metadata={"description": "World date (YYYY-MM-DD); default: everything"})


class StateQuery(Schema):
    as_of = AS_OF
    known_at = KNOWN_AT


class RelationshipQuery(StateQuery, PageArgs):
    actor = fields.String(metadata={"description": "Only the pairs of this actor"})
    stance = fields.Enum(Stance, by_value=True)


class ReplayQuery(Schema):
    until = fields.Date(metadata={"description": "Replay up to this world date"})
    start = fields.Date(data_key="from", metadata={"description": "Show steps from this date"})
    known_at = KNOWN_AT


@blueprint.get("/relationships")
@blueprint.arguments(RelationshipQuery, location="query")
@blueprint.response(200, RelationshipListOut)
@documents(blueprint, 404)
def list_relationships(query: dict[str, Any]) -> Response:
    """Every pair (or every pair of one actor), in pair order."""
    found = timeline().list_relationships(
        actor=query.get("actor"), as_of=query.get("as_of"), known_at=query.get("known_at"),
        stance=query.get("stance"),
    )
    if query.get("after"):
        after = decode_cursor(query["after"], 2)
        found = [r for r in found if r["pair"] > after]
    return page("relationships", found[: query["limit"] + 1], query["limit"],
                lambda r: encode_cursor(*r["pair"]))


@blueprint.get("/relationships/<a>/<b>")
@blueprint.arguments(StateQuery, location="query")
@blueprint.response(200, RelationshipOut)
@documents(blueprint, 404, 422)
def get_relationship(query: dict[str, Any], a: str, b: str) -> Response:
    """The state of one pair, in either order: stance, score, ties and the developments
    behind them."""
    return ok(timeline().get_relationship(a, b, as_of=query.get("as_of"),
                                      known_at=query.get("known_at")))


@blueprint.get("/relationships/<a>/<b>/replay")
@blueprint.arguments(ReplayQuery, location="query")
@blueprint.response(200, StepListOut)
@documents(blueprint, 404, 422)
def replay_pair(query: dict[str, Any], a: str, b: str) -> Response:
    """The steps that built this pair's state, in world-date order."""
    return ok({"steps": timeline().replay(
        pair=(a, b), until=query.get("until"), start=query.get("start"),
        known_at=query.get("known_at"),
    )})


@blueprint.get("/replay")
@blueprint.arguments(ReplayQuery, location="query")
@blueprint.response(200, StepListOut)
def replay(query: dict[str, Any]) -> Response:
    """The steps that built every pair's state, in world-date order."""
    return ok({"steps": timeline().replay(
        until=query.get("until"), start=query.get("start"), known_at=query.get("known_at"),
    )})


@blueprint.get("/relationships/<a>/<b>/history")
@blueprint.arguments(ReplayQuery, location="query")
@blueprint.doc(deprecated=True, responses={
    "308": {"description": "Moved to /relationships/{a}/{b}/replay (the query string kept)"},
})
def replay_pair_moved(query: dict[str, Any], a: str, b: str) -> Response:
    """The old name of `/relationships/{a}/{b}/replay`: "history" is a development's versions,
    and these are the replay's steps."""
    target = url_for("relationships.replay_pair", a=a, b=b)
    query = request.query_string.decode()
    return redirect(f"{target}?{query}" if query else target, 308)
