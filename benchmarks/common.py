"""What the benchmark scripts share: a free port, a percentile, the PostgreSQL server they use
and a valid development to write."""

from __future__ import annotations

import os
import socket

POSTGRES = os.environ.get("TIMELINE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

# A development every benchmark that writes over HTTP records (the tests' own example).
DEVELOPMENT = {
    "kind": "visit",
    "summary": "Sergei Lavrov visits Beijing.",
    "actors": [{"actor": "sergei-lavrov", "role": "source"}, {"actor": "china", "role": "target"}],
    "date": "2024-04-08",
    "certainty": "confirmed",
    "sources": [{"publication": "Reuters", "attribution": "The Russian Foreign Ministry",
                 "reported_on": "2024-04-09", "passage": "Lavrov met Wang Yi in Beijing."}],
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
