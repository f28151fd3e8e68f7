"""The three time axes of every query: the world as of a date, what had been reported by a
date, and what this store had recorded at a moment.

* **World time** (`as_of`): what had happened by that day, with each development's status as
  it stood then (see timeline.relationships for the counting rule).
* **Knowledge time** (`reported_by`): only versions whose sources had been published by that
  day. A development's first version counts from the earliest `reported_on` of its sources; a
  correction, status change or retraction counts from its own source's `reported_on`, or, when
  it was recorded without a source, from the day it was recorded here.
* **Record time** (`known_at`): only what this store had recorded by that moment.

They combine freely: on each development, the version in force is its latest one that was both
reported by `reported_by` and recorded by `known_at`; world time then reads that version as of
`as_of`. A bare date means the same on every axis, over HTTP and on the command line: the whole
of that day (UTC, for `known_at`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any


@dataclass(frozen=True)
class Axes:
    """Where on each time axis a query stands; None on an axis means "now" (everything)."""

    as_of: date | None = None
    reported_by: date | None = None
    known_at: datetime | None = None

    def echo(self) -> dict[str, Any]:
        """The axes as an answer states them, so a reader knows what it was computed for."""
        return {
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "reported_by": None if self.reported_by is None else self.reported_by.isoformat(),
            "known_at": None if self.known_at is None else self.known_at.isoformat(),
        }

    @classmethod
    def given(cls, axes: Axes | None = None, **when: Any) -> Axes:
        """The axes a query was given: `axes`, or its `as_of`, `reported_by` and `known_at`
        keywords (a TypeError names any other)."""
        return axes if axes is not None else cls(**when)

    @property
    def versioned(self) -> bool:
        """Whether a query must pick, per development, an earlier version than its current one."""
        return self.reported_by is not None or self.known_at is not None


NOW = Axes()
AXES = ("as_of", "reported_by", "known_at")  # their names, in queries, URLs and options


# A week without its day, which date.fromisoformat reads as the Monday (`2024-W19`, `2024W19`).
WEEK = re.compile(r"^\d{4}-?W\d{2}$")


def query_day(text: str) -> date:
    """A query's day (YYYY-MM-DD). ValueError when it is not one, and for an ISO week, which
    Python reads as its Monday: a development's date may be a week, but a query's day is one
    day, and `to=2024-W19` read as Monday 6 May would leave out the rest of that week."""
    day = date.fromisoformat(text)
    if WEEK.match(text):
        raise ValueError(f"{text!r} is an ISO week, not a day: give a day (YYYY-MM-DD), such"
                         f" as its Monday {day} or its Sunday {day + timedelta(days=6)}")
    return day


def moment(text: str) -> datetime:
    """A record-time moment: ISO 8601 with a zone, or a bare date meaning the end of that day
    (UTC), as `as_of` and `reported_by` include their whole day. ValueError when it is neither."""
    try:
        return end_of(query_day(text))
    except ValueError:
        if WEEK.match(text):
            raise
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add Z or +00:00")
    return value.astimezone(UTC)


def end_of(day: date) -> datetime:
    """The last microsecond of a day, UTC."""
    return datetime.combine(day + timedelta(days=1), time(), UTC) - timedelta(microseconds=1)
