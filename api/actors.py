"""Actors: the states, people, organisations, regions and blocs developments are about."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Response, g, url_for

from api.http import Blueprint, documents, etag_of, ok, timeline, writer
from timeline.schemas import ActorListOut, ActorOut, ActorSchema, ActorViewOut

blueprint = Blueprint("actors", __name__, url_prefix="/api/v1/actors", description=__doc__,
                      reads_view=True)


@blueprint.get("")
@blueprint.response(200, ActorListOut)
def list_actors() -> Response:
    """All actors, by id (the list is short, so it comes in one page)."""
    return ok({"actors": timeline().list_actors(), "next": None})


@blueprint.get("/<actor_id>")
@blueprint.response(200, ActorViewOut)
@documents(blueprint, 404)
def get_actor(actor_id: str) -> Response:
    """One actor."""
    actor = timeline().get_actor(actor_id)
    return ok(actor, headers={"ETag": etag_of(actor["version"])})


@blueprint.post("")
@writer(replay=lambda result: registered(timeline().repository.get(UUID(result)).actor_id))
@blueprint.arguments(ActorSchema)
@blueprint.response(201, ActorOut, headers={"Location": {"schema": {"type": "string"}}})
@documents(blueprint, 409, write=True)
def register_actor(body: dict[str, Any]) -> Response:
    """Register an actor. Its id is a slug that never changes (`china`, `vladimir-putin`)."""
    timeline().register_actor(
        body["id"], body["name"], body["kind"], body["aliases"], body["belongs_to"],
        recorded_by=g.recorded_by,
    )
    return registered(body["id"])


def registered(actor_id: str) -> Response:
    actor = timeline().get_actor(actor_id)
    return ok(actor, 201, {"Location": url_for("actors.get_actor", actor_id=actor_id)})
