"""The relationship rules on hand-made developments: no store involved."""

from __future__ import annotations

import json
import math
import random
from datetime import date

from timeline.domain import PartialDate, StatusSpan
from timeline.queries import up_to
from timeline.readmodel import (
    pack_chapters,
    pack_report_chapters,
    packed,
    unpack_chapters,
    unpack_report_chapters,
)
from timeline.relationships import (
    NO_SHARE,
    Fact,
    Linked,
    ReportChapter,
    Resumed,
    Share,
    Standing,
    Tally,
    chapter_key,
    fold,
    fold_chapters,
    links,
    replay,
    replay_steps,
    share_of,
    shares_of,
    timeline_of,
)
from timeline.vocabulary import Certainty, Kind, Status, TieKind

STATES = {"lavrov": {"russia"}, "wang-yi": {"china"}, "bildt": {"sweden"}}


def fact(
    kind: Kind,
    when: str,
    source: str = "china",
    target: str = "russia",
    *,
    ident: str | None = None,
    status: Status = Status.OCCURRED,
    certainty: Certainty = Certainty.CONFIRMED,
    ended: str | None = None,
    planned_for: str | None = None,
    items: tuple[str, ...] = (),
    reported: str | None = None,
    statuses: list[tuple[Status, date | None, str]] = (),
) -> Fact:
    return Fact(
        id=ident or f"{kind.value}-{when}-{source}-{target}",
        kind=kind,
        status=status,
        certainty=certainty,
        date=PartialDate.parse(when),
        ended=ended and PartialDate.parse(ended),
        planned_for=planned_for and PartialDate.parse(planned_for),
        sources=(source,),
        targets=(target,),
        participants=(),
        items=items,
        summary=f"{source} {kind.value} {target}",
        reported=reported and date.fromisoformat(reported),
        statuses=tuple(StatusSpan(status, since, PartialDate.parse(when))
                       for status, since, when in statuses),
    )


def linked(*facts: Fact) -> list[Linked]:
    return [Linked(f, a, b) for f in facts for a, b in links(f, STATES)]


def state(*facts: Fact, as_of: date | None = None, pair=("china", "russia")):
    return fold(linked(*facts), as_of)[pair].as_dict()


def test_a_meeting_of_ministers_shapes_their_pair_and_their_states_pair():
    meeting = fact(Kind.CONSULTATION, "2023-10-16", "lavrov", "wang-yi")
    assert links(meeting, STATES) == {("lavrov", "wang-yi"), ("russia", "china")}
    relationships = fold(linked(meeting))
    assert set(relationships) == {("lavrov", "wang-yi"), ("china", "russia")}


def test_war_dominates_every_other_tie():
    found = state(
        fact(Kind.AGREEMENT, "2021"),
        fact(Kind.ARMED_ATTACK, "2022-02-24", "russia", "china"),
    )
    assert found["stance"] == "war"
    assert {t["kind"] for t in found["ties"]} == {"partnership", "war"}


def test_sanctions_mean_hostility_and_partnership_with_military_supply_an_alliance():
    assert state(fact(Kind.SANCTIONS, "2022"))["stance"] == "hostility"
    assert state(fact(Kind.AGREEMENT, "2022"))["stance"] == "partnership"
    allied = state(fact(Kind.AGREEMENT, "2022"), fact(Kind.MILITARY_AID, "2023"))
    assert allied["stance"] == "alliance"
    assert state(fact(Kind.VISIT, "2022"))["stance"] == "cooperation"
    assert state(fact(Kind.RESTRAINT, "2022"))["stance"] == "neutral"


