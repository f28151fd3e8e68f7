"""Rules that a mutation check once broke with the suite staying green (issue 22 §5): each test
here fails when its rule is broken, and runs on both stores where the store matters."""

from __future__ import annotations

import hashlib
import json
import logging
from uuid import UUID

import pytest
from click.testing import CliRunner

from api import create_app
from tests.conftest import SEEDS, content, fresh_store, source
from tests.helpers import DEVELOPMENT, SOURCE, is_problem, record
from tests.integration.test_audit import Raw
from timeline.application import Timeline
from timeline.cli import main
from timeline.domain import InvalidTransition, PartialDate, Participation
from timeline.relationships import Relationship
from timeline.seeding import seed
from timeline.vocabulary import STATUS_TRANSITIONS, ActorKind, Kind, Role, Stance, Status


@pytest.fixture
def api(store):
    """The HTTP API on a seeded store of each kind, with a write token."""
    flask_app = create_app({"STORE": store, "TESTING": True})
    timeline = flask_app.extensions["timeline"]
    seed(timeline, SEEDS)
    flask_app.secret = timeline.access.create_token("rules")
    yield flask_app
    timeline.close()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# --- tokens ------------------------------------------------------------------------------------


def test_a_revoked_token_is_refused(api):
    timeline, client = api.extensions["timeline"], api.test_client()
    assert timeline.access.authenticate(api.secret) is not None
    timeline.access.revoke_token("rules")
    assert timeline.access.authenticate(api.secret) is None
    before = timeline.audit.count()
    body = is_problem(client.post("/api/v1/developments", json=DEVELOPMENT,
                                  headers=bearer(api.secret)), 401)
    assert "revoked" in body["detail"]
    assert timeline.audit.count() == before


# --- the lifecycle ----------------------------------------------------------------------------


def planned_visit(app: Timeline) -> UUID:
    return app.record_development(content(
        kind=Kind.VISIT, summary="Sergei Lavrov is to visit Beijing.", items=(),
        actors=(Participation("sergei-lavrov", Role.SOURCE), Participation("china", Role.TARGET)),
        date=PartialDate.parse("2024-05"), planned_for=PartialDate.parse("2024-05"),
    ), Status.PLANNED)


def test_a_cancelled_development_can_never_occur(app):
    ident = planned_visit(app)
    app.change_status(ident, Status.CANCELLED, "called off")
    before = app.audit.count()
    for status in Status:
        with pytest.raises(InvalidTransition):
            app.change_status(ident, status, "it happened after all", date=PartialDate.parse(
                "2024-06"))
    assert app.audit.count() == before
    assert app.get_development(ident)["status"] == "cancelled"


def test_an_occurred_development_never_changes_status_again(app):
    ident = planned_visit(app)
    app.change_status(ident, Status.OCCURRED, "it took place")
    before = app.audit.count()
    for status in Status:
        with pytest.raises(InvalidTransition):
            app.change_status(ident, status, "second thoughts",
                              date=PartialDate.parse("2024-06"))
    assert app.audit.count() == before
    assert STATUS_TRANSITIONS[Status.OCCURRED] == STATUS_TRANSITIONS[Status.CANCELLED] == set()


def test_cancelled_developments_do_not_count_in_relationships(app):
    before = app.get_relationship("russia", "china")
    ident = planned_visit(app)
    assert app.get_relationship("russia", "china")["expected"], "a plan is expected"
    app.change_status(ident, Status.CANCELLED, "called off")
    after = app.get_relationship("russia", "china")
    assert after == before
    assert str(ident) not in json.dumps(app.list_relationships())


# --- the stances' score thresholds ------------------------------------------------------------


class Scored(Relationship):
    """A relationship with no ties and a given score: only the thresholds decide its stance."""

    def __init__(self, score: float) -> None:
        super().__init__(("a", "b"))
        self._score = score

    @property
    def score(self) -> float:
        return self._score


