"""The wire format: marshmallow schemas shared by the seed files, the CLI and the HTTP API.

Loading a schema gives domain value objects (Content, Source, PartialDate); dumping one gives
plain JSON values. Domain rules broken while loading come back as marshmallow errors that name
the field, so every entry point reports bad input the same way.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from types import SimpleNamespace
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from timeline.domain import (
    CONTENT_FIELDS,
    DATE_FORMS,
    LANGUAGE_TAG,
    PRECISIONS,
    SLUG,
    Content,
    InvalidInput,
    PartialDate,
    Participation,
    Provenance,
    Source,
)
from timeline.vocabulary import (
    ActorKind,
    Certainty,
    Dataset,
    Kind,
    Role,
    Stance,
    Status,
    TieKind,
)

# The longest each text may be, in characters, and the most entries each list may hold: a
# summary is a sentence, a passage or a quote a paragraph, a name a few words. Written only here:
# the schemas below enforce them (a 422 naming the field), OpenAPI shows them (maxLength,
# maxItems), and seed files pass through the same schemas. The list limits also bound the work
# a single development makes: its pairs grow with the square of its actors.
MAX_LENGTH: dict[str, int] = {
    "summary": 500,
    "passage": 4000,
    "quote": 2000,
    "reason": 1000,
    "derivation": 1000,
    "attribution": 500,
    "publication": 200,
    "place": 200,
    "item": 200,
    "name": 200,
    "alias": 200,
    "actor_id": 100,  # an actor's id, wherever one is named
    "url": 2000,
    "language": 35,  # a BCP 47 tag: a language, its script, region and a variant fit
}
MAX_ITEMS: dict[str, int] = {
    "actors": 50,
    "sources": 20,
    "items": 50,
    "aliases": 50,
    "belongs_to": 20,
}


def length(name: str) -> validate.Length:
    """Non-empty, and at most the limit for `name` in MAX_LENGTH."""
    return validate.Length(min=1, max=MAX_LENGTH[name], error="1 to {max} characters")


def count(name: str, at_least: int = 0) -> validate.Length:
    """At least `at_least` entries, and at most the limit for `name` in MAX_ITEMS."""
    return validate.Length(min=at_least, max=MAX_ITEMS[name], error="{min} to {max} entries")


ACTOR_ID_FIELD = [validate.Regexp(SLUG), length("actor_id")]


class Strict(Schema):
    """Unknown fields are errors: a typo in a seed file or request must not pass silently."""

    class Meta:
        unknown = RAISE


class PartialDateField(fields.Field):
    """A partial date: `"2024-05"` (or a year, a day, an ISO week `"2024-W19"`), or
    `{"value": "2024-05", "approximate": true, "derivation": "..."}` when it is loose or worked
    out from a relative date.

    Dumps always as the object, with its `precision` spelled out.
    """

    # What is accepted, as far as a pattern can say: years 0001-9999, months 01-12, days
    # 01-31, ISO weeks W01-W53, in ASCII digits. Whether the day exists in that month, or the
    # week 53 in that year, is checked on loading.
    PATTERN = (
        r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
        r"(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?|-W(0[1-9]|[1-4][0-9]|5[0-3]))?$"
    )

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "description": f"{DATE_FORMS} (an ISO 8601 week), or an object with that value",
            "oneOf": [
                {"type": "string", "pattern": self.PATTERN},
                {
                    "type": "object",
                    "properties": {
                        "value": {"type": "string", "pattern": self.PATTERN},
                        "approximate": {"type": "boolean"},
                        "derivation": {
                            "type": ["string", "null"], "maxLength": MAX_LENGTH["derivation"],
                        },
                        "precision": {"type": "string", "enum": list(PRECISIONS)},
                    },
                    "required": ["value"],
                    "additionalProperties": False,
                },
            ],
        }
        if kwargs.get("allow_none"):
            metadata["oneOf"].append({"type": "null"})
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value: PartialDate | None, attr: Any, obj: Any, **kwargs: Any):
        return dump_date(value)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> PartialDate:
        if isinstance(value, str):
            text, approximate, derivation = value, False, None
        elif isinstance(value, dict):
            unknown = set(value) - {"value", "approximate", "derivation", "precision"}
            if unknown:
                raise ValidationError(f"unknown date fields: {', '.join(sorted(unknown))}")
            text = value.get("value")
            approximate = value.get("approximate", False)
            derivation = value.get("derivation")
            if not isinstance(text, str):
                raise ValidationError(f"a date needs a value: {DATE_FORMS}")
            if not isinstance(approximate, bool):
                raise ValidationError("approximate must be true or false")
            if derivation is not None and not isinstance(derivation, str):
                raise ValidationError("derivation must be text")
            if derivation is not None and len(derivation) > MAX_LENGTH["derivation"]:
                raise ValidationError(
                    f"derivation: 1 to {MAX_LENGTH['derivation']} characters"
                )
        else:
            raise ValidationError(f"a date is {DATE_FORMS} or an object")
        try:
            parsed = PartialDate.parse(text, approximate=approximate, derivation=derivation)
        except InvalidInput as error:
            raise ValidationError(error.message) from None
        if not re.match(self.PATTERN, text):  # what the domain reads more leniently
            raise ValidationError(f"{text!r} is not a date: use {DATE_FORMS}")
        if isinstance(value, dict) and value.get("precision", parsed.precision) != parsed.precision:
            raise ValidationError(f"precision {value['precision']!r} does not match {text!r}")
        return parsed


class SourceSchema(Strict):
    publication = fields.String(required=True, validate=length("publication"))
    attribution = fields.String(required=True, validate=length("attribution"))
    reported_on = PartialDateField(required=True)
    passage = fields.String(required=True, validate=length("passage"))
    url = fields.Url(load_default=None, allow_none=True, validate=length("url"))
    language = fields.String(
        load_default=None, allow_none=True,
        validate=[length("language"), validate.Regexp(
            LANGUAGE_TAG, error="not a language tag: use BCP 47, such as en, zh or pt-BR")],
        metadata={"description": "The BCP 47 tag of the passage's language (en, zh, ru);"
                                 " null when not recorded."},
    )

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Source:
        return Source(**data)


class ParticipationSchema(Strict):
    actor = fields.String(required=True, validate=ACTOR_ID_FIELD)
    role = fields.Enum(Role, by_value=True, required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Participation:
        return Participation(**data)


class ContentSchema(Strict):
    """Everything a development says; the fields a correction may change."""

    kind = fields.Enum(Kind, by_value=True, required=True)
    summary = fields.String(required=True, validate=length("summary"))
    actors = fields.List(
        fields.Nested(ParticipationSchema), required=True, validate=count("actors", 1)
    )
    date = PartialDateField(required=True)
    certainty = fields.Enum(Certainty, by_value=True, required=True)
    sources = fields.List(
        fields.Nested(SourceSchema), required=True, validate=count("sources", 1)
    )
    planned_for = PartialDateField(load_default=None, allow_none=True)
    place = fields.String(load_default=None, allow_none=True, validate=length("place"))
    items = fields.List(
        fields.String(validate=length("item")), load_default=list, validate=count("items")
    )
    quote = fields.String(load_default=None, allow_none=True, validate=length("quote"))

    @post_load
    def make(self, data: dict[str, Any], *, partial: Any = None, **_: Any) -> Any:
        if partial:
            return data  # a correction: a dict of the changed fields only
        return build(Content, data)


class DevelopmentInputSchema(ContentSchema):
    """A development as submitted for recording."""

    status = fields.Enum(Status, by_value=True, load_default=Status.OCCURRED)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Any:
        status = data.pop("status")
        content = build(Content, data)
        if status is Status.PLANNED and content.planned_for is None:
            raise ValidationError({"planned_for": ["a planned development needs planned_for"]})
        return SimpleNamespace(content=content, status=status)


class CorrectionSchema(Strict):
    # Partial by field name, not `partial=True`: that would also excuse the required fields
    # of each source or actor inside the changes.
    changes = fields.Nested(ContentSchema(partial=CONTENT_FIELDS), required=True)
    reason = fields.String(required=True, validate=length("reason"))
    source = fields.Nested(SourceSchema, required=True)

    @validates_schema
    def has_changes(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("changes"):
            raise ValidationError("a correction must change at least one field", "changes")


class StatusChangeSchema(Strict):
    status = fields.Enum(Status, by_value=True, required=True)
    reason = fields.String(required=True, validate=length("reason"))
    source = fields.Nested(SourceSchema, load_default=None, allow_none=True)
    date = PartialDateField(load_default=None, allow_none=True)


class RetractionSchema(Strict):
    reason = fields.String(required=True, validate=length("reason"))
    source = fields.Nested(SourceSchema, load_default=None, allow_none=True)


class ActorSchema(Strict):
    id = fields.String(required=True, validate=ACTOR_ID_FIELD)
    name = fields.String(required=True, validate=length("name"))
    kind = fields.Enum(ActorKind, by_value=True, required=True)
    aliases = fields.List(
        fields.String(validate=length("alias")), load_default=list, validate=count("aliases")
    )
    belongs_to = fields.List(
        fields.String(validate=ACTOR_ID_FIELD), load_default=list, validate=count("belongs_to")
    )


# --- what the service returns (documents the plain values the queries produce) ---------------


class PartialDateOut(Schema):
    value = fields.String(required=True)
    precision = fields.String(required=True, validate=validate.OneOf(PRECISIONS))
    approximate = fields.Boolean(required=True)
    derivation = fields.String(required=True, allow_none=True)


class SourceOut(Schema):
    publication = fields.String(required=True)
    attribution = fields.String(required=True)
    reported_on = fields.Nested(PartialDateOut, required=True)
    passage = fields.String(required=True)
    url = fields.String(required=True, allow_none=True)
    language = fields.String(required=True, allow_none=True)


class ParticipationOut(Schema):
    actor = fields.String(required=True)
    role = fields.Enum(Role, by_value=True, required=True)


class ActorOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.Enum(ActorKind, by_value=True, required=True)
    aliases = fields.List(fields.String(), required=True)
    belongs_to = fields.List(fields.String(), required=True)
    version = fields.Integer(required=True)


class ProvenanceOut(Schema):
    """The dataset record an ingested development came from (see docs/ingest.md)."""

    dataset = fields.Enum(Dataset, by_value=True, required=True)
    record_id = fields.String(required=True, metadata={
        "description": "The dataset's own id of the record (GLOBALEVENTID, event_id_cnty)"})
    file = fields.String(required=True, metadata={
        "description": "The file it was read from (`archive.zip!member` inside a zip)"})
    line = fields.Integer(required=True, metadata={"description": "Its line in that file"})
    coding = fields.Dict(keys=fields.String(), values=fields.String(), required=True, metadata={
        "description": "The dataset's own coding of the record, as the file states it"})


class DevelopmentOut(Schema):
    """A version of a development: its content, status and when it was recorded."""

    id = fields.UUID(required=True)
    key = fields.String(required=True, allow_none=True)
    dataset = fields.Enum(Dataset, by_value=True, required=True, metadata={
        "description": "Where it came from: `seed` data, recorded by hand (`manual`), or "
                       "ingested from `gdelt` or `acled`"})
    provenance = fields.Nested(ProvenanceOut, required=True, allow_none=True, metadata={
        "description": "For an ingested development, the record it came from (the latest "
                       "that revised it); null otherwise"})
    version = fields.Integer(required=True)
    recorded_at = fields.String(required=True, metadata={"format": "date-time"})
    status = fields.Enum(Status, by_value=True, required=True)
    retracted = fields.Boolean(required=True)
    ended = fields.Nested(PartialDateOut, required=True, allow_none=True)
    kind = fields.Enum(Kind, by_value=True, required=True)
    summary = fields.String(required=True)
    actors = fields.List(fields.Nested(ParticipationOut), required=True)
    date = fields.Nested(PartialDateOut, required=True)
    certainty = fields.Enum(Certainty, by_value=True, required=True)
    sources = fields.List(fields.Nested(SourceOut), required=True)
    planned_for = fields.Nested(PartialDateOut, required=True, allow_none=True)
    place = fields.String(required=True, allow_none=True)
    items = fields.List(fields.String(), required=True)
    quote = fields.String(required=True, allow_none=True)


class SourceRefOut(Schema):
    publication = fields.String(required=True)
    attribution = fields.String(required=True)


class DevelopmentRefOut(Schema):
    id = fields.String(required=True)
    kind = fields.Enum(Kind, by_value=True, required=True)
    date = fields.String(required=True)
    summary = fields.String(required=True)
    sources = fields.List(fields.Nested(SourceRefOut), required=True)


class ExpectedOut(DevelopmentRefOut):
    planned_for = fields.String(required=True)


class CountedOut(DevelopmentRefOut):
    contribution = fields.Float(
        required=True,
        metadata={"description": "Its kind's weight times its certainty factor: what it adds "
                                 "to the sum behind the score"},
    )


class AxesOut(Schema):
    """The time axes an answer was computed for (null: now)."""

    as_of = fields.Date(required=True, allow_none=True)
    reported_by = fields.Date(required=True, allow_none=True)
    known_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})


class TieOutlineOut(Schema):
    """A tie as a list of relationships shows it: the pair's own query adds its items and the
    developments behind it."""

    kind = fields.Enum(TieKind, by_value=True, required=True)
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True)
    mutual = fields.Boolean(required=True)
    since = fields.String(required=True)
    until = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    certainty = fields.Enum(Certainty, by_value=True, required=True)


class TieOut(TieOutlineOut):
    """A tie of a pair's state: its outline, the items it carries and the ids of the
    developments behind it."""

    items = fields.List(fields.String(), required=True)
    developments = fields.List(fields.String(), required=True)


class CountsOut(Schema):
    developments = fields.Integer(required=True, metadata={
        "description": "Developments that count in the score"})
    expected = fields.Integer(required=True, metadata={
        "description": "Planned developments expected"})
    possible = fields.Integer(required=True, metadata={
        "description": "Developments begun but not yet certain"})


class RelationshipOutlineOut(Schema):
    """A pair as a list shows it: stance, score, ties, and how many developments are behind
    them, in a size that does not grow with the pair's history. Its developments are in
    `GET /relationships/{a}/{b}`."""

    pair = fields.List(fields.String(), required=True, validate=validate.Length(equal=2))
    stance = fields.Enum(Stance, by_value=True, required=True)
    score = fields.Float(required=True, validate=validate.Range(-10, 10))
    ties = fields.List(fields.Nested(TieOutlineOut), required=True)
    counts = fields.Nested(CountsOut, required=True)


class RelationshipOut(Schema):
    pair = fields.List(fields.String(), required=True, validate=validate.Length(equal=2))
    stance = fields.Enum(Stance, by_value=True, required=True)
    score = fields.Float(required=True, validate=validate.Range(-10, 10))
    ties = fields.List(fields.Nested(TieOut), required=True)
    developments = fields.List(fields.Nested(CountedOut), required=True)
    expected = fields.List(fields.Nested(ExpectedOut), required=True)
    possible = fields.List(fields.Nested(DevelopmentRefOut), required=True, metadata={
        "description": "Begun by `as_of` but not yet certain then: neither counted nor hidden"})
    axes = fields.Nested(AxesOut)


class ChangeOut(Schema):
    from_ = fields.Raw(required=True, data_key="from")
    to = fields.Raw(required=True)


class StepOut(Schema):
    """One step of a replay: a development that changed a pair, and what it changed. In world
    order the event is where the development came to stand; in reported order it is
    `reported`, with the version reported and its standing in the pair before and after."""

    date = fields.Date(required=True)
    pair = fields.List(fields.String(), required=True)
    event = fields.String(required=True, validate=validate.OneOf(
        ["counts", "ends", "expected", "possible", "withdrawn", "reported"]))
    version = fields.Integer()
    standing = fields.Nested(ChangeOut)
    development = fields.Nested(DevelopmentRefOut, required=True)
    ties_opened = fields.List(fields.List(fields.String()), required=True)
    ties_closed = fields.List(fields.List(fields.String()), required=True)
    stance = fields.Nested(ChangeOut, required=True)
    score = fields.Nested(ChangeOut, required=True)


class ReadModelOut(Schema):
    """Where the read model stood when it answered, behind the log."""

    position = fields.Integer(required=True, metadata={
        "description": "The last log position it had applied: the answer reflects every "
                       "event up to it"})
    lag = fields.Integer(required=True, metadata={
        "description": "Events in the log beyond `position`, which a background projector "
                       "is applying"})


class FromView(Schema):
    """An answer of the read model, which says so when the read model was behind the log."""

    read_model = fields.Nested(ReadModelOut, metadata={
        "description": "Only when the read model had not applied the whole log: the answer "
                       "came at once, from the read model as it stood (see the "
                       "Timeline-Position and Timeline-Lag headers, and `min_position`)"})


class ActorViewOut(ActorOut, FromView):
    """An actor, as the read model answers for it."""


class RelationshipViewOut(RelationshipOut, FromView):
    """A pair's relationship, as the read model answers for it."""