def test_score_is_the_saturated_sum_of_the_contributions_each_development_carries():
    found = state(
        fact(Kind.AGREEMENT, "2022", certainty=Certainty.CONFIRMED),  # +8 x 1
        fact(Kind.SANCTIONS, "2023", certainty=Certainty.ASSESSMENT),  # -8 x 0.25
        fact(Kind.ASSESSMENT, "2023"),  # weight 0
    )
    assert {d["kind"]: d["contribution"] for d in found["developments"]} == {
        "agreement": 8.0, "sanctions": -2.0, "assessment": 0.0}
    # The documented formula, from the contributions the answer carries.
    total = sum(d["contribution"] for d in found["developments"])
    assert found["score"] == round(10 * math.tanh(total / 20), 2) == 2.91


def test_a_consultation_raises_a_partnership_score_a_mean_would_lower():
    partnership = fact(Kind.AGREEMENT, "2022")
    before = state(partnership)["score"]
    after = state(partnership, fact(Kind.CONSULTATION, "2023"))["score"]
    assert after > before


def test_a_partial_date_counts_from_the_last_day_of_its_period_without_a_report():
    may = fact(Kind.VISIT, "2024-05")
    assert state(may, as_of=date(2024, 5, 31))["developments"]
    before = state(may, as_of=date(2024, 5, 30))
    assert before["developments"] == [] and before["possible"][0]["id"] == may.id


def test_a_report_within_its_period_proves_it_had_happened_by_then():
    april = fact(Kind.MATERIAL_SUPPORT, "2024-04", reported="2024-04-07")
    assert state(april, as_of=date(2024, 4, 7))["developments"][0]["id"] == april.id
    assert state(april, as_of=date(2024, 4, 6))["possible"][0]["id"] == april.id
    assert ("china", "russia") not in fold(linked(april), date(2024, 3, 31))  # not begun


def test_a_week_counts_from_its_sunday_and_is_possible_from_its_monday():
    week = fact(Kind.VISIT, "2024-W19")  # Monday 6 to Sunday 12 May 2024
    assert ("china", "russia") not in fold(linked(week), date(2024, 5, 5))  # not begun
    for midweek in (date(2024, 5, 6), date(2024, 5, 9), date(2024, 5, 11)):
        shown = state(week, as_of=midweek)
        assert shown["developments"] == [] and shown["possible"][0]["id"] == week.id
    assert state(week, as_of=date(2024, 5, 12))["developments"][0]["id"] == week.id
    # A report within the week proves it had happened by the report's day.
    reported = fact(Kind.VISIT, "2024-W19", reported="2024-05-08")
    assert state(reported, as_of=date(2024, 5, 7))["possible"][0]["id"] == reported.id
    assert state(reported, as_of=date(2024, 5, 8))["developments"][0]["id"] == reported.id
    assert fact(Kind.VISIT, "2025-W01").changes() == [
        (date(2024, 12, 30), Standing.POSSIBLE), (date(2025, 1, 5), Standing.COUNTS)]


def test_the_status_in_force_on_the_date_is_the_one_that_counts():
    trip = fact(Kind.VISIT, "2024-04-08", status=Status.OCCURRED, planned_for="2024-04",
                reported="2024-04-07", statuses=[
                    (Status.PLANNED, None, "2024-04-07"),
                    (Status.OCCURRED, date(2024, 4, 8), "2024-04-08"),
                ])
    on_7 = state(trip, as_of=date(2024, 4, 7))
    assert on_7["developments"] == [] and on_7["expected"][0]["id"] == trip.id
    on_10 = state(trip, as_of=date(2024, 4, 10))
    assert on_10["expected"] == [] and on_10["developments"][0]["id"] == trip.id
    steps = replay(linked(trip))
    assert [(s["date"], s["event"]) for s in steps if s["pair"] == ["china", "russia"]] == [
        ("2024-04-07", "expected"), ("2024-04-08", "counts")]


def test_a_planned_development_is_expected_and_opens_no_tie():
    planned = fact(Kind.VISIT, "2024-04-07", status=Status.PLANNED, planned_for="2024-05")
    found = state(planned)
    assert found["ties"] == [] and found["developments"] == []
    assert found["expected"][0]["planned_for"] == "2024-05"


