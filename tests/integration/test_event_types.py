"""An event type registered in one place flows through history, seeding and the read model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from eventsourcing.domain import Aggregate
from marshmallow import Schema, fields

from tests.conftest import SEEDS
from timeline.application import Timeline
from timeline.domain import Development, actor_stream_id, development_id
from timeline.history import EVENT_TYPES, EventType
from timeline.seeding import seed


class Annotated(Development.Event):
    """A test-only event: an analyst's note appended to the summary."""

    note: str
    recorded_by: str

    def apply(self, development: Development) -> None:
        content = development.content
        development.content = content.changed({"summary": f"{content.summary} ({self.note})"})


class AnnotationSchema(Schema):
    note = fields.String(required=True)


ANNOTATED = EventType(
    Annotated, "annotated", lambda e: {"note": e.note},
    schema=AnnotationSchema,
    make=lambda d, e, by: d.trigger_event(Annotated, note=e["note"], recorded_by=by),
    counter="annotations",
)

ENTRY = """
[[developments]]
key = "annotated-visit"
kind = "visit"
summary = "Sergei Lavrov visits Beijing."
status = "occurred"
certainty = "confirmed"
date = "2024-04-08"
actors = [{ actor = "russia", role = "source" }, { actor = "china", role = "target" }]

[[developments.sources]]
publication = "Ministry of Foreign Affairs of the PRC"
attribution = "press release"
reported_on = "2024-04-09"
passage = "Wang Yi held talks with Sergei Lavrov in Beijing."

[[developments.history]]
type = "annotated"
note = "first visit of the year"
"""


def test_every_event_class_of_the_domain_is_registered():
    # The project's aggregates only: other tests load the library's own (its test cases).
    ours = (a for a in Aggregate.__subclasses__() if a.__module__.startswith("timeline."))
    for aggregate in (Development, *ours):
        # The library's own base classes, which our aggregates do not emit: each names its
        # creation event with @event on __init__ ("Recorded", "Registered").
        unused = {aggregate.Event, aggregate.Created}
        for name, value in vars(aggregate).items():
            if isinstance(value, type) and issubclass(value, aggregate.Event):
                assert value in EVENT_TYPES or value in unused, (
                    f"{aggregate.__name__}.{name} is not registered in timeline.history"
                )


def test_a_registered_event_type_flows_through_seeding_history_and_the_view(
    store, tmp_path: Path, monkeypatch
):
    monkeypatch.setitem(EVENT_TYPES, Annotated, ANNOTATED)
    (tmp_path / "actors.toml").write_text((SEEDS / "actors.toml").read_text())
    (tmp_path / "annotated.toml").write_text(ENTRY)
    app = Timeline(store)
    try:
        report = seed(app, tmp_path)
        assert report.count("annotated") == 1
        assert "1 annotations" in str(report)

        found = app.get_development(development_id("annotated-visit"))
        assert [v["type"] for v in found["history"]] == ["recorded", "annotated"]
        assert found["history"][-1]["note"] == "first visit of the year"

        listed = app.list_developments(actors=["russia"])
        assert [d["summary"] for d in listed] == [
            "Sergei Lavrov visits Beijing. (first visit of the year)"
        ]
        assert app.read_model.rebuild() == app.audit.count()  # and it decodes again
        assert app.list_developments(actors=["russia"]) == listed
        assert seed(app, tmp_path).count("annotated") == 0  # idempotent
    finally:
        app.close()


def test_an_actor_registered_before_the_rename_still_decodes(app):
    """Actor.Registered version 1 stored the actor id as `slug`: it is upcast on reading."""
    stored = app.recorder.select_events(actor_stream_id("china"))[0]
    state = json.loads(stored.state)
    assert state.pop("class_version") == 2
    state["slug"] = state.pop("actor_id")
    old = replace(stored, state=json.dumps(state).encode())
    registered = app.mapper.to_domain_event(old)
    assert registered.actor_id == "china"
    assert registered.mutate(None).actor_id == "china"
