"""Shared fixtures: applications built on fresh stores, and the seeded data set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from timeline.application import Timeline
from timeline.domain import Content, PartialDate, Participation, Source
from timeline.seeding import seed
from timeline.vocabulary import ActorKind, Certainty, Kind, Role

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture
def app() -> Iterator[Timeline]:
    """A Timeline on a private in-memory store, with a few actors registered."""
    timeline = Timeline("memory://")
    for slug, name, kind, belongs_to in [
        ("china", "China", ActorKind.STATE, ()),
        ("russia", "Russia", ActorKind.STATE, ()),
        ("ukraine", "Ukraine", ActorKind.STATE, ()),
        ("sergei-lavrov", "Sergei Lavrov", ActorKind.PERSON, ("russia",)),
    ]:
        timeline.register_actor(slug, name, kind, belongs_to=belongs_to)
    yield timeline
    timeline.close()


@pytest.fixture
def seeded() -> Iterator[Timeline]:
    """A Timeline on a private in-memory store, loaded with the seed files."""
    timeline = Timeline("memory://")
    seed(timeline, SEEDS)
    yield timeline
    timeline.close()


def source(passage: str = "China has begun sending rifle scopes.") -> Source:
    return Source(
        publication="The Telegraph",
        attribution="US officials, speaking on condition of anonymity to Bloomberg News",
        reported_on=PartialDate.parse("2024-04-07", approximate=True),
        passage=passage,
    )


def content(**changes) -> Content:
    """A valid development's content; keyword arguments replace fields."""
    fields = {
        "kind": Kind.MATERIAL_SUPPORT,
        "summary": "China sends rifle scopes to Russia.",
        "actors": (Participation("china", Role.SOURCE), Participation("russia", Role.TARGET)),
        "date": PartialDate.parse("2024-04", approximate=True),
        "certainty": Certainty.REPORTED,
        "sources": (source(),),
        "items": ("rifle scopes",),
    }
    fields.update(changes)
    return Content(**fields)
