"""Relationships: the state of each pair of actors on the three time axes, and the replayed
steps that built it."""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for
from marshmallow import fields, validate

from api.errors import problem
from api.http import (
    KNOWN_AT,
    REPORTED_BY,
    Abort,
    AxesArgs,
    Blueprint,
    PageArgs,
    axes_of,
    decode_cursor,
    documents,
    encode_cursor,
    ok,
    page,
    timeline,
)
from timeline.schemas import RelationshipListOut, RelationshipViewOut, StepListOut
from timeline.vocabulary import Stance

blueprint = Blueprint("relationships", __name__, url_prefix="/api/v1", description=__doc__,
                      reads_view=True)

class RelationshipQuery(AxesArgs, PageArgs):
    actor = fields.String(metadata={"description": "Only the pairs of this actor"})
    stance = fields.Enum(Stance, by_value=True)


class ReplayQuery(PageArgs):
    until = fields.Date(metadata={
        "description": "Replay up to this date: a world date, or with order=reported the day "
                       "of the last report"})
    start = fields.Date(data_key="from", metadata={"description": "Show steps from this date"})
    order = fields.String(load_default="happened", validate=validate.OneOf(
        ["happened", "reported"]), metadata={
        "description": "`happened`: in world-date order; `reported`: as the news arrived, "
                       "one step per version in the order it was reported"})
    reported_by = REPORTED_BY
    known_at = KNOWN_AT


def replayed(query: dict[str, Any], pair: tuple[str, str] | None = None) -> Response:
    """A page of the replay's steps: the cursor counts the steps already served (the replay is
    computed whole, O(developments replayed), but never served whole)."""
    steps = timeline().replay(pair=pair, until=query.get("until"), start=query.get("start"),
                              order=query["order"], axes=axes_of(query))
    offset = decode_cursor(query["after"], 1)[0] if query.get("after") else 0
    if not isinstance(offset, int) or offset < 0:
        raise Abort(problem(422, "`after` is not a cursor of this replay",
                            errors={"after": ["not a cursor of this replay"]}))
    limit = query["limit"]
    return page("steps", steps[offset:offset + limit + 1], limit,
                lambda _: encode_cursor(offset + limit),
                order=query["order"], axes=axes_of(query).echo())


@blueprint.get("/relationships")
@blueprint.arguments(RelationshipQuery, location="query")
@blueprint.response(200, RelationshipListOut)
@documents(blueprint, 404)
def list_relationships(query: dict[str, Any]) -> Response:
    """Every pair (or every pair of one actor), in pair order."""
    after = tuple(decode_cursor(query["after"], 2)) if query.get("after") else None
    found = timeline().list_relationships(
        actor=query.get("actor"), stance=query.get("stance"), after=after,
        limit=query["limit"] + 1, axes=axes_of(query))
    return page("relationships", found, query["limit"],
                lambda r: encode_cursor(*r["pair"]), axes=axes_of(query).echo())


@blueprint.get("/relationships/<a>/<b>")
@blueprint.arguments(AxesArgs, location="query")
@blueprint.response(200, RelationshipViewOut)
@documents(blueprint, 404, 422)
def get_relationship(query: dict[str, Any], a: str, b: str) -> Response:
    """The state of one pair, in either order, on the time axes: stance, score, ties, and the
    developments behind them with what each contributes to the score."""
    return ok(timeline().get_relationship(a, b, axes_of(query)))


@blueprint.get("/relationships/<a>/<b>/replay")
@blueprint.arguments(ReplayQuery, location="query")
@blueprint.response(200, StepListOut)
@documents(blueprint, 404, 422)
def replay_pair(query: dict[str, Any], a: str, b: str) -> Response:
    """The steps that built this pair's state, in world-date order or as the news arrived."""
    return replayed(query, (a, b))


@blueprint.get("/replay")
@blueprint.arguments(ReplayQuery, location="query")
@blueprint.response(200, StepListOut)
def replay(query: dict[str, Any]) -> Response:
    """The steps that built every pair's state, in world-date order or as the news arrived."""
    return replayed(query)


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
