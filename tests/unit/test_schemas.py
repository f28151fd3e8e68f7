"""The hand-written dumps give exactly what the marshmallow schemas give."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from marshmallow import ValidationError

from timeline.domain import PartialDate, Provenance, Source
from timeline.schemas import (
    PartialDateField,
    PartialDateOut,
    ProvenanceOut,
    SourceSchema,
    content_schema,
    dump_content,
    dump_provenance,
    dump_source,
)
from timeline.seeding import load
from timeline.synth import Synthesizer
from timeline.vocabulary import Dataset

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def contents():
    """Every content of the seed article (quotes, places, items, urls, derived and
    approximate dates, planned developments) and a sample of synthetic ones."""
    _, developments = load(SEEDS)
    found = [development.content for _, development in developments]
    found += [
        payload[0]
        for op, _, payload in Synthesizer(300, 50, 7).plan()
        if op == "record"
    ]
    with_url = replace(found[0].sources[0], url="https://example.org/report")
    return [*found, replace(found[0], sources=(with_url,))]


def test_a_content_dumps_as_its_schema_dumps_it():
    found = contents()
    assert any(c.quote for c in found) and any(c.planned_for for c in found)
    assert any(c.place for c in found) and any(c.items for c in found)
    assert any(s.url for c in found for s in c.sources)
    assert any(c.date.derivation for c in found) and any(c.date.approximate for c in found)
    for content in found:
        assert dump_content(content) == content_schema().dump(content)


def test_a_source_dumps_as_its_schema_dumps_it():
    source = Source("Reuters", "officials", PartialDate.parse("2024-04"), "A passage.")
    for each in (source, replace(source, url="https://example.org/a")):
        assert dump_source(each) == SourceSchema().dump(each)
    assert dump_source(None) is None


def test_a_provenance_dumps_as_its_schema_dumps_it():
    provenance = Provenance(Dataset.GDELT, "1170000003", "20240410101500.export.CSV", 3,
                            {"GoldsteinScale": "1.9", "EventCode": "042"})
    assert dump_provenance(provenance) == ProvenanceOut().dump(provenance)
    assert dump_provenance(None) is None


def test_a_week_date_loads_and_dumps_with_its_precision():
    field = PartialDateField(required=True)
    loaded = field.deserialize("2024-W19")
    assert loaded == PartialDate.parse("2024-W19")
    dumped = field.serialize("date", {"date": loaded})
    assert dumped == {"value": "2024-W19", "precision": "week", "approximate": False,
                      "derivation": None}
    assert PartialDateOut().load(dumped) == dumped  # "week" is a documented precision
    assert field.deserialize(dumped) == loaded  # the object form loads back the same date
    loose = {"value": "2025-W01", "approximate": True, "derivation": "the week of 30 Dec"}
    assert field.serialize("date", {"date": field.deserialize(loose)}) == {
        **loose, "precision": "week"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2021-W53", "2021 has no week 53"),
        ("2024-W54", "2024 has no week 54"),
        ("2024-W7", "is not a date: use YYYY, YYYY-MM, YYYY-MM-DD or YYYY-Www"),
        ({"value": "2024-W19", "precision": "day"}, "precision 'day' does not match"),
        ({"value": "2024-05-06", "precision": "week"}, "precision 'week' does not match"),
    ],
)
def test_a_week_the_year_lacks_or_a_wrong_precision_is_refused(value, message):
    with pytest.raises(ValidationError, match=message):
        PartialDateField(required=True).deserialize(value)


def test_a_content_dated_by_week_dumps_as_its_schema_dumps_it_and_loads_back():
    content = replace(contents()[0], date=PartialDate.parse("2024-W19", approximate=True))
    dumped = dump_content(content)
    assert dumped == content_schema().dump(content)
    assert dumped["date"]["precision"] == "week"
    assert content_schema().load(dumped) == content
