"""The auditor's view of the store: the raw event log, each event exactly as stored."""

from __future__ import annotations

import json
from typing import Any

from eventsourcing.persistence import Notification


def event_record(notification: Notification) -> dict[str, Any]:
    """One stored event as plain values: its position in the log, its stream and version,
    its type, when and by whom it was recorded, and its payload exactly as stored."""
    data = json.loads(notification.state)
    timestamp = data.get("timestamp", {})
    return {
        "position": notification.id,
        "stream_id": str(notification.originator_id),
        "stream_version": notification.originator_version,
        "type": notification.topic.rpartition(":")[2],
        "topic": notification.topic,
        "recorded_at": timestamp.get("_data_") if isinstance(timestamp, dict) else None,
        "recorded_by": data.get("recorded_by"),
        "data": data,
    }
