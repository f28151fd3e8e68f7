"""The README stays true: its test command is the one CI runs, its vocabulary is the table's."""

from __future__ import annotations

from pathlib import Path

from timeline.vocabulary import KINDS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    command = next(line for line in ci.splitlines() if line.startswith("python3 -m venv"))
    assert f"\n{command}\n" in README


def test_the_readme_vocabulary_is_the_table():
    for kind, spec in KINDS.items():
        row = f"| `{kind.value}` | {spec.label} | {spec.cameo} | {spec.weight:+.0f} |"
        assert row in README, f"README lacks or misstates {kind.value}"
