"""Reading an event's timestamp from its stored payload, for the hash chain."""

from __future__ import annotations

import json

from timeline.audit import recorded_at_of

MOMENT = "2024-04-07T10:00:00.123456+00:00"


def test_the_timestamp_is_read_as_decoding_the_payload_would_read_it():
    # As eventsourcing's transcoder writes a payload: compact, the timestamp first.
    written = json.dumps(
        {"timestamp": {"_type_": "datetime_iso", "_data_": MOMENT}, "summary": 'a "quote"'},
        separators=(",", ":"),
    ).encode()
    assert written.startswith(b'{"timestamp":')
    assert recorded_at_of(written) == MOMENT


def test_a_payload_in_another_form_is_decoded():
    elsewhere = json.dumps(
        {"summary": "x", "timestamp": {"_type_": "datetime_iso", "_data_": MOMENT}}
    ).encode()
    assert recorded_at_of(elsewhere) == MOMENT
    assert recorded_at_of(b'{"summary": "no timestamp"}') == ""
