"""ACLED CSV exports (read by their header names, current and older layouts) as developments.

See docs/ingest.md for the mapping. ACLED overwrites a record in place and keeps no versions;
its `timestamp` is the record's last change. A record ingested again with a newer timestamp and
different content is recorded as a correction, so the store keeps the history ACLED does not.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from timeline.domain import (
    Content,
    PartialDate,
    Participation,
    Provenance,
    Source,
    TimelineError,
)
from timeline.ingest.bulk import ActorNeeded, BadRow, IngestError, Row, file_name, members, slug
from timeline.vocabulary import ActorKind, Certainty, Dataset, Role, acled_kind

DATASET = Dataset.ACLED
REQUIRED = ("event_id_cnty", "event_date", "time_precision", "event_type", "sub_event_type",
            "actor1", "country", "source", "notes", "timestamp")
# ACLED's own coding of an event, kept in its provenance when the export has the column.
# Not `timestamp`: it dates the version (the source's reported_on), it does not code it.
CODING = ("event_type", "sub_event_type", "disorder_type", "time_precision", "fatalities",
          "inter1", "inter2", "interaction", "civilian_targeting", "latitude", "longitude",
          "geo_precision", "tags")
REVISED = "ACLED revised the record"
# How releases before week dates read time_precision 2: the day given, approximate. Ingesting
# such a record again reads it as its week, which corrects the date held without ACLED having
# revised anything: the correction says so.
DAY_OF_THE_WEEK = "ACLED time_precision 2: within the week of this day"
REREAD = "ACLED time_precision 2 read as the ISO week, not a day in it: ACLED revised nothing"


def week_derivation(day: date) -> str:
    """The derivation of a time_precision 2 date: the day ACLED gave."""
    return f"ACLED time_precision 2: the week of {day.isoformat()}"


@dataclass(frozen=True)
class AcledRow(Row):
    def reason_for(self, held: Content, changes: dict[str, Any]) -> str | None:
        """REREAD when the only change is the date, from a day read the old way to the week of
        that same day: the record is the one ingested before."""
        if (changes.keys() == {"date"} and held.date.derivation == DAY_OF_THE_WEEK
                and changes["date"].derivation == week_derivation(held.date.earliest)):
            return REREAD
        return self.revision_reason


def event_date(text: str, precision: str) -> PartialDate:
    """`event_date` (ISO, or the older `9-May-20`) at ACLED's `time_precision`: 1 the day,
    2 the ISO week containing the day given (approximate: ACLED knows only the week), 3 the
    month."""
    text = text.strip()
    for layout in ("%Y-%m-%d", "%d-%b-%y", "%d %B %Y"):
        try:
            when = datetime.strptime(text, layout).date()
            break
        except ValueError:
            continue
    else:
        raise TimelineError(f"event_date {text!r} is not a date (YYYY-MM-DD or 9-May-20)")
    if precision == "1":
        return PartialDate(when.year, when.month, when.day)
    if precision == "2":
        return PartialDate.week_of(when, approximate=True, derivation=week_derivation(when))
    if precision == "3":
        return PartialDate(when.year, when.month)
    raise TimelineError(f"time_precision {precision!r} is not 1, 2 or 3")


def changed_on(timestamp: str) -> PartialDate:
    """The day (UTC) of ACLED's `timestamp`, seconds since 1970: when this version appeared."""
    try:
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(timestamp))
    except (ValueError, OverflowError):
        raise TimelineError(f"timestamp {timestamp!r} is not seconds since 1970") from None
    return PartialDate(when.year, when.month, when.day)


# ACLED's codebook names a state's own forces and government by the state and the years of the
# regime: "Military Forces of Russia (2000-)", "Police Forces of Ukraine (2019-) Prison
# Guards", "Government of the United States (2021-)". Only these belong to the state: a name
# such as "Civilians (Ukraine)" or "Unidentified Armed Group (Ukraine)" gives where the group
# acts, not whose it is, and "Former Military Forces of ..." no longer acts for the state.
STATE_AGENT = re.compile(
    r"(?:Military Forces|Police Forces|Government) of (?:the )?(?P<state>[^()]+?) \(\d{4}-\d{0,4}\)"
)


def state_of(name: str) -> str | None:
    """The state an actor name of ACLED's says it is the forces or government of, if any."""
    found = STATE_AGENT.match(name)
    return found["state"] if found else None


