"""The analyst's page at `/`: a timeline and a relationship map driven by the public API."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, send_from_directory, url_for

from api.feed import EVENT_TYPE_NAMES
from api.http import cacheable
from timeline.vocabulary import KINDS, ActorKind, Certainty, Dataset, Stance

blueprint = Blueprint("page", __name__)

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor"
# The vendored files never change under a URL: each carries its checksum in the query, so a
# browser may keep it for a year without asking again.
VENDOR_MAX_AGE = 365 * 24 * 3600
# The page runs only its own scripts and talks only to its own origin. Styles may be inline:
# vis-timeline injects its style sheet, and the page colours stances with style attributes.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def vendored() -> dict[str, str]:
    """Each vendored file (path under vendor/) and its SHA-256, from SHA256SUMS."""
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines)}


def family(weight: float) -> str:
    """A kind's family on the page, from the sign of its weight in the vocabulary."""
    return "cooperation" if weight > 0 else "conflict" if weight < 0 else "statement"


def vocabulary() -> dict[str, object]:
    """The words the page labels and colours things with, from timeline.vocabulary."""
    return {
        "kinds": {kind.value: {"label": spec.label, "family": family(spec.weight)}
                  for kind, spec in KINDS.items()},
        "stances": [stance.value for stance in Stance],
        "certainties": [certainty.value for certainty in Certainty],
        "actor_kinds": [kind.value for kind in ActorKind],
        "datasets": [dataset.value for dataset in Dataset],  # the API's `dataset` values
        "event_types": EVENT_TYPE_NAMES,  # the names of the live feed's messages
    }


def vendor_url(name: str) -> str:
    """A vendored file's URL, with its checksum in the query: a new file is a new URL."""
    return url_for("page.vendor", name=name, sha256=vendored()[name][:16])


@blueprint.get("/")
def page() -> Response:
    """The analyst's page: one HTML document; its script reads everything from /api/v1."""
    response = Response(render_template(
        "page.html", vocabulary=vocabulary(),
        vis=vendor_url("vis-timeline/vis-timeline-graph2d.min.js"),
        cytoscape=vendor_url("cytoscape/cytoscape.min.js"),
    ))
    response.headers["Cache-Control"] = "no-cache"  # revalidated: a 304 while unchanged
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return cacheable(response)


@blueprint.get("/page/<any('page.js', 'page.css'):name>")
def asset(name: str) -> Response:
    """The page's own script and style sheet, revalidated on each load (ETag, 304)."""
    return sent(send_from_directory(STATIC / "page", name, max_age=None))


@blueprint.get("/vendor/<path:name>")
def vendor(name: str) -> Response:
    """A vendored library file (only those listed in SHA256SUMS), cached for a year."""
    if name not in vendored():
        abort(404)
    response = send_from_directory(VENDOR, name, max_age=VENDOR_MAX_AGE)
    response.headers["Cache-Control"] = f"public, max-age={VENDOR_MAX_AGE}, immutable"
    return sent(response)


def sent(response: Response) -> Response:
    """A file as sent: Werkzeug's send_file dates it, and every server adds its own Date, so
    the server's is the one kept (a response carries one, RFC 9110 §6.6.1)."""
    del response.headers["Date"]
    return response
