"""Tokens in the store and on the command line: scopes and expiry listed, names reused after
revoking, and a store of an earlier version (a tokens table keyed by name) adopted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from timeline.access import Scope, digest
from timeline.application import Timeline


def test_create_with_scope_and_expiry_then_list_and_revoke(run, durable_store):
    made = run("token", "create", "--name", "dashboard", "--scope", "read", "--expires", "90d")
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert secret.startswith("tl_")
    listed = run("token", "list").output
    [line] = listed.splitlines()
    assert "dashboard" in line and " read " in line and "expires 20" in line and "active" in line
    app = Timeline(durable_store)
    token = app.access.authenticate(secret)
    app.close()
    assert token is not None and token.scope is Scope.READ
    expires = datetime.fromisoformat(token.expires_at) - datetime.fromisoformat(token.created_at)
    assert expires.days == 90

    assert run("token", "create", "--name", "dashboard").exit_code == 1  # still held
    revoked = run("token", "revoke", token.id)
    assert revoked.exit_code == 0 and token.id in revoked.output
    again = run("token", "create", "--name", "dashboard", "--scope", "admin")
    assert again.exit_code == 0, again.output
    lines = run("token", "list").output.splitlines()
    assert len(lines) == 2 and lines[0].startswith(token.id) and "revoked" in lines[0]
    assert " admin " in lines[1] and "no expiry" in lines[1] and "active" in lines[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expires", "90"], "not a duration"),
        (["--expires", "soon"], "not a duration"),
        (["--scope", "root"], "'root' is not one of"),
    ],
    ids=["no-unit", "a-word", "unknown-scope"],
)
def test_bad_scope_or_expiry_is_a_usage_error(run, args, message):
    result = run("token", "create", "--name", "x", *args)
    assert result.exit_code == 2 and message in result.output
    assert run("token", "list").output.startswith("No tokens")


def test_a_name_shaped_like_an_id_is_refused(run):
    result = run("token", "create", "--name", "tok_0123456789abcdef")
    assert result.exit_code == 1 and "may not begin with 'tok_'" in result.output


def test_revoking_an_unknown_token_is_one_clear_line(run):
    result = run("token", "revoke", "nobody")
    assert result.exit_code == 1 and "no token with the id or name 'nobody'" in result.output


def test_a_name_keyed_tokens_table_is_adopted_by_migrate(run, durable_store):
    active, revoked = "tl_active-secret-of-an-older-version", "tl_revoked-secret"
    app = Timeline(durable_store)
    tokens = app.access
    # The store as an earlier version left it: only the name-keyed table, with its tokens.
    with tokens.datastore.transaction(commit=True) as c:
        c.execute(tokens.sql("DROP TABLE {access_tokens}"))
        c.execute(tokens.sql(
            "INSERT INTO {tokens} (name, hash, created_at, revoked_at) VALUES (?, ?, ?, ?)"),
            ("analyst-desk", digest(active), "2024-04-01T00:00:00+00:00", None))
        c.execute(tokens.sql(
            "INSERT INTO {tokens} (name, hash, created_at, revoked_at) VALUES (?, ?, ?, ?)"),
            ("old-desk", digest(revoked), "2024-03-01T00:00:00+00:00",
             "2024-03-02T00:00:00+00:00"))
    app.close()

    migrated = run("migrate")
    assert migrated.exit_code == 0, migrated.output
    app = Timeline(durable_store)
    try:
        token = app.access.authenticate(active)
        assert token is not None
        assert (token.label, token.scope) == ("analyst-desk", Scope.WRITE)
        assert token.id == "tok_" + digest(active)[:16]
        assert app.access.authenticate(revoked) is None
        states = {t.label: t.state(datetime.now(UTC)) for t in app.access.list_tokens()}
        assert states == {"analyst-desk": "active", "old-desk": "revoked"}
        with app.access.datastore.transaction(commit=False) as c:
            c.execute(app.access.sql("SELECT COUNT(*) AS n FROM {tokens}"))
            assert c.fetchone()["n"] == 0  # each secret's hash is kept once
    finally:
        app.close()
    # Adopting again (every start does) changes nothing.
    assert run("migrate").exit_code == 0
    assert len(run("token", "list").output.splitlines()) == 2