def test_a_tie_ends_when_every_development_behind_it_has_ended():
    supply = fact(Kind.MATERIAL_SUPPORT, "2022", status=Status.ONGOING, ended="2023-06",
                  items=("drones",))
    during = state(supply, as_of=date(2023, 1, 1))
    after = state(supply, as_of=date(2023, 7, 1))
    assert during["ties"][0]["until"] is None and during["stance"] == "cooperation"
    assert after["ties"][0]["until"] == "2023-06" and after["ties"][0]["active"] is False
    sanctions = fact(Kind.SANCTIONS, "2022", status=Status.ONGOING, ended="2023-06")
    assert state(sanctions, as_of=date(2023, 1, 1))["stance"] == "hostility"
    # once lifted, no tie is in force and the stance falls back on the score (-8)
    assert state(sanctions, as_of=date(2023, 7, 1))["stance"] == "tension"


def test_ties_keep_their_direction_and_gather_items_and_developments():
    first = fact(Kind.MATERIAL_SUPPORT, "2024-04", items=("rifle scopes",), ident="one")
    second = fact(Kind.MATERIAL_SUPPORT, "2024-03", items=("turbojet engines",), ident="two",
                  certainty=Certainty.REPORTED)
    back = fact(Kind.MATERIAL_SUPPORT, "2024-05", "russia", "china", items=("oil",))
    ties = state(first, second, back)["ties"]
    china_to_russia = next(t for t in ties if t["from"] == "china")
    assert china_to_russia["items"] == ["turbojet engines", "rifle scopes"]
    assert china_to_russia["developments"] == ["two", "one"]
    assert china_to_russia["since"] == "2024-03"
    assert china_to_russia["certainty"] == "confirmed"
    assert any(t["from"] == "russia" and t["items"] == ["oil"] for t in ties)


def test_the_last_replay_step_agrees_with_the_state():
    facts = [
        fact(Kind.AGREEMENT, "2022-02-04"),
        fact(Kind.SANCTIONS, "2023", "united-states", "china"),
        fact(Kind.MATERIAL_SUPPORT, "2024-04", items=("rifle scopes",)),
    ]
    steps = replay(linked(*facts), until=date(2024, 6, 30))
    china_russia = [s for s in steps if s["pair"] == ["china", "russia"]]
    final = state(*facts, as_of=date(2024, 6, 30))
    assert china_russia[-1]["stance"]["to"] == final["stance"]
    assert china_russia[-1]["score"]["to"] == final["score"]
    assert china_russia[0]["ties_opened"] == [["partnership", "china", "russia"]]
    assert china_russia[0]["stance"] == {"from": "neutral", "to": "partnership"}
    shown = replay(linked(*facts), until=date(2024, 6, 30), start=date(2024, 1, 1))
    # Begun on 1 April, certain by the last day of its month (no source dated it earlier).
    assert [(s["date"], s["event"], s["development"]["kind"]) for s in shown] == [
        ("2024-04-01", "possible", "material_support"),
        ("2024-04-30", "counts", "material_support")]


def test_a_fact_is_stored_beside_its_columns_as_a_compact_array_and_read_back_whole():
    supply = Fact(
        id="d1",
        kind=Kind.MILITARY_AID,
        status=Status.ONGOING,
        certainty=Certainty.REPORTED,
        date=PartialDate.parse("2023-10", approximate=True),
        ended=PartialDate.parse("2024"),
        planned_for=None,
        sources=("iran",),
        targets=("russia",),
        participants=(),
        items=("drones", "shells"),
        summary="Iran supplies drones",
        reported_by=(("Reuters", "reported"),),
        reported=date(2023, 11, 2),
        statuses=(StatusSpan(Status.ONGOING, None, PartialDate.parse("2023-10", approximate=True)),),
        version=2,
        reported_from=date(2023, 11, 2),
    )
    stored = json.dumps(supply.stored())
    # The bytes the view keeps beside the version's columns (VIEW_SHAPE 9): changing them
    # means a new shape.
    assert stored == (
        '[["2023-10", true], ["2024", false], null, ["iran"], ["russia"], [],'
        ' ["drones", "shells"], "Iran supplies drones", [["Reuters", "reported"]],'
        ' "2023-11-02", []]'  # its one status span is the one its status and date make
    )
    assert Fact.from_stored("d1", 2, "military_aid", "ongoing", "reported", False,
                            "2023-11-02", json.loads(stored)) == supply


