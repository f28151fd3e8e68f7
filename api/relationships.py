"""Relationships: the state of each pair of actors on the three time axes, and the replayed
steps that built it."""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for
from marshmallow import ValidationError, fields, validate

from api.http import (
    DATASET,
    KNOWN_AT,
    REPORTED_BY,
    AxesArgs,
    Blueprint,
    Day,
    PageArgs,
    axes_of,
    decode_cursor,
    documents,
    encode_cursor,
    listed,
    ok,
    timeline,
    with_ids,
)
from timeline.schemas import RelationshipListOut, RelationshipViewOut, StepListOut
from timeline.vocabulary import Stance

blueprint = Blueprint("relationships", __name__, url_prefix="/api/v1", description=__doc__,
                      reads_view=True)


class PairQuery(AxesArgs):
    dataset = DATASET


class RelationshipQuery(PairQuery, PageArgs):
    actor = fields.String(metadata={"description": "Only the pairs of this actor"})
    stance = fields.Enum(Stance, by_value=True)


class ReplayQuery(PageArgs):
    until = Day(metadata={
        "description": "Replay up to this date: a world date, or with order=reported the day "
                       "of the last report"})
    start = Day(data_key="from", metadata={"description": "Show steps from this date"})
    order = fields.String(load_default="happened", validate=validate.OneOf(
        ["happened", "reported"]), metadata={
        "description": "`happened`: in world-date order; `reported`: as the news arrived, "
                       "one step per version in the order it was reported"})
    reported_by = REPORTED_BY
    known_at = KNOWN_AT
    dataset = DATASET


# The parts of a replay's cursor (the key of the last step served, see relationships.Moment.key
# and relationships.Report): their types, in each order.
CURSOR_PARTS = {"happened": (str, int, str, str, str, str, str, str),
                "reported": (str, str, int, str, str)}
ID_PART = {"happened": 3, "reported": 1}  # where the development's id is


def replay_cursor(query: dict[str, Any]) -> tuple[Any, ...] | None:
    """The key of the step a page starts after; a cursor of another replay is a 422."""
    if not query.get("after"):
        return None
    types = CURSOR_PARTS[query["order"]]
    parts = with_ids(decode_cursor(query["after"], len(types), types), ID_PART[query["order"]])
    if any(isinstance(part, int) and not 0 <= part < 2**31 for part in parts):
        raise ValidationError({"after": ["not a cursor this service gave out"]})
    return tuple(parts)


def replayed(query: dict[str, Any], pair: tuple[str, str] | None = None) -> Response:
    """A page of the replay's steps, after the step the cursor names: computed a page at a
    time (see Queries.replay_page), never whole."""
    found = timeline().replay_page(
        pair=pair, until=query.get("until"), start=query.get("start"), order=query["order"],
        after=replay_cursor(query), limit=query["limit"], axes=axes_of(query),
        datasets=query.get("dataset", ()))
    return listed("steps", found.items, found.next and encode_cursor(*found.next),
                  order=query["order"], axes=axes_of(query).echo())


@blueprint.get("/relationships")
@blueprint.arguments(RelationshipQuery, location="query")
@blueprint.response(200, RelationshipListOut)
@documents(blueprint, 404)
def list_relationships(query: dict[str, Any]) -> Response:
    """Every pair (or every pair of one actor), in pair order, each outlined: stance, score,
    ties and how many developments are behind them (`GET /relationships/{a}/{b}` has the
    developments). As things stand now (no time axis, every dataset), a page reads the
    outlines the read model keeps, one row per pair. On other axes it folds its pairs, at
    most 1000 pairs holding 20,000 links (or one pair): with `stance`, or busy pairs, it may
    then hold fewer than `limit` (even none) and a `next` cursor."""
    after = tuple(decode_cursor(query["after"], 2)) if query.get("after") else None
    found = timeline().relationships_page(
        actor=query.get("actor"), stance=query.get("stance"), after=after,
        limit=query["limit"], axes=axes_of(query),
        datasets=query.get("dataset", ()))
    return listed("relationships", found.items, found.next and encode_cursor(*found.next),
                  axes=axes_of(query).echo())


@blueprint.get("/relationships/<a>/<b>")
@blueprint.arguments(PairQuery, location="query")
@blueprint.response(200, RelationshipViewOut)
@documents(blueprint, 404, 422)
def get_relationship(query: dict[str, Any], a: str, b: str) -> Response:
    """The state of one pair, in either order, on the time axes: stance, score, ties, and the
    developments behind them with what each contributes to the score."""
    return ok(timeline().get_relationship(a, b, axes_of(query),
                                          datasets=query.get("dataset", ())))


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
    """The steps that built every pair's state, in world-date order or as the news arrived. A
    page folds the history of the pairs it shows, at most 20,000 links (or one pair's): it may
    hold fewer than `limit` steps, and a `next` cursor."""
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