def named(name: str, country: ActorNeeded) -> tuple[ActorNeeded, ...]:
    """The actors an actor name needs, the one it names last: a state's forces or government
    belong to that state (so its developments count in the state's relationships), which is
    registered first when the store lacks it: the row's own country, codes and all, when it is
    that one."""
    state_name = state_of(name)
    state_id = slug(state_name, "") if state_name else ""
    if not state_id:
        return (ActorNeeded(slug(name, "acled"), name, ActorKind.ORGANISATION, (name,)),)
    state = country if country.actor_id == state_id else ActorNeeded(
        state_id, state_name or "", ActorKind.STATE)
    return state, ActorNeeded(slug(name, "acled"), name, ActorKind.ORGANISATION, (name,),
                              (state_id,))


def row(file: str, line: int, record: dict[str, str]) -> Row | BadRow:
    """One record of an export as a Row, or a BadRow saying why it cannot be one."""
    get = {name: (value or "").strip() for name, value in record.items() if name}.get
    event_id = get("event_id_cnty") or ""
    if not event_id:
        return BadRow(file, line, "event_id_cnty is empty")
    kind = acled_kind(get("event_type") or "", get("sub_event_type") or "")
    if kind is None:
        return BadRow(file, line, f"unknown event_type {get('event_type')!r}")
    if not get("actor1"):
        return BadRow(file, line, "actor1 is empty")
    country = get("country") or ""
    state = ActorNeeded(slug(country, ""), country, ActorKind.STATE,
                        tuple(filter(None, (get("iso3"), get("iso")))))
    needed: list[ActorNeeded] = []
    participants: dict[tuple[str, Role], Participation] = {}

    def take(actors: tuple[ActorNeeded, ...], role: Role) -> None:
        needed.extend(actors)  # a state an actor belongs to comes before it
        actor_id = actors[-1].actor_id
        participants.setdefault((actor_id, role), Participation(actor_id, role))

    take(named(get("actor1") or "", state), Role.SOURCE)
    if get("actor2"):
        take(named(get("actor2") or "", state), Role.TARGET)
    for column in ("assoc_actor_1", "assoc_actor_2"):
        for name in filter(None, (part.strip() for part in (get(column) or "").split(";"))):
            take(named(name, state), Role.PARTICIPANT)
    if state.actor_id:
        take((state,), Role.PARTICIPANT)
    try:
        fatalities = int(get("fatalities") or 0)
        notes = get("notes") or ""
        content = Content(
            kind=kind,
            summary=notes or f"{get('event_type')}: {get('sub_event_type')}.",
            actors=tuple(participants.values()),
            date=event_date(get("event_date") or "", get("time_precision") or ""),
            certainty=Certainty.REPORTED,
            sources=(Source(
                publication=get("source") or "unnamed source",
                attribution=f"ACLED, human-coded from {get('source_scale') or 'its sources'}",
                reported_on=changed_on(get("timestamp") or ""),
                passage=f"ACLED event {event_id} ({get('event_type')}: {get('sub_event_type')});"
                        f" fatalities {fatalities}.",
            ),),
            place=", ".join(filter(None, (get("location"), get("admin1"), country))) or None,
        )
    except ValueError:
        return BadRow(file, line, f"fatalities {get('fatalities')!r} is not a number")
    except TimelineError as error:
        return BadRow(file, line, error.message)
    coding = {name: get(name) or "" for name in CODING if name in record}
    provenance = Provenance(DATASET, event_id, file_name(file), line, coding)
    return AcledRow(content, tuple(dict.fromkeys(needed)), provenance, REVISED)


def rows(path: Path) -> Iterator[Row | BadRow]:
    """The records of an export, by the names in its header line. Bytes that are not UTF-8
    make their record a bad row (they are read as surrogates, then looked for)."""
    for file, binary in members(path):
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape",
                                newline="")
        reader = csv.reader(text)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise IngestError(f"{file}: empty, not an ACLED export") from None
        missing = [name for name in REQUIRED if name not in header]
        if missing:
            raise IngestError(f"{file}: not an ACLED export: no column {', '.join(missing)}")
        line = reader.line_num
        for values in reader:
            line, first = reader.line_num, line + 1  # a record may span lines: cite its first
            if not any(value.strip() for value in values):
                continue
            if any(_undecodable(value) for value in values):
                yield BadRow(file, first, "not UTF-8")
            elif len(values) != len(header):
                yield BadRow(file, first, f"{len(values)} fields, not {len(header)}")
            else:
                yield row(file, first, dict(zip(header, values, strict=True)))


def _undecodable(value: str) -> bool:
    return any("\udc80" <= character <= "\udcff" for character in value)
