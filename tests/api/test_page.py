"""The analyst's page as HTTP serves it: one HTML document, its own script, and the vendored
libraries, byte for byte as npm publishes them, cached for a year under checksummed URLs."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from api import create_app
from api.page import vendored

VENDOR = Path(__file__).resolve().parents[2] / "api" / "static" / "vendor"


@pytest.fixture
def client() -> Iterator[FlaskClient]:
    app = create_app({"STORE": "memory://", "TESTING": True})
    yield app.test_client()
    app.extensions["timeline"].close()


def test_the_vendored_files_are_those_the_manifest_names():
    files = vendored()
    assert {"vis-timeline/vis-timeline-graph2d.min.js", "cytoscape/cytoscape.min.js",
            "vis-timeline/LICENSE.md", "cytoscape/LICENSE"} <= set(files)
    for name, digest in files.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    on_disk = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk - set(files) == {"SHA256SUMS", "fetch.sh"}


def test_the_page_is_served_at_the_root_with_the_vendored_libraries(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-cache"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src" not in policy  # no inline scripts
    again = client.get("/", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    html = response.get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    files = vendored()
    for name in ("vis-timeline/vis-timeline-graph2d.min.js", "cytoscape/cytoscape.min.js"):
        assert f"/vendor/{name}?sha256={files[name][:16]}" in scripts
    for url in scripts + re.findall(r'<link rel="stylesheet" href="([^"]+)"', html):
        assert client.get(url).status_code == 200, url
    # Nothing from another host: the page works offline.
    own = html + client.get("/page/page.js").get_data(as_text=True) \
        + client.get("/page/page.css").get_data(as_text=True)
    assert "http://" not in own and "https://" not in own and "//cdn" not in own


def test_the_page_carries_the_vocabulary_it_colours_by(client):
    html = client.get("/").get_data(as_text=True)
    vocabulary = json.loads(re.search(
        r'<script id="vocabulary" type="application/json">(.*?)</script>', html).group(1))
    kinds = vocabulary["kinds"]
    assert kinds["armed_attack"]["family"] == "conflict"
    assert kinds["agreement"]["family"] == "cooperation"
    assert kinds["assessment"]["family"] == "statement"
    assert "Development.Recorded" in vocabulary["event_types"]


def test_the_page_s_own_files_are_revalidated(client):
    response = client.get("/page/page.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    again = client.get("/page/page.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/page/page.py").status_code == 404


def test_vendored_files_are_cached_for_a_year(client):
    digest = vendored()["cytoscape/cytoscape.min.js"]
    response = client.get(f"/vendor/cytoscape/cytoscape.min.js?sha256={digest[:16]}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert hashlib.sha256(response.get_data()).hexdigest() == digest


@pytest.mark.parametrize("path", ["/vendor/fetch.sh", "/vendor/SHA256SUMS",
                                  "/vendor/../page.py", "/vendor/cytoscape/missing.js"])
def test_only_the_listed_vendored_files_are_served(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
