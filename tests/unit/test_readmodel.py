"""The read model's write path as pure functions: the rows a run of versions writes."""

from __future__ import annotations

from timeline.domain import PartialDate
from timeline.readmodel import (
    LinkRow,
    ParticipantRow,
    Superseded,
    Version,
    VersionRow,
    plan_writes,
)
from timeline.relationships import Fact
from timeline.vocabulary import Certainty, Kind, Status

STATES = {"lavrov": {"russia"}, "wang-yi": {"china"}}


def version(ident: str, number: int, at: int, *, participants: tuple[str, ...] = ()) -> Version:
    fact = Fact(
        id=ident,
        kind=Kind.CONSULTATION,
        status=Status.OCCURRED,
        certainty=Certainty.CONFIRMED,
        date=PartialDate.parse("2023-10-16"),
        ended=None,
        planned_for=None,
        sources=("lavrov",),
        targets=("wang-yi",),
        participants=participants,
        items=(),
        summary=f"{ident} v{number}",
    )
    row = VersionRow(
        development_id=ident, version=number, position=at, recorded_at=at, superseded_at=None,
        kind=fact.kind.value, status=fact.status.value, certainty=fact.certainty.value,
        retracted=0, earliest="2023-10-16", latest="2023-10-16", document="{}",
    )
    return Version(row, fact, f"fact of {ident} v{number}")


def test_a_version_superseded_within_the_run_is_written_already_superseded():
    writes = plan_writes([version("d1", 1, 10), version("d2", 1, 11), version("d1", 2, 12)],
                         STATES)
    assert [(r.development_id, r.version, r.superseded_at) for r in writes.versions] == [
        ("d1", 1, 12), ("d2", 1, None), ("d1", 2, None),
    ]
    # Its links carry the same interval: a query reads them without the version.
    assert {(link.development_id, link.version, link.superseded_at) for link in writes.links} == {
        ("d1", 1, 12), ("d2", 1, None), ("d1", 2, None),
    }
    assert writes.superseded == []  # nothing written by an earlier run to update


def test_a_run_supersedes_the_version_an_earlier_run_wrote_once_per_development():
    writes = plan_writes([version("d1", 3, 20), version("d1", 4, 21), version("d2", 1, 22)],
                         STATES)
    assert writes.superseded == [Superseded(superseded_at=20, development_id="d1", version=2)]


def test_each_link_is_keyed_by_its_pair_and_lifted_to_the_states():
    writes = plan_writes([version("d1", 1, 10)], STATES)
    assert sorted(writes.links) == [
        LinkRow(a="china", b="russia", source="russia", target="china", development_id="d1",
                version=1, recorded_at=10, superseded_at=None, retracted=0,
                latest="2023-10-16", fact="fact of d1 v1"),
        LinkRow(a="lavrov", b="wang-yi", source="lavrov", target="wang-yi", development_id="d1",
                version=1, recorded_at=10, superseded_at=None, retracted=0,
                latest="2023-10-16", fact="fact of d1 v1"),
    ]


def test_every_actor_a_version_names_is_a_participant_in_its_role():
    writes = plan_writes([version("d1", 1, 10, participants=("bildt",))], STATES)
    assert writes.participants == [
        ParticipantRow("lavrov", "d1", 1, "source"),
        ParticipantRow("wang-yi", "d1", 1, "target"),
        ParticipantRow("bildt", "d1", 1, "participant"),
    ]
