"""Developments: record them, list and read them (on any of the three time axes), and correct, move
along the lifecycle or retract them — each a new event, guarded by If-Match."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, g, url_for
from marshmallow import fields

from api.http import (
    DATASET,
    IF_MATCH_PATTERN,
    AxesArgs,
    Blueprint,
    DateRangeArgs,
    Day,
    PageArgs,
    axes_of,
    decode_cursor,
    documents,
    encode_cursor,
    etag_of,
    expected_version,
    listed,
    ok,
    timeline,
    with_ids,
    writer,
)
from timeline.history import DevelopmentDetailOut
from timeline.schemas import (
    CorrectionSchema,
    DevelopmentInputSchema,
    DevelopmentListOut,
    RetractionSchema,
    StatusChangeSchema,
)
from timeline.vocabulary import Certainty, Kind, Status

blueprint = Blueprint(
    "developments", __name__, url_prefix="/api/v1/developments", description=__doc__,
    reads_view=True,
)

IF_MATCH = {
    "parameters": [{
        "in": "header", "name": "If-Match", "required": True,
        "schema": {"type": "string", "pattern": IF_MATCH_PATTERN},
        "description": "The strong ETag of the version you read (or * for any version); "
                       "a weak one (W/\"3\") never matches: 412",
    }],
}


class DevelopmentQuery(PageArgs, DateRangeArgs, AxesArgs):
    actor = fields.List(
        fields.String(),
        metadata={"description": "Involving this actor or an actor belonging to it (repeat)"},
    )
    kind = fields.Enum(Kind, by_value=True)
    status = fields.Enum(Status, by_value=True)
    certainty = fields.Enum(Certainty, by_value=True)
    dataset = DATASET
    start = Day(data_key="from", metadata={"description": "Periods ending on or after"})
    end = Day(data_key="to", metadata={"description": "Periods starting on or before"})


@blueprint.get("")
@blueprint.arguments(DevelopmentQuery, location="query")
@blueprint.response(200, DevelopmentListOut)
def list_developments(query: dict[str, Any]) -> Response:
    """Developments in world-date order (first day of their period, then last day). A page
    checks its filters on at most 5000 developments: with a rare filter it may hold fewer than
    `limit` (even none), and a `next` cursor."""
    after = query.get("after")
    found = timeline().developments_page(
        actors=query.get("actor", ()),
        kind=query.get("kind"),
        status=query.get("status"),
        certainty=query.get("certainty"),
        datasets=query.get("dataset", ()),
        start=query.get("start"),
        end=query.get("end"),
        axes=axes_of(query),
        after=tuple(with_ids(decode_cursor(after, 3), 2)) if after else None,  # type: ignore[arg-type]
        limit=query["limit"],
    )
    return listed("developments", found.items, found.next and encode_cursor(*found.next),
                  axes=axes_of(query).echo())


@blueprint.get("/<uuid:development_id>")
@blueprint.arguments(AxesArgs, location="query")
@blueprint.response(200, DevelopmentDetailOut, headers={"ETag": {"schema": {"type": "string"}}})
@documents(blueprint, 404)
def get_development(query: dict[str, Any], development_id: UUID) -> Response:
    """A development in the version in force on the time axes (now, by default), with the
    history of its versions: what changed, when it was recorded and reported, by whom and why.
    As of a date, its status is the one in force then, and `standing` says where it stood."""
    g.pop("view_state", None)  # read from the log itself, never behind it
    found = timeline().get_development(development_id, axes_of(query))
    return ok(found, headers={"ETag": etag_of(found["version"])})


def changed(development_id: UUID, status: int = 200) -> Response:
    found = timeline().get_development(development_id)
    headers = {"ETag": etag_of(found["version"])}
    if status == 201:
        headers["Location"] = url_for("developments.get_development",
                                      development_id=development_id)
    return ok(found, status, headers)


def change(path: str, schema: type) -> Any:
    """A change to a recorded development: a write, guarded by If-Match, answering with the
    development as it now stands."""

    def decorate(view: Any) -> Any:
        view = blueprint.doc(**IF_MATCH)(view)
        view = documents(blueprint, 404, 409, 412, 422, 428, write=True)(view)
        view = blueprint.response(200, DevelopmentDetailOut, headers={
            "ETag": {"schema": {"type": "string"}}})(view)
        view = blueprint.arguments(schema)(view)
        return blueprint.post(path)(writer(view, replay=lambda result: changed(UUID(result))))

    return decorate


@blueprint.post("")
@writer(replay=lambda result: changed(UUID(result), 201))
@blueprint.arguments(DevelopmentInputSchema)
@blueprint.response(201, DevelopmentDetailOut, headers={
    "Location": {"schema": {"type": "string"}}, "ETag": {"schema": {"type": "string"}}})
@documents(blueprint, 422, write=True)
def record_development(body: Any) -> Response:
    """Record a development. Its actors must be registered; it needs at least one source."""
    ident = timeline().record_development(body.content, body.status, recorded_by=g.recorded_by)
    return changed(ident, 201)


@change("/<uuid:development_id>/corrections", CorrectionSchema)
def correct_development(body: dict[str, Any], development_id: UUID) -> Response:
    """Correct some fields, with a reason and a source. The earlier version stays in the
    history. Needs If-Match: the ETag of the version corrected."""
    version = expected_version()
    timeline().correct_development(
        development_id, body["changes"], body["reason"], body["source"],
        recorded_by=g.recorded_by, expected_version=version,
    )
    return changed(development_id)


@change("/<uuid:development_id>/status", StatusChangeSchema)
def change_status(body: dict[str, Any], development_id: UUID) -> Response:
    """Move a development along its lifecycle (planned → occurred, ongoing or cancelled;
    ongoing → occurred or cancelled, with the date it ended). Needs If-Match."""
    version = expected_version()
    timeline().change_status(
        development_id, body["status"], body["reason"], body["source"], date=body["date"],
        recorded_by=g.recorded_by, expected_version=version,
    )
    return changed(development_id)


@change("/<uuid:development_id>/retraction", RetractionSchema)
def retract_development(body: dict[str, Any], development_id: UUID) -> Response:
    """Retract a development: it stays in the log, but no longer counts. Needs If-Match."""
    version = expected_version()
    timeline().retract_development(
        development_id, body["reason"], body["source"],
        recorded_by=g.recorded_by, expected_version=version,
    )
    return changed(development_id)
