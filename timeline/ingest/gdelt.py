"""GDELT 2.0 Events export files (tab-separated, no header, 61 columns) as developments.

See docs/ingest.md for the mapping. In short: SQLDATE is the world date (to the day),
DATEADDED the day GDELT saw the event reported (the knowledge-time axis), SOURCEURL the source;
the CAMEO codes give the kind through timeline.vocabulary.CAMEO_KINDS; the key is
`gdelt:GLOBALEVENTID`, so a file ingested twice, or overlapping files, record nothing new.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from timeline.domain import (
    Content,
    PartialDate,
    Participation,
    Provenance,
    Source,
    TimelineError,
)
from timeline.ingest.bulk import ActorNeeded, BadRow, Row, decoded, file_name, lines_of, slug
from timeline.vocabulary import ActorKind, Certainty, Dataset, Role, cameo_kind

DATASET = Dataset.GDELT
ATTRIBUTION = "GDELT 2.0, machine-coded"
COLUMNS = 61

# Column positions, from the GDELT 2.0 Event Codebook.
GLOBALEVENTID, SQLDATE = 0, 1
ACTOR1, ACTOR2 = 5, 15  # each: Code, Name, CountryCode, KnownGroupCode, ... (10 columns)
EVENT_CODE, EVENT_BASE_CODE, EVENT_ROOT_CODE = 26, 27, 28
QUAD_CLASS, GOLDSTEIN, NUM_MENTIONS, NUM_SOURCES, NUM_ARTICLES, AVG_TONE = range(29, 35)
ACTION_GEO_FULLNAME = 52
DATEADDED, SOURCEURL = 59, 60
# GDELT's own coding of an event, kept in its provenance under the codebook's names.
CODING = {"IsRootEvent": 25, "EventCode": EVENT_CODE, "EventBaseCode": EVENT_BASE_CODE,
          "EventRootCode": EVENT_ROOT_CODE, "QuadClass": QUAD_CLASS, "GoldsteinScale": GOLDSTEIN,
          "NumMentions": NUM_MENTIONS, "NumSources": NUM_SOURCES,
          "NumArticles": NUM_ARTICLES, "AvgTone": AVG_TONE}

# CAMEO country codes of the states (and Hong Kong) the seed data registers, as it does.
CAMEO_STATES: dict[str, ActorNeeded] = {
    code: ActorNeeded(actor_id, name, kind, (code,))
    for code, actor_id, name, kind in (
        ("RUS", "russia", "Russia", ActorKind.STATE),
        ("CHN", "china", "China", ActorKind.STATE),
        ("USA", "united-states", "United States", ActorKind.STATE),
        ("UKR", "ukraine", "Ukraine", ActorKind.STATE),
        ("IRN", "iran", "Iran", ActorKind.STATE),
        ("PRK", "north-korea", "North Korea", ActorKind.STATE),
        ("SWE", "sweden", "Sweden", ActorKind.STATE),
        ("HKG", "hong-kong", "Hong Kong", ActorKind.REGION),
    )
}
# CAMEO known-group codes: the organisation each maps to, registered when first named.
CAMEO_GROUPS: dict[str, ActorNeeded] = {
    "NAT": ActorNeeded("nato", "NATO", ActorKind.ORGANISATION, ("NAT",)),
    "EEC": ActorNeeded("european-union", "European Union", ActorKind.BLOC, ("EEC",)),
    "UNO": ActorNeeded("united-nations", "United Nations", ActorKind.ORGANISATION, ("UNO",)),
}

# Machine coding has not been checked by a person: an event is at best "reported", when at
# least this many sources carried it, and "alleged" (counts half) when fewer did.
REPORTED_FROM_SOURCES = 2


def actors(columns: list[str], start: int) -> tuple[ActorNeeded, ...]:
    """The actors a block of ten actor columns needs, the one it names last: none for an
    empty block; a code with a role in a registered state (RUSGOV) needs that state too,
    since it belongs to it (so its developments count in the state's relationships)."""
    code, name, country, group = (columns[start + i].strip() for i in range(4))
    if not code:
        return ()
    if group in CAMEO_GROUPS:
        return (CAMEO_GROUPS[group],)
    state = CAMEO_STATES.get(country)
    # A bare country code is the state; a code with a role (RUSGOV, USAMIL) is its own actor.
    if code == country and state is not None:
        return (state,)
    kind = ActorKind.STATE if code == country else ActorKind.ORGANISATION
    aliases = tuple(dict.fromkeys(filter(None, (code, name))))
    # GDELT names a role by its country (RUSGOV is "RUSSIA"): the code in the name keeps
    # Russia's government from showing as a second "Russia" beside the state.
    title = name.title() if kind is ActorKind.STATE else f"{name.title()} ({code})"
    named = ActorNeeded(slug(code, "cameo"), title if name else code, kind, aliases,
                        () if state is None else (state.actor_id,))
    return (named,) if state is None else (state, named)


def day(text: str, column: str) -> PartialDate:
    """A PartialDate to the day from YYYYMMDD (or the first 8 digits of YYYYMMDDHHMMSS)."""
    if not (text[:8].isdigit() and len(text) in (8, 14)):
        raise TimelineError(f"{column} {text!r} is not a date (YYYYMMDD)")
    try:
        return PartialDate(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except TimelineError as error:
        raise TimelineError(f"{column} {text!r}: {error.message}") from None


def row(file: str, line: int, text: str) -> Row | BadRow:
    """One line of an export file as a Row, or a BadRow saying why it cannot be one."""
    columns = text.split("\t")
    if len(columns) != COLUMNS:
        return BadRow(file, line, f"{len(columns)} columns, not {COLUMNS}")
    event_id = columns[GLOBALEVENTID].strip()
    if not event_id.isdigit():
        return BadRow(file, line, f"GLOBALEVENTID {event_id!r} is not a number")
    codes = [columns[i].strip() for i in (EVENT_CODE, EVENT_BASE_CODE, EVENT_ROOT_CODE)]
    kind = cameo_kind(*codes)
    if kind is None:
        return BadRow(file, line, f"unknown CAMEO code {codes[0]!r} (root {codes[2]!r})")
    source_needs, target_needs = actors(columns, ACTOR1), actors(columns, ACTOR2)
    source_actor = source_needs[-1] if source_needs else None
    target_actor = target_needs[-1] if target_needs else None
    if source_actor is None and target_actor is None:
        return BadRow(file, line, "neither Actor1Code nor Actor2Code is given")
    url = columns[SOURCEURL].strip()
    try:
        sources = int(columns[NUM_SOURCES] or 0)
        coding = ", ".join(
            f"{name} {columns[i].strip()}"
            for name, i in (("EventCode", EVENT_CODE), ("QuadClass", QUAD_CLASS),
                            ("GoldsteinScale", GOLDSTEIN), ("NumMentions", NUM_MENTIONS),
                            ("NumSources", NUM_SOURCES), ("NumArticles", NUM_ARTICLES),
                            ("AvgTone", AVG_TONE))
        )
        participants = tuple(
            Participation(needed.actor_id, role)
            for needed, role in ((source_actor, Role.SOURCE), (target_actor, Role.TARGET))
            if needed is not None
        )
        names = " and ".join(columns[start + 1].strip() or columns[start].strip()
                             for start in (ACTOR1, ACTOR2) if columns[start].strip())
        content = Content(
            kind=kind,
            summary=f"{names}: CAMEO {codes[0]} ({kind.value.replace('_', ' ')}),"
                    f" as GDELT coded it.",
            actors=participants,
            date=day(columns[SQLDATE].strip(), "SQLDATE"),
            certainty=Certainty.REPORTED if sources >= REPORTED_FROM_SOURCES
            else Certainty.ALLEGED,
            sources=(Source(
                publication=urlsplit(url).hostname or "unknown publication",
                attribution=ATTRIBUTION,
                reported_on=day(columns[DATEADDED].strip(), "DATEADDED"),
                passage=f"GDELT event {event_id}: {coding}.",
                url=url or None,
            ),),
            place=columns[ACTION_GEO_FULLNAME].strip() or None,
        )
    except ValueError:
        return BadRow(file, line, f"NumSources {columns[NUM_SOURCES]!r} is not a number")
    except TimelineError as error:
        return BadRow(file, line, error.message)
    needed = tuple(dict.fromkeys((*source_needs, *target_needs)))
    coding = {name: columns[i].strip() for name, i in CODING.items()}
    return Row(content, needed, Provenance(DATASET, event_id, file_name(file), line, coding))


def rows(path: Path) -> Iterator[Row | BadRow]:
    """The rows of an export file (.CSV, or each file inside a .zip)."""
    for file, line, raw in lines_of(path):
        try:
            text = decoded(raw)
        except UnicodeDecodeError as error:
            yield BadRow(file, line, f"not UTF-8 at byte {error.start}")
            continue
        if text.strip():
            yield row(file, line, text)
