"""The wire format: marshmallow schemas shared by the seed files, the CLI and the HTTP API.

Loading a schema gives domain value objects (Content, Source, PartialDate); dumping one gives
plain JSON values. Domain rules broken while loading come back as marshmallow errors that name
the field, so every entry point reports bad input the same way.
"""

from __future__ import annotations

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
    SLUG,
    Content,
    InvalidInput,
    PartialDate,
    Participation,
    Source,
)
from timeline.vocabulary import ActorKind, Certainty, Kind, Role, Stance, Status, TieKind

NonEmpty = validate.Length(min=1)


class Strict(Schema):
    """Unknown fields are errors: a typo in a seed file or request must not pass silently."""

    class Meta:
        unknown = RAISE


class PartialDateField(fields.Field):
    """A partial date: `"2024-05"`, or `{"value": "2024-05", "approximate": true,
    "derivation": "..."}` when it is loose or worked out from a relative date.

    Dumps always as the object, with its `precision` spelled out.
    """

    PATTERN = r"^\d{4}(-\d{2}(-\d{2})?)?$"

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "description": "YYYY, YYYY-MM or YYYY-MM-DD, or an object with that value",
            "oneOf": [
                {"type": "string", "pattern": self.PATTERN},
                {
                    "type": "object",
                    "properties": {
                        "value": {"type": "string", "pattern": self.PATTERN},
                        "approximate": {"type": "boolean"},
                        "derivation": {"type": ["string", "null"]},
                        "precision": {"type": "string", "enum": ["year", "month", "day"]},
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
                raise ValidationError("a date needs a value: YYYY, YYYY-MM or YYYY-MM-DD")
            if not isinstance(approximate, bool):
                raise ValidationError("approximate must be true or false")
            if derivation is not None and not isinstance(derivation, str):
                raise ValidationError("derivation must be text")
        else:
            raise ValidationError("a date is YYYY, YYYY-MM, YYYY-MM-DD or an object")
        try:
            parsed = PartialDate.parse(text, approximate=approximate, derivation=derivation)
        except InvalidInput as error:
            raise ValidationError(error.message) from None
        if isinstance(value, dict) and value.get("precision") not in (None, parsed.precision):
            raise ValidationError(f"precision {value['precision']!r} does not match {text!r}")
        return parsed


class SourceSchema(Strict):
    publication = fields.String(required=True, validate=NonEmpty)
    attribution = fields.String(required=True, validate=NonEmpty)
    reported_on = PartialDateField(required=True)
    passage = fields.String(required=True, validate=NonEmpty)
    url = fields.Url(load_default=None, allow_none=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Source:
        return Source(**data)


class ParticipationSchema(Strict):
    actor = fields.String(required=True, validate=validate.Regexp(SLUG))
    role = fields.Enum(Role, by_value=True, required=True)

    @post_load
    def make(self, data: dict[str, Any], **_: Any) -> Participation:
        return Participation(**data)


class ContentSchema(Strict):
    """Everything a development says; the fields a correction may change."""

    kind = fields.Enum(Kind, by_value=True, required=True)
    summary = fields.String(required=True, validate=NonEmpty)
    actors = fields.List(
        fields.Nested(ParticipationSchema), required=True, validate=NonEmpty
    )
    date = PartialDateField(required=True)
    certainty = fields.Enum(Certainty, by_value=True, required=True)
    sources = fields.List(fields.Nested(SourceSchema), required=True, validate=NonEmpty)
    planned_for = PartialDateField(load_default=None, allow_none=True)
    place = fields.String(load_default=None, allow_none=True, validate=NonEmpty)
    items = fields.List(fields.String(validate=NonEmpty), load_default=list)
    quote = fields.String(load_default=None, allow_none=True, validate=NonEmpty)

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
    reason = fields.String(required=True, validate=NonEmpty)
    source = fields.Nested(SourceSchema, required=True)

    @validates_schema
    def has_changes(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("changes"):
            raise ValidationError("a correction must change at least one field", "changes")


class StatusChangeSchema(Strict):
    status = fields.Enum(Status, by_value=True, required=True)
    reason = fields.String(required=True, validate=NonEmpty)
    source = fields.Nested(SourceSchema, load_default=None, allow_none=True)
    date = PartialDateField(load_default=None, allow_none=True)


class RetractionSchema(Strict):
    reason = fields.String(required=True, validate=NonEmpty)
    source = fields.Nested(SourceSchema, load_default=None, allow_none=True)


class ActorSchema(Strict):
    id = fields.String(required=True, validate=validate.Regexp(SLUG))
    name = fields.String(required=True, validate=NonEmpty)
    kind = fields.Enum(ActorKind, by_value=True, required=True)
    aliases = fields.List(fields.String(validate=NonEmpty), load_default=list)
    belongs_to = fields.List(
        fields.String(validate=validate.Regexp(SLUG)), load_default=list
    )


# --- what the service returns (documents the plain values the queries produce) ---------------


class PartialDateOut(Schema):
    value = fields.String(required=True)
    precision = fields.String(required=True, validate=validate.OneOf(["year", "month", "day"]))
    approximate = fields.Boolean(required=True)
    derivation = fields.String(required=True, allow_none=True)


class SourceOut(Schema):
    publication = fields.String(required=True)
    attribution = fields.String(required=True)
    reported_on = fields.Nested(PartialDateOut, required=True)
    passage = fields.String(required=True)
    url = fields.String(required=True, allow_none=True)


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


class DevelopmentOut(Schema):
    """A version of a development: its content, status and when it was recorded."""

    id = fields.UUID(required=True)
    key = fields.String(required=True, allow_none=True)
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


class TieOut(Schema):
    kind = fields.Enum(TieKind, by_value=True, required=True)
    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True)
    mutual = fields.Boolean(required=True)
    since = fields.String(required=True)
    until = fields.String(required=True, allow_none=True)
    active = fields.Boolean(required=True)
    items = fields.List(fields.String(), required=True)
    certainty = fields.Enum(Certainty, by_value=True, required=True)
    developments = fields.List(fields.String(), required=True)


class RelationshipOut(Schema):
    pair = fields.List(fields.String(), required=True, validate=validate.Length(equal=2))
    stance = fields.Enum(Stance, by_value=True, required=True)
    score = fields.Float(required=True, validate=validate.Range(-10, 10))
    ties = fields.List(fields.Nested(TieOut), required=True)
    developments = fields.List(fields.Nested(DevelopmentRefOut), required=True)
    expected = fields.List(fields.Nested(ExpectedOut), required=True)


class ChangeOut(Schema):
    from_ = fields.Raw(required=True, data_key="from")
    to = fields.Raw(required=True)


class StepOut(Schema):
    """One step of a replay: a development that changed a pair, and what it changed."""

    date = fields.Date(required=True)
    pair = fields.List(fields.String(), required=True)
    event = fields.String(required=True, validate=validate.OneOf(["counts", "ends", "expected"]))
    development = fields.Nested(DevelopmentRefOut, required=True)
    ties_opened = fields.List(fields.List(fields.String()), required=True)
    ties_closed = fields.List(fields.List(fields.String()), required=True)
    stance = fields.Nested(ChangeOut, required=True)
    score = fields.Nested(ChangeOut, required=True)


class ActorListOut(Schema):
    actors = fields.List(fields.Nested(ActorOut), required=True)
    next = fields.String(required=True, allow_none=True)


class DevelopmentListOut(Schema):
    developments = fields.List(fields.Nested(DevelopmentOut), required=True)
    next = fields.String(required=True, allow_none=True)


class RelationshipListOut(Schema):
    relationships = fields.List(fields.Nested(RelationshipOut), required=True)
    next = fields.String(required=True, allow_none=True)


class StepListOut(Schema):
    steps = fields.List(fields.Nested(StepOut), required=True)


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
        "version": development.version,
        "recorded_at": recorded_at.isoformat(),
        "status": development.status.value,
        "retracted": development.retracted,
        "ended": dump_date(development.ended),
        **dump_content(development.content),
    }


def dump_source(source: Source | None) -> dict[str, Any] | None:
    """Plain values of a source, by hand as SourceSchema dumps it (see dump_content)."""
    return None if source is None else {
        "publication": source.publication,
        "attribution": source.attribution,
        "reported_on": dump_date(source.reported_on),
        "passage": source.passage,
        "url": source.url,
    }