class ActorListOut(FromView):
    actors = fields.List(fields.Nested(ActorOut), required=True)
    next = fields.String(required=True, allow_none=True)


class DevelopmentAsOfOut(DevelopmentOut):
    standing = fields.String(allow_none=True, validate=validate.OneOf(
        ["counts", "expected", "possible"]), metadata={
        "description": "With `as_of`: where it stood on that date (null: cancelled)"})


class DevelopmentListOut(FromView):
    developments = fields.List(fields.Nested(DevelopmentAsOfOut), required=True)
    next = fields.String(required=True, allow_none=True)
    axes = fields.Nested(AxesOut, required=True)


class RelationshipListOut(FromView):
    relationships = fields.List(fields.Nested(RelationshipOutlineOut), required=True)
    next = fields.String(required=True, allow_none=True)
    axes = fields.Nested(AxesOut, required=True)


class StepListOut(FromView):
    steps = fields.List(fields.Nested(StepOut), required=True)
    next = fields.String(required=True, allow_none=True)
    order = fields.String(required=True, validate=validate.OneOf(["happened", "reported"]))
    axes = fields.Nested(AxesOut, required=True)


def build(cls: type, data: dict[str, Any]) -> Any:
    """Construct a domain value, turning its invariant errors into field errors."""
    try:
        return cls(**data)
    except InvalidInput as error:
        raise ValidationError({error.field or "_schema": [error.message]}) from None