@pytest.mark.parametrize(
    ("score", "stance"),
    [(2.0, Stance.COOPERATION), (5.0, Stance.COOPERATION), (1.99, Stance.NEUTRAL),
     (0.0, Stance.NEUTRAL), (-1.99, Stance.NEUTRAL), (-2.0, Stance.TENSION),
     (-5.0, Stance.TENSION)],
)
def test_without_ties_the_score_thresholds_decide_the_stance(score, stance):
    # The documented thresholds (docs/user-guide.md): at least 2 cooperation, at most -2
    # tension, neutral between; ties always decide first.
    assert Scored(score).stance is stance


# --- HTTP conventions ---------------------------------------------------------------------------


def test_if_match_star_changes_whatever_version_is_current(api):
    client, auth = api.test_client(), bearer(api.secret)
    location = record(client, auth).headers["Location"]
    correction = {"changes": {"place": "Beijing"}, "reason": "place reported", "source": SOURCE}
    first = client.post(f"{location}/corrections", json=correction,
                        headers={**auth, "If-Match": '"1"'})
    assert first.headers["ETag"] == '"2"'
    again = client.post(f"{location}/corrections", headers={**auth, "If-Match": "*"},
                        json={**correction, "changes": {"place": "Shanghai"}})
    assert again.status_code == 200, again.get_json()
    assert again.headers["ETag"] == '"3"'
    assert client.get(location).get_json()["place"] == "Shanghai"


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def test_idempotency_keys_are_per_token_and_a_key_in_flight_is_409(api):
    timeline, client = api.extensions["timeline"], api.test_client()
    other = timeline.access.create_token("other desk")
    body = json.dumps(DEVELOPMENT).encode()
    key = {"Idempotency-Key": "same-key", "Content-Type": "application/json"}
    first = client.post("/api/v1/developments", data=body, headers={**bearer(api.secret), **key})
    theirs = client.post("/api/v1/developments", data=body, headers={**bearer(other), **key})
    assert first.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert first.headers["Location"] != theirs.headers["Location"]

    # A request with a key still being processed (claimed, not completed) is a 409.
    owner = timeline.access.authenticate(api.secret).id
    api.extensions["idempotency"].claim(
        owner, "in-flight", fingerprint("POST", "/api/v1/developments", body))
    before = timeline.audit.count()
    busy = client.post("/api/v1/developments", data=body, headers={
        **bearer(api.secret), **key, "Idempotency-Key": "in-flight"})
    is_problem(busy, 409)
    assert timeline.audit.count() == before


def cacheable_gets(api) -> list[str]:
    """Every GET route of the service, with its path filled in from the seed data; not the
    OpenAPI document, which flask-smorest serves (without an ETag)."""
    timeline = api.extensions["timeline"]
    development = timeline.list_developments(limit=1)[0]["id"]
    values = {"a": "china", "b": "russia", "actor_id": "china", "development_id": development,
              "position": "1", "stream_id": development}
    files = {"page.asset": {"name": "page.js"},  # the page's own, and a vendored library
             "page.vendor": {"name": "cytoscape/cytoscape.min.js"}}
    urls = api.url_map.bind("localhost")
    return sorted(
        urls.build(rule.endpoint, {name: {**values, **files.get(rule.endpoint, {})}[name]
                                   for name in rule.arguments})
        for rule in api.url_map.iter_rules()
        if "GET" in rule.methods and rule.endpoint not in ("static", "api-docs.openapi_json")
        and not rule.rule.endswith("/stream")  # a live feed, not a document: no ETag
    )


# Routes that need a query to answer 200.
QUERIES = {"/api/v1/audit/proof/inclusion": "?index=0&size=1",
           "/api/v1/audit/proof/consistency": "?from=1&to=2"}


