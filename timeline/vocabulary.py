"""The controlled vocabulary: the one table of kinds, statuses, certainties and roles.

Development kinds are modelled on CAMEO (Conflict and Mediation Event Observations) and its
successor PLOVER. Each kind carries a cooperation/conflict weight on a Goldstein-like scale from
-10 (most conflictual) to +10 (most cooperative); the weights are the ones the relationship
projection uses, and this module is the only place they are written down.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

E = TypeVar("E", bound=Enum)


def by_value(enum: type[E]) -> dict[Any, E]:
    """An enum's members by value. Values read back from the store are trusted, and a dict
    lookup is several times cheaper than calling the enum, on every event and every query."""
    return {member.value: member for member in enum}


class Term(Enum):
    """A term of the vocabulary. Its members compare by identity, as every Enum's do, and are
    hashed by it too: Enum's own __hash__ (of the member's name) runs Python code, and a
    relationship query looks members up in dicts and sets tens of thousands of times."""

    __hash__ = object.__hash__


class ActorKind(Term):
    STATE = "state"
    PERSON = "person"
    ORGANISATION = "organisation"
    REGION = "region"  # a region or territory that is not a state (Hong Kong, Central Asia)
    BLOC = "bloc"  # a group of states acting together (the EU, "European allies")


class Role(Term):
    """An actor's part in a development, after CAMEO's source and target actors."""

    SOURCE = "source"  # who acts
    TARGET = "target"  # on whom, or towards whom
    PARTICIPANT = "participant"  # takes part without being either (a host, a co-signatory)


class Status(Term):
    PLANNED = "planned"
    OCCURRED = "occurred"
    ONGOING = "ongoing"
    CANCELLED = "cancelled"


# Which lifecycle moves make sense. Occurred and cancelled are final: a development that
# happened cannot become planned again; a wrong status is fixed by a correction instead.
STATUS_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PLANNED: frozenset({Status.OCCURRED, Status.ONGOING, Status.CANCELLED}),
    Status.ONGOING: frozenset({Status.OCCURRED, Status.CANCELLED}),
    Status.OCCURRED: frozenset(),
    Status.CANCELLED: frozenset(),
}


class Dataset(Term):
    """Where a development came from: the `dataset` of the API, the CLI and the docs."""

    SEED = "seed"  # the sourced seed files (seeds/)
    MANUAL = "manual"  # recorded by hand, through the API or the command line
    GDELT = "gdelt"  # ingested from GDELT 2.0 Events exports
    ACLED = "acled"  # ingested from ACLED CSV exports


class Certainty(Term):
    CONFIRMED = "confirmed"  # on the record: official statements, documents, observed fact
    REPORTED = "reported"  # reported by named or anonymous sources, not independently confirmed
    ALLEGED = "alleged"  # claimed by an interested party
    ASSESSMENT = "assessment"  # an analyst's or journalist's judgement


class Kind(Term):
    PUBLIC_STATEMENT = "public_statement"
    APPEAL = "appeal"
    CONSULTATION = "consultation"
    VISIT = "visit"
    AGREEMENT = "agreement"
    MATERIAL_SUPPORT = "material_support"
    MILITARY_AID = "military_aid"
    ARMS_DEAL = "arms_deal"
    SANCTIONS = "sanctions"
    SANCTIONS_EVASION = "sanctions_evasion"
    RESTRAINT = "restraint"
    ARMED_ATTACK = "armed_attack"
    COMBAT = "combat"
    TERRITORIAL_GAIN = "territorial_gain"
    PRODUCTION_CHANGE = "production_change"
    SUPPLY_SHORTFALL = "supply_shortfall"
    ASSESSMENT = "assessment"


class TieKind(Term):
    """The bonds between two actors that developments open."""

    WAR = "war"
    PARTNERSHIP = "partnership"
    MILITARY_SUPPLY = "military_supply"
    MATERIAL_SUPPLY = "material_supply"
    ARMS_DEAL = "arms_deal"
    SANCTIONS = "sanctions"
    EVASION_ROUTE = "evasion_route"
    DIPLOMATIC_CHANNEL = "diplomatic_channel"


# Ties that bind both sides alike; the others keep their direction (who supplies whom).
MUTUAL_TIES = frozenset({TieKind.PARTNERSHIP, TieKind.DIPLOMATIC_CHANNEL})


class Stance(Term):
    """One label for a relationship, on an ordered scale from alliance down to war."""

    ALLIANCE = "alliance"
    PARTNERSHIP = "partnership"
    COOPERATION = "cooperation"
    NEUTRAL = "neutral"
    TENSION = "tension"
    HOSTILITY = "hostility"
    WAR = "war"


# How much a development counts in a relationship's score, by how sure it is.
CERTAINTY_FACTORS: dict[Certainty, float] = {
    Certainty.CONFIRMED: 1.0,
    Certainty.REPORTED: 0.75,
    Certainty.ALLEGED: 0.5,
    Certainty.ASSESSMENT: 0.25,
}


@dataclass(frozen=True)
class KindSpec:
    label: str
    cameo: str  # the nearest CAMEO root or code, or PLOVER category, for mapping to other data
    weight: float  # Goldstein-like, -10..+10
    tie: TieKind | None  # the tie a development of this kind opens, if any
    description: str


KINDS: dict[Kind, KindSpec] = {
    Kind.PUBLIC_STATEMENT: KindSpec(
        "Public statement", "CAMEO 01", 0.0, None,
        "A statement, warning or claim made in public or to the press.",
    ),
    Kind.APPEAL: KindSpec(
        "Appeal or courting", "CAMEO 02", 3.0, None,
        "Seeking another actor's support, favour or cooperation.",
    ),
    Kind.CONSULTATION: KindSpec(
        "Consultation or meeting", "CAMEO 04", 3.0, TieKind.DIPLOMATIC_CHANNEL,
        "Talks, meetings, briefings and negotiations between actors.",
    ),
    Kind.VISIT: KindSpec(
        "Visit", "CAMEO 042/043", 3.0, TieKind.DIPLOMATIC_CHANNEL,
        "An official trip to another actor's territory, or hosting one.",
    ),
    Kind.AGREEMENT: KindSpec(
        "Agreement or partnership", "CAMEO 057", 8.0, TieKind.PARTNERSHIP,
        "Signing or declaring an agreement, partnership or alliance.",
    ),
    Kind.MATERIAL_SUPPORT: KindSpec(
        "Material support", "CAMEO 07", 6.0, TieKind.MATERIAL_SUPPLY,
        "Supplying goods, components, technology or data, including dual-use items.",
    ),
    Kind.MILITARY_AID: KindSpec(
        "Military aid", "CAMEO 074", 8.0, TieKind.MILITARY_SUPPLY,
        "Supplying weapons, ammunition or military assistance.",
    ),
    Kind.ARMS_DEAL: KindSpec(
        "Arms deal", "CAMEO 061 / PLOVER COOPERATE", 7.0, TieKind.ARMS_DEAL,
        "A deal to buy or sell weapons or munitions.",
    ),
    Kind.SANCTIONS: KindSpec(
        "Sanctions", "CAMEO 163", -8.0, TieKind.SANCTIONS,
        "Imposing sanctions, embargoes or secondary sanctions.",
    ),
    Kind.SANCTIONS_EVASION: KindSpec(
        "Sanctions-evasion route", "PLOVER OTHER (trade)", 2.0, TieKind.EVASION_ROUTE,
        "A route or intermediary through which sanctioned goods reach an actor.",
    ),
    Kind.RESTRAINT: KindSpec(
        "Restraint or distancing", "CAMEO 12", -1.0, None,
        "Holding back, or being reluctant to be seen giving, support.",
    ),
    Kind.ARMED_ATTACK: KindSpec(
        "Armed attack or invasion", "CAMEO 19/190", -10.0, TieKind.WAR,
        "Use of conventional military force against another actor, an invasion.",
    ),
    Kind.COMBAT: KindSpec(
        "Combat", "CAMEO 19", -10.0, TieKind.WAR,
        "Fighting, shelling and fire superiority on a front line.",
    ),
    Kind.TERRITORIAL_GAIN: KindSpec(
        "Territorial gain", "CAMEO 192", -9.0, TieKind.WAR,
        "Taking or occupying another actor's territory.",
    ),
    Kind.PRODUCTION_CHANGE: KindSpec(
        "Production change", "PLOVER OTHER (economic)", 0.0, None,
        "A change in an actor's own industrial or military production.",
    ),
    Kind.SUPPLY_SHORTFALL: KindSpec(
        "Supply shortfall", "CAMEO 16 (unintended)", -2.0, None,
        "Failing or struggling to deliver promised supplies.",
    ),
    Kind.ASSESSMENT: KindSpec(
        "Assessment", "none", 0.0, None,
        "An analyst's judgement about the state of affairs; shapes no tie by itself.",
    ),
}

assert set(KINDS) == set(Kind), "every kind needs its row in KINDS"


# --- event datasets: their codes to our kinds ----------------------------------------------

# CAMEO codes (GDELT's EventCode, EventBaseCode, EventRootCode) to kinds. Codes are strings:
# "040" is not 40. The most specific code listed wins, so a root gives the default for its
# family and a longer code an exception to it. Every one of CAMEO's 20 roots is here.
CAMEO_KINDS: dict[str, Kind] = {
    "01": Kind.PUBLIC_STATEMENT,  # make public statement
    "02": Kind.APPEAL,  # appeal
    "03": Kind.APPEAL,  # express intent to cooperate
    "04": Kind.CONSULTATION,  # consult
    "042": Kind.VISIT,  # make a visit
    "043": Kind.VISIT,  # host a visit
    "05": Kind.CONSULTATION,  # engage in diplomatic cooperation
    "057": Kind.AGREEMENT,  # sign formal agreement
    "06": Kind.MATERIAL_SUPPORT,  # engage in material cooperation
    "07": Kind.MATERIAL_SUPPORT,  # provide aid
    "074": Kind.MILITARY_AID,  # provide military protection or peacekeeping
    "08": Kind.RESTRAINT,  # yield
    "09": Kind.ASSESSMENT,  # investigate
    "10": Kind.PUBLIC_STATEMENT,  # demand
    "11": Kind.PUBLIC_STATEMENT,  # disapprove
    "12": Kind.RESTRAINT,  # reject
    "13": Kind.PUBLIC_STATEMENT,  # threaten
    "14": Kind.PUBLIC_STATEMENT,  # protest
    "15": Kind.PUBLIC_STATEMENT,  # exhibit force posture: a signal, not yet force
    "16": Kind.RESTRAINT,  # reduce relations
    "163": Kind.SANCTIONS,  # impose embargo, boycott or sanctions
    "17": Kind.SANCTIONS,  # coerce
    "18": Kind.ARMED_ATTACK,  # assault
    "19": Kind.COMBAT,  # fight
    "192": Kind.TERRITORIAL_GAIN,  # occupy territory
    "20": Kind.ARMED_ATTACK,  # use unconventional mass violence
}
CAMEO_ROOTS = tuple(f"{root:02d}" for root in range(1, 21))


def cameo_kind(*codes: str) -> Kind | None:
    """The kind of the most specific of these CAMEO codes that the table lists (pass the
    event code, its base code and its root code), or None when none is listed."""
    for code in sorted(codes, key=len, reverse=True):
        if code in CAMEO_KINDS:
            return CAMEO_KINDS[code]
    return None


# ACLED's event types, and the sub-event types that differ from their type, to kinds.
ACLED_EVENT_KINDS: dict[str, Kind] = {
    "Battles": Kind.COMBAT,
    "Explosions/Remote violence": Kind.ARMED_ATTACK,
    "Violence against civilians": Kind.ARMED_ATTACK,
    "Protests": Kind.PUBLIC_STATEMENT,
    "Riots": Kind.COMBAT,
    "Strategic developments": Kind.ASSESSMENT,
}
ACLED_SUB_EVENT_KINDS: dict[str, Kind] = {
    "Government regains territory": Kind.TERRITORIAL_GAIN,
    "Non-state actor overtakes territory": Kind.TERRITORIAL_GAIN,
    "Agreement": Kind.AGREEMENT,
    "Arrests": Kind.RESTRAINT,
}


def acled_kind(event_type: str, sub_event_type: str) -> Kind | None:
    """The kind of an ACLED event, or None for an event type ACLED does not have."""
    if event_type not in ACLED_EVENT_KINDS:
        return None
    return ACLED_SUB_EVENT_KINDS.get(sub_event_type, ACLED_EVENT_KINDS[event_type])
