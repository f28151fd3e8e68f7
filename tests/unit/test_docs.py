"""The documentation stays true: the vocabulary table is the code's, the audit script works."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import SEEDS
from timeline.application import Timeline
from timeline.seeding import seed
from timeline.vocabulary import KINDS

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_user_guide_vocabulary_is_the_table():
    guide = (DOCS / "user-guide.md").read_text()
    for kind, spec in KINDS.items():
        row = f"| `{kind.value}` | {spec.label} | {spec.cameo} | {spec.weight:+.0f} |"
        assert row in guide, f"the user guide lacks or misstates {kind.value}"


def test_the_audit_guide_script_verifies_an_export(tmp_path):
    guide = (DOCS / "audit.md").read_text()
    script = re.search(r"In Python:\n\n```python\n(.*?)```", guide, re.DOTALL).group(1)
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
