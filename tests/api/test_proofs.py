"""The transparency log over HTTP (issue 15, section 3): the tree, inclusion and consistency
proofs, and 4xx problems for anything outside the tree."""

from __future__ import annotations

import hashlib

import pytest

from tests.helpers import is_problem
from tests.unit.test_merkle import independently_consistent, independently_included


def test_an_event_from_the_events_list_is_proved_in_the_tree(client):
    tree = client.get("/api/v1/audit/tree").get_json()
    assert tree["size"] > 10
    third = client.get("/api/v1/events?limit=3").get_json()
    events = third["events"]
    chain_hash = bytes.fromhex(events[2]["hash"])
    response = client.get(f"/api/v1/audit/proof/inclusion?index=2&size={tree['size']}")
    assert response.status_code == 200
    proof = response.get_json()
    assert (proof["index"], proof["size"], proof["root"]) == (2, tree["size"], tree["root"])
    leaf = hashlib.sha256(b"\x00" + chain_hash).digest()
    assert proof["leaf_hash"] == leaf.hex()
    path = [bytes.fromhex(x) for x in proof["hashes"]]
    assert len(path) == (tree["size"] - 1).bit_length()
    assert independently_included(2, tree["size"], leaf, path, bytes.fromhex(tree["root"]))


def test_an_older_size_is_proved_consistent_with_the_current_tree(client, timeline):
    old = client.get("/api/v1/audit/tree").get_json()
    timeline.register_actor("atlantis", "Atlantis", "state")
    new = client.get("/api/v1/audit/tree").get_json()
    assert new["size"] == old["size"] + 1
    response = client.get(f"/api/v1/audit/proof/consistency?from={old['size']}&to={new['size']}")
    assert response.status_code == 200
    proof = response.get_json()
    assert (proof["from"], proof["to"]) == (old["size"], new["size"])
    assert independently_consistent(
        old["size"], new["size"], bytes.fromhex(old["root"]), bytes.fromhex(new["root"]),
        [bytes.fromhex(x) for x in proof["hashes"]],
    )


@pytest.mark.parametrize(("query", "field"), [
    ("proof/inclusion?index={n}&size={n}", "index"),
    ("proof/inclusion?index=0&size={past}", "size"),
    ("proof/inclusion?index=-1&size=1", "index"),
    ("proof/inclusion?index=0&size=0", "size"),
    ("proof/inclusion?index=x&size=1", "index"),
    ("proof/inclusion?size=1", "index"),
    ("proof/consistency?from=3&to=2", "from"),
    ("proof/consistency?from=0&to={past}", "to"),
    ("proof/consistency?from=-1&to=1", "from"),
    ("proof/consistency?to=1", "from"),
])
def test_anything_outside_the_tree_is_a_problem_naming_the_field(client, timeline, query, field):
    n = client.get("/api/v1/audit/tree").get_json()["size"]
    before = timeline.audit.count()
    response = client.get("/api/v1/audit/" + query.format(n=n, past=n + 1))
    assert is_problem(response, 422)
    assert field in response.get_json()["errors"], response.get_json()
    assert timeline.audit.count() == before