def test_a_fact_kept_beside_its_columns_reads_back_equal_whatever_its_status_spans():
    """The view keeps a fact without what its row's columns hold, and its status spans only
    when they are not the one span its status and date make (see StoredFact)."""
    one_span = fact(Kind.VISIT, "2024-05-16", "russia", "china", reported="2024-05-16",
                    statuses=[(Status.OCCURRED, None, "2024-05-16")])
    planned_then_made = fact(Kind.VISIT, "2024-05-16", "russia", "china",
                             planned_for="2024-05",
                             statuses=[(Status.PLANNED, None, "2024-05"),
                                       (Status.OCCURRED, date(2024, 5, 16), "2024-05-16")])
    none = fact(Kind.VISIT, "2024-05", "russia", "china", ended="2024-06")
    for kept, statuses in ((one_span, []), (planned_then_made, [
            ["planned", None, ["2024-05", False]], ["occurred", "2024-05-16",
                                                    ["2024-05-16", False]]]), (none, None)):
        stored = json.loads(json.dumps(kept.stored()))
        assert stored[-1] == statuses
        read = Fact.from_stored(kept.id, kept.version, kept.kind.value, kept.status.value,
                                kept.certainty.value, 0, "", stored)
        assert read == kept


def test_a_replay_names_its_steps_and_on_one_day_counts_before_it_ends():
    facts = [
        fact(Kind.MILITARY_AID, "2023-03-01", ident="aid", status=Status.ONGOING,
             ended="2024-01-31"),
        fact(Kind.AGREEMENT, "2024-01-31", ident="treaty"),
        fact(Kind.VISIT, "2024-05", ident="visit", status=Status.PLANNED,
             planned_for="2024-05"),
    ]
    steps = replay(linked(*facts))
    assert [(s["date"], s["event"], s["development"]["id"]) for s in steps] == [
        ("2023-03-01", "counts", "aid"),
        ("2024-01-31", "counts", "treaty"),
        ("2024-01-31", "ends", "aid"),
        ("2024-05-31", "expected", "visit"),
    ]


def test_a_development_cancelled_after_it_counted_neither_sustains_nor_ends_its_tie():
    # Supplies under way from January 2023 to the end of the year, cancelled from June: they
    # count from January and no longer from June; their end in December is not the end of
    # the tie that other supplies, of March, still sustain.
    cancelled = fact(Kind.MATERIAL_SUPPORT, "2023-01", status=Status.ONGOING, ended="2023-12",
                     statuses=[(Status.ONGOING, None, "2023-01"),
                               (Status.CANCELLED, date(2023, 6, 1), "2023-01")])
    other = fact(Kind.MATERIAL_SUPPORT, "2023-03")
    (tie,) = state(cancelled, other)["ties"]
    assert tie["developments"] == [other.id]
    assert tie["active"] and tie["until"] is None
    alone = state(cancelled, as_of=date(2023, 5, 1))
    assert [t["developments"] for t in alone["ties"]] == [[cancelled.id]]
    assert state(cancelled)["ties"] == []