@cache
def content_schema(only: tuple[str, ...] | None = None) -> ContentSchema:
    # Building a schema deep-copies its fields: far dearer than dumping with it.
    return ContentSchema(only=only)


def dump_content(content: Content | dict[str, Any]) -> dict[str, Any]:
    """Plain values of a development's content, or of the fields a correction changed."""
    if isinstance(content, dict):
        return content_schema(tuple(content)).dump(SimpleNamespace(**content))
    # By hand, field for field as ContentSchema dumps it (a test holds the two equal): the
    # read model dumps every version of every development, and marshmallow took a quarter of
    # a rebuild's time.
    return {
        "kind": content.kind.value,
        "summary": content.summary,
        "actors": [{"actor": p.actor, "role": p.role.value} for p in content.actors],
        "date": dump_date(content.date),
        "certainty": content.certainty.value,
        "sources": [dump_source(source) for source in content.sources],
        "planned_for": dump_date(content.planned_for),
        "place": content.place,
        "items": list(content.items),
        "quote": content.quote,
    }


def dump_date(value: PartialDate | None) -> dict[str, Any] | None:
    return None if value is None else {
        "value": str(value),
        "precision": value.precision,
        "approximate": value.approximate,
        "derivation": value.derivation,
    }


def dump_development(development: Any, recorded_at: datetime) -> dict[str, Any]:
    """A version of a development as plain values; `recorded_at` is when it was recorded."""
    return {
        "id": str(development.id),
        "key": development.key,
        "dataset": development.dataset.value,
        "provenance": dump_provenance(development.provenance),
        "version": development.version,
        "recorded_at": recorded_at.isoformat(),
        "status": development.status.value,
        "retracted": development.retracted,
        "ended": dump_date(development.ended),
        **dump_content(development.content),
    }


def dump_provenance(provenance: Provenance | None) -> dict[str, Any] | None:
    """Plain values of a provenance, by hand as ProvenanceOut dumps it (see dump_content)."""
    return None if provenance is None else {
        "dataset": provenance.dataset.value,
        "record_id": provenance.record_id,
        "file": provenance.file,
        "line": provenance.line,
        "coding": dict(provenance.coding),
    }


def dump_source(source: Source | None) -> dict[str, Any] | None:
    """Plain values of a source, by hand as SourceSchema dumps it (see dump_content)."""
    return None if source is None else {
        "publication": source.publication,
        "attribution": source.attribution,
        "reported_on": dump_date(source.reported_on),
        "passage": source.passage,
        "url": source.url,
        "language": source.language,
    }

