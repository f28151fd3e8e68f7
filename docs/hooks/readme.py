"""MkDocs hook: the README is the site's home page, so the front page is written once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

README = Path(__file__).resolve().parents[2] / "README.md"


def on_files(files: Files, config: Any) -> Files:
    # The README links to docs/page.md from the repository root; on the site, beside those
    # pages, the same link is page.md.
    text = re.sub(r"\]\(docs/", "](", README.read_text(encoding="utf-8"))
    files.append(File.generated(config, "index.md", content=text))
    return files