def test_the_score_is_the_same_whatever_order_developments_came_to_count_in():
    facts = [fact(kind, f"2023-0{month}", ident=f"d{month}-{kind.value}",
                  certainty=certainty)
             for month, kind, certainty in (
                 (1, Kind.AGREEMENT, Certainty.REPORTED), (2, Kind.SANCTIONS, Certainty.ALLEGED),
                 (3, Kind.MILITARY_AID, Certainty.ASSESSMENT), (4, Kind.VISIT, Certainty.CONFIRMED))]
    forwards = fold(linked(*facts))[("china", "russia")]
    backwards = fold(linked(*reversed(facts)))[("china", "russia")]
    assert forwards.weights == backwards.weights
    assert forwards.total == backwards.total == math.fsum(f.contribution for f in facts)


def test_a_replay_resumed_from_any_chapter_shows_the_steps_of_the_whole_replay():
    """Chapters (here one every moment) keep a pair's state as counts; resumed from any of
    them with only the links of the moments after it, a replay shows what the replay from
    the start shows, up to now and up to a date, with developments that end, are cancelled
    after they counted, are planned and listed as possible."""
    facts = varied_facts()
    # Each development's links at its own position, as the view reads them.
    every = [Linked(link.fact, link.source, link.target, position)
             for position, f in enumerate(facts, 1) for link in linked(f)]
    pair = ("china", "russia")
    for until in (None, date(2023, 10, 1), date(2024, 4, 30)):
        whole = replay_steps(every, until)
        chapters = fold_chapters(every, 1).chapters
        assert len(chapters[pair]) > 5
        for number, chapter in enumerate(chapters[pair]):
            later = {p for c in chapters[pair][number:] for p in c.positions}
            kept = [link for link in every if link.position in later]
            assert number == 0 or len(kept) < len(every)
            by_id: dict[str, list[Linked]] = {}
            for link in every:  # each development's links, for its part before the chapter
                by_id.setdefault(link.fact.id, []).append(link)
            tally = chapter.now if until is None or chapter.until is None else chapter.until
            resumed = Resumed(tally.copy(), chapter.key, by_id, until is not None)
            steps = replay_steps(kept, until, resumed={pair: resumed})
            assert steps == [s for s in whole if tuple(s[0][:4]) >= chapter.key]


def varied_facts() -> list[Fact]:
    """Developments that end, are cancelled after they counted, are planned, listed as
    possible, and link the pair both ways."""
    return [
        fact(Kind.MATERIAL_SUPPORT, "2023-01", status=Status.ONGOING, ended="2023-12",
             statuses=[(Status.ONGOING, None, "2023-01"),
                       (Status.CANCELLED, date(2023, 6, 1), "2023-01")]),
        fact(Kind.MATERIAL_SUPPORT, "2023-03", ended="2023-09", status=Status.ONGOING),
        fact(Kind.AGREEMENT, "2022-02-04", "china", "russia"),
        fact(Kind.AGREEMENT, "2022-02-04", "russia", "china", ident="both-ways"),
        fact(Kind.VISIT, "2024-05", status=Status.PLANNED, planned_for="2024-05",
             reported="2024-04-07"),
        fact(Kind.MILITARY_AID, "2024-04", reported="2024-04-07",
             certainty=Certainty.ALLEGED),
        fact(Kind.SANCTIONS, "2023-07", "russia", "china", ended="2023-08",
             status=Status.ONGOING),
    ]


def test_a_developments_share_is_the_one_the_shares_of_its_pair_give_it():
    facts = varied_facts()
    seen = set()
    for as_of in (None, date(2023, 2, 1), date(2023, 7, 1), date(2023, 10, 1),
                  date(2024, 4, 3)):
        relationship = fold(linked(*facts), as_of)[("china", "russia")]
        shares = shares_of(relationship)
        for f in facts:
            assert share_of(relationship, f.id) == shares.get(f.id, NO_SHARE)
            seen.add(share_of(relationship, f.id))
    # None, counting, behind ties, and ended in one: every kind of part was compared.
    assert NO_SHARE in seen and any(share.weight is not None for share in seen)
    assert any(share.ties for share in seen) and any(share.ended for share in seen)


