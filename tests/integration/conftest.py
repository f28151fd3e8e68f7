"""Fixtures of the integration tests: the command line on a durable store of each kind."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from timeline.cli import main


@pytest.fixture
def run(durable_store):
    """`timeline --store <the store> ARGS...`, in process; returns click's Result."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, ["--store", durable_store, *args])

    return invoke