def test_every_cacheable_get_answers_304_to_its_etag(api):
    client = api.test_client()
    paths = cacheable_gets(api)
    assert "/api/v1/relationships/china/russia" in paths and len(paths) >= 14
    for path in (path + QUERIES.get(path, "") for path in paths):
        first = client.get(path)
        if first.status_code in (301, 302, 307, 308):
            continue  # a redirect to another route, which is checked on its own
        assert first.status_code == 200, path
        etag = first.headers.get("ETag")
        assert etag, f"{path} has no ETag"
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.get_data() == b""


def test_healthz_is_503_when_the_store_is_unreachable(api, caplog):
    timeline, client = api.extensions["timeline"], api.test_client()
    assert client.get("/healthz").status_code == 200
    events_table = timeline.recorder.events_table_name
    with timeline.access.datastore.transaction(commit=True) as c:
        c.execute(f"DROP TABLE {timeline.access.table(events_table)}")
    with caplog.at_level(logging.ERROR, logger="api.health"):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["store"]) == ("unavailable", "unreachable")
    assert events_table not in body["detail"]  # the driver's text is for the log only
    assert events_table in caplog.text


# --- the log ------------------------------------------------------------------------------------


@pytest.fixture
def logged(durable_store):
    """A seeded store that outlives its processes, of each kind."""
    app = Timeline(durable_store)
    seed(app, SEEDS)
    app.close()
    return durable_store


def test_postgres_refuses_truncate_of_the_log(tmp_path):
    with fresh_store("postgres", tmp_path) as url:
        app = Timeline(url)
        seed(app, SEEDS)
        count = app.audit.count()
        app.close()
        raw = Raw(url)
        for table in ("{events}", "event_hashes"):
            with pytest.raises(Exception, match="append-only"):
                raw.run(f"TRUNCATE {table}")
        app = Timeline(url)
        assert app.audit.count() == count and app.audit.verify().ok
        app.close()


def insert(raw: Raw, statement: str, params: tuple) -> None:
    """Insert a row past the recorder, with the store's triggers in place (they allow it)."""
    with raw.connect() as db:
        db.execute(raw.sql(statement), params)


def test_an_inserted_event_is_detected(logged):
    raw = Raw(logged)
    app = Timeline(logged)
    last = app.audit.head()
    app.close()
    [(originator, version, topic, state)] = raw.run(
        "SELECT originator_id, originator_version, topic, state FROM {events}"
        " WHERE {position} = 5")
    # Appended by hand, past the recorder: a copy of an earlier event under a new version.
    insert(raw, "INSERT INTO {events} (originator_id, originator_version, topic, state)"
            " VALUES (?, ?, ?, ?)", (originator, version + 1000, topic, state))
    app = Timeline(logged)
    result = app.audit.verify()
    app.close()
    assert not result.ok
    assert result.first_bad_position > last["position"]
    assert "added outside the recorder" in result.reason


def test_an_event_inserted_with_a_forged_hash_is_detected(logged):
    raw = Raw(logged)
    app = Timeline(logged)
    last = app.audit.head()
    app.close()
    [(originator, version, topic, state)] = raw.run(
        "SELECT originator_id, originator_version, topic, state FROM {events}"
        " WHERE {position} = 5")
    insert(raw, "INSERT INTO {events} (originator_id, originator_version, topic, state)"
            " VALUES (?, ?, ?, ?)", (originator, version + 1000, topic, state))
    [(position,)] = raw.run("SELECT MAX({position}) FROM {events}")
    insert(raw, "INSERT INTO event_hashes (position, hash, previous_hash) VALUES (?, ?, ?)",
            (position, "0" * 64, last["hash"]))
    app = Timeline(logged)
    result = app.audit.verify()
    app.close()
    assert not result.ok and result.first_bad_position == position
    assert "does not match its hash" in result.reason