def test_chapters_packed_a_run_to_a_row_read_back_equal():
    """A row keeps a run of chapters, the first's state in full and each later one's as the
    change from the one before (see pack_chapters): every run reads back what was packed,
    states to now and up to a date, positions, keys, and so do chapters by report."""
    facts = [
        fact(Kind.MATERIAL_SUPPORT, "2023-01", status=Status.ONGOING, ended="2023-12",
             statuses=[(Status.ONGOING, None, "2023-01"),
                       (Status.CANCELLED, date(2023, 6, 1), "2023-01")]),
        fact(Kind.AGREEMENT, "2022-02-04", "china", "russia"),
        fact(Kind.AGREEMENT, "2022-02-04", "russia", "china", ident="both-ways"),
        fact(Kind.VISIT, "2024-05", status=Status.PLANNED, planned_for="2024-05"),
        fact(Kind.SANCTIONS, "2023-07", "russia", "china", ended="2023-08",
             status=Status.ONGOING),
        fact(Kind.MILITARY_AID, "2024-04", certainty=Certainty.ALLEGED),
        fact(Kind.SANCTIONS, "2024-06", "china", "russia", certainty=Certainty.REPORTED),
    ]
    every = [Linked(link.fact, link.source, link.target, position)
             for position, f in enumerate(facts, 1) for link in linked(f)]
    pair = ("china", "russia")
    folded = fold_chapters(every, 1).chapters[pair]
    assert len(folded) > 5
    # States up to a date differ where a status changed after the date (rare): here some.
    chapters = [chapter._replace(until=folded[-1 - number].now) if number % 2 else chapter
                for number, chapter in enumerate(folded)]
    assert len({json.dumps(chapter.now.dumped()) for chapter in chapters}) > 3
    by_report = [ReportChapter((chapter.key[0], chapter.key[3], number), chapter.now,
                               chapter.positions, chapter.positions[:1])
                 for number, chapter in enumerate(chapters)]
    for size in (1, 2, 3, len(chapters)):
        read = [c for run in runs(chapters, size)
                for c in unpack_chapters(pair, run[0].key, pack_chapters(run))]
        assert read == chapters
        assert [(c.key, c.now.dumped(), c.until and c.until.dumped(), c.positions)
                for c in read] == [(c.key, c.now.dumped(), c.until and c.until.dumped(),
                                    c.positions) for c in chapters]
        read_by_report = [c for run in runs(by_report, size) for c in unpack_report_chapters(
            pair, run[0].key, pack_report_chapters(run))]
        assert read_by_report == by_report
        # As the outliner keeps them: each run packed as soon as it is made.
        kept = fold_chapters(every, 1, size, packed).chapters[pair]
        assert len(kept) == len(runs(folded, size))
        assert [c for run in kept for c in unpack_chapters(pair, run.key, run.chapters)] == folded
        # As a page reads a row: from the chapter a key falls in, that one alone with its
        # states (the one it resumes from), the later ones with their keys and positions.
        for run in runs(chapters, size):
            packed_run = pack_chapters(run)
            for number, chapter in enumerate(run):
                within = (*chapter.key[:3], chapter.key[3] + "~")  # after its key, before next
                read = unpack_chapters(pair, run[0].key, packed_run, within)
                assert read[0] == chapter
                assert [(c.key, c.now, c.until, c.positions) for c in read[1:]] == [
                    (c.key, None, None, c.positions) for c in run[number + 1:]]
            assert unpack_chapters(pair, run[0].key, packed_run, ("",))[0] == run[0]  # before it
            assert [(c.key, c.now, c.positions) for c in unpack_chapters(
                pair, run[0].key, packed_run, states=False)] == [
                (c.key, None, c.positions) for c in run]
    for before in chapters:  # a change moves any state to any other
        for after in chapters:
            assert before.now.changed(before.now.change_to(after.now)) == after.now


