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


def test_the_readme_audit_script_verifies_an_export(tmp_path):
    import io
    import re
    import subprocess
    import sys

    from tests.conftest import SEEDS
    from timeline.application import Timeline
    from timeline.seeding import seed

    script = re.search(r"In Python:\n\n```python\n(.*?)```", README, re.DOTALL).group(1)
    (tmp_path / "check.py").write_text(script)
    app = Timeline("memory://")
    seed(app, SEEDS)
    out = io.StringIO()
    app.audit.export(out)
    (tmp_path / "log.ndjson").write_text(out.getvalue(), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(tmp_path / "check.py"), str(tmp_path / "log.ndjson")],
        capture_output=True, text=True, check=True,
    )
    head = app.audit.head()
    assert result.stdout.strip() == f"intact; head {head['position']} {head['hash']}"