def test_cli_export_then_import_copies_the_log(logged, tmp_path):
    runner = CliRunner()
    exported = tmp_path / "log.ndjson"
    out = runner.invoke(main, ["--store", logged, "export", "-o", str(exported)])
    assert out.exit_code == 0, out.output
    source = Timeline(logged)
    lines = exported.read_text().splitlines()
    assert len(lines) == source.audit.count() > 0
    copy_url = f"sqlite:///{tmp_path / 'copy.db'}"
    imported = runner.invoke(main, ["--store", copy_url, "import", str(exported)])
    assert imported.exit_code == 0, imported.output
    assert f"Imported {len(lines)} events" in imported.output
    copy = Timeline(copy_url)
    try:
        assert copy.audit.events(limit=1000) == source.audit.events(limit=1000)
        assert copy.audit.head() == source.audit.head() and copy.audit.verify().ok
        assert copy.list_relationships() == source.list_relationships()
        again = runner.invoke(main, ["--store", copy_url, "import", str(exported)])
        assert again.exit_code == 1 and "already holds events" in again.output
        assert copy.audit.count() == len(lines)
    finally:
        copy.close()
        source.close()
    stdout = runner.invoke(main, ["--store", logged, "export"])
    assert stdout.exit_code == 0 and stdout.stdout.splitlines() == lines


def test_migrate_creates_every_table_a_process_that_creates_none_needs(durable_store):
    result = CliRunner().invoke(main, ["--store", durable_store, "migrate"])
    assert result.exit_code == 0, result.output
    assert "The store is ready: 0 events" in result.output
    # A process that creates no tables (CREATE_TABLE off) works on the migrated store.
    app = Timeline(durable_store, env={"CREATE_TABLE": "false"})
    try:
        app.register_actor("china", "China", ActorKind.STATE)
        app.register_actor("russia", "Russia", ActorKind.STATE)
        app.record_development(content(actors=(Participation("china", Role.SOURCE),
                                               Participation("russia", Role.TARGET))))
        assert app.get_relationship("china", "russia")["developments"]
        assert app.audit.verify().ok and app.audit.count() == 3
        assert app.access.authenticate(app.access.create_token("after-migrate")) is not None
    finally:
        app.close()


# --- membership ---------------------------------------------------------------------------------


def test_membership_through_organisations_lifts_to_the_state(app):
    # Carl Bildt -> ECFR -> ...: a person counts for the states of the organisations he
    # belongs to, through any depth of organisations.
    app.register_actor("sweden", "Sweden", ActorKind.STATE)
    app.register_actor("think-tank", "A Think Tank", ActorKind.ORGANISATION,
                       belongs_to=("sweden",))
    app.register_actor("its-board", "Its Board", ActorKind.ORGANISATION,
                       belongs_to=("think-tank",))
    app.register_actor("a-member", "A Member", ActorKind.PERSON, belongs_to=("its-board",))
    ident = app.record_development(content(
        kind=Kind.VISIT, summary="A member of the board visits Beijing.", items=(),
        actors=(Participation("a-member", Role.SOURCE), Participation("china", Role.TARGET)),
        sources=(source("A member of the board visited Beijing."),),
    ))
    lifted = app.get_relationship("sweden", "china")
    assert str(ident) in json.dumps(lifted["developments"])
    direct = app.get_relationship("a-member", "china")
    assert str(ident) in json.dumps(direct["developments"])


def test_an_organisations_developments_include_its_members_in_the_seed_data(seeded):
    # Carl Bildt belongs to ECFR (and Sweden): ECFR's developments include his, and so do
    # Sweden's; an organisation of organisations gathers its members' members too.
    bildt = "2024-carl-bildt-china-silently-supplies-machinery-assessment"
    for actor in ("carl-bildt", "ecfr", "sweden"):
        keys = {d["key"] for d in seeded.list_developments(actors=[actor])}
        assert bildt in keys, actor
    seeded.register_actor("think-tanks", "Think tanks", ActorKind.ORGANISATION)
    seeded.correct_actor("ecfr", {"belongs_to": ["think-tanks"]}, "it is one")
    assert bildt in {d["key"] for d in seeded.list_developments(actors=["think-tanks"])}