def runs(chapters, size):
    return [chapters[i:i + size] for i in range(0, len(chapters), size)]


def test_a_page_reads_a_busy_pairs_chapter_only_up_to_its_last_step():
    """A page of the whole store's replay ending at a pair's step needs none of the pair's
    chapters after it, nor, in its own, the positions after the step's, when the step is its
    development's first moment there: those are the ones it reads no longer (up_to)."""
    facts = [fact(Kind.AGREEMENT, f"2023-0{month}-10", ident=f"d{month}")
             for month in range(1, 7)]
    facts.insert(2, fact(Kind.MATERIAL_SUPPORT, "2023-02-15", ident="runs",
                         status=Status.ONGOING, ended="2023-05-20"))
    every = [Linked(link.fact, link.source, link.target, position)
             for position, f in enumerate(facts, 1) for link in linked(f)]
    pair = ("china", "russia")
    chapters = fold_chapters(every, 7).chapters[pair]  # 8 moments: 7, then 1
    assert [chapter.positions for chapter in chapters] == [[1, 2, 3, 4, 5, 6], [7]]
    timeline = [m for m in timeline_of(every, None) if m.link.pair == pair]
    steps = {(m.link.fact.id, m.step.name): m for m in timeline}
    # The second development's moment: the first chapter up to its position.
    moment = steps[("d2", "COUNTS")]
    assert up_to(chapters, moment.key(), moment.link) == [
        chapters[0]._replace(positions=chapters[0].positions[:2])]
    # The end of a development that began in the same chapter: all of it (what came between).
    moment = steps[("runs", "ENDS")]
    assert chapter_key(moment) < chapters[1].key
    assert up_to(chapters, moment.key(), moment.link) == chapters[:1]
    # A step in the last chapter: every chapter, the last up to the step.
    moment = timeline[-1]
    assert up_to(chapters, moment.key(), moment.link) == chapters
    # A step before every chapter given: all of them, as they are.
    moment = steps[("d2", "COUNTS")]
    assert up_to(chapters[1:], moment.key(), moment.link) == chapters[1:]


def test_a_tallys_summary_kept_as_it_moves_is_the_one_its_counts_give():
    """A Tally keeps the ties in force as its counts move (a replay asks for a summary at each
    step): after any run of moves and changes, the summary is that of a fresh Tally of the
    same counts, and a summary taken earlier does not move with it."""
    draw = random.Random(11)
    pair = ("china", "russia")
    keys = [(kind, *direction) for kind in list(TieKind)[:4]
            for direction in (pair, pair[::-1])]

    def share() -> Share:
        ties = frozenset(draw.sample(keys, draw.randint(0, 3)))
        return Share(draw.choice([None, 1.5, -2.0, 8.0]), ties,
                     frozenset(key for key in ties if draw.random() < 0.4))

    for _ in range(50):
        tally, parts = Tally(pair), []
        for _ in range(30):
            before = tally.summary()
            kept = {**before, "ties": set(before["ties"])}
            if parts and draw.random() < 0.4:  # a development's part goes, or changes
                index = draw.randrange(len(parts))
                after = share() if draw.random() < 0.5 else NO_SHARE
                tally.move(parts[index], after)
                parts[index] = after
            else:
                parts.append(share())
                tally.move(NO_SHARE, parts[-1])
            if draw.random() < 0.3:  # as a chapter moves a state by a stored change
                other = Tally(pair, tally.weights, tally.ties)
                tally = Tally(pair, tally.weights, tally.ties)
                tally.change(other.change_to(Tally(pair)))
                tally.change(Tally(pair).change_to(other))
            fresh = Tally(pair, tally.weights, tally.ties)
            assert tally.summary() == fresh.summary()
            assert {**before, "ties": set(before["ties"])} == kept
