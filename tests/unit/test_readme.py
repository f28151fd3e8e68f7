"""The README stays true: its test command is the one CI runs, and it links only to pages."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    command = next(line for line in ci.splitlines() if line.startswith("python3 -m venv"))
    assert f"\n{command}\n" in README


def test_ci_installs_chromium_as_the_readme_tells_developers_to():
    ci = (ROOT / ".ci" / "run").read_text()
    install = "apt-get update && apt-get install -y chromium"
    assert f"`{install}`" in README
    assert f"command -v chromium >/dev/null || ({install})" in ci
    assert "export TIMELINE_REQUIRE_BROWSER=1" in ci


def test_the_readme_links_to_pages_that_exist():
    # The site's strict build checks links between pages; this checks the README's own, which
    # on GitHub point into docs/ from the repository root.
    targets = re.findall(r"\]\((docs/[^)#]+)", README)
    assert targets
    for target in targets:
        assert (ROOT / target).is_file(), target
