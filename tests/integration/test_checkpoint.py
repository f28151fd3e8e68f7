"""Signed checkpoints (issue 15, section 2): the C2SP note and key formats checked here from
their specifications, the service's ephemeral and configured keys, the CLI's key, checkpoint
and verify --checkpoint, and the auditor's script of the audit guide, run as it stands."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from api import create_app
from tests.integration.test_audit import Raw
from timeline.application import Timeline
from timeline.cli import main
from timeline.vocabulary import ActorKind

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "audit.md"


def register(app: Timeline, count: int) -> None:
    start = app.audit.count()
    for i in range(start, start + count):
        app.register_actor(f"actor-{i}", f"Actor {i}", ActorKind.STATE)


def check_note(note: str, key: str) -> list[str]:
    """The body lines of a note, checked against C2SP signed-note by hand."""
    name, key_id, encoded = key.strip().split("+", 2)
    public = base64.b64decode(encoded)
    assert public[0] == 1 and len(public) == 33
    assert hashlib.sha256(name.encode() + b"\n\x01" + public[1:]).digest()[:4].hex() == key_id
    body, blank, signature = note.partition("\n\n")
    assert blank and signature.startswith("\u2014 ") and signature.endswith("\n")
    signer, encoded_signature = signature[2:].rstrip("\n").split(" ")
    raw = base64.b64decode(encoded_signature)
    assert signer == name and raw[:4].hex() == key_id and len(raw) == 68
    Ed25519PublicKey.from_public_bytes(public[1:]).verify(raw[4:], (body + "\n").encode())
    return body.split("\n")


def test_without_a_key_the_service_signs_with_an_ephemeral_one_and_says_so(store):
    app = create_app({"STORE": store, "TESTING": True, "ORIGIN": "timeline.test/log"})
    register(app.extensions["timeline"], 5)
    client = app.test_client()
    response = client.get("/api/v1/audit/checkpoint")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    key = client.get("/api/v1/audit/key")
    assert key.mimetype == "text/plain"
    lines = check_note(response.text, key.text)
    tree = client.get("/api/v1/audit/tree").get_json()
    assert lines == ["timeline.test/log", str(tree["size"]),
                     base64.b64encode(bytes.fromhex(tree["root"])).decode(),
                     "Timeline-Ephemeral-Key: lost at restart"]
    app.extensions["timeline"].close()


def test_a_configured_key_signs_and_the_cli_holds_the_log_to_its_checkpoint(durable_store,
                                                                            tmp_path):
    runner = CliRunner()

    def cli(*args: str, **env: str):
        return runner.invoke(main, ["--store", durable_store, *args], env=env)

    key_file = tmp_path / "checkpoint.key"
    created = cli("key", "create", str(key_file), "--name", "timeline.test/log")
    assert created.exit_code == 0, created.output
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    verifier = created.output.strip()
    again = cli("key", "create", str(key_file))
    assert again.exit_code == 1 and "never overwritten" in again.output
    assert key_file.read_text().startswith("PRIVATE+KEY+timeline.test/log+")

    app = Timeline(durable_store)
    register(app, 7)
    kept = tmp_path / "kept.txt"
    saved = cli("checkpoint", "-o", str(kept), TIMELINE_SIGNING_KEY=str(key_file),
                TIMELINE_ORIGIN="timeline.test/log")
    assert saved.exit_code == 0, saved.output
    lines = check_note(kept.read_text(), verifier)
    assert lines[:2] == ["timeline.test/log", "7"] and len(lines) == 3  # not ephemeral

    # The service signs with the same key.
    flask_app = create_app({"STORE": durable_store, "TESTING": True,
                            "SIGNING_KEY": str(key_file)})
    assert flask_app.test_client().get("/api/v1/audit/key").text.strip() == verifier
    flask_app.extensions["timeline"].close()

    register(app, 4)
    checked = cli("verify", "--checkpoint", str(kept), "--key", verifier)
    assert checked.exit_code == 0, checked.output
    assert "log at size 11 extends the checkpoint of timeline.test/log at size 7" in checked.output
    # The key from TIMELINE_SIGNING_KEY works as well as one given.
    assert cli("verify", "--checkpoint", str(kept),
               TIMELINE_SIGNING_KEY=str(key_file)).exit_code == 0

    # An altered checkpoint, or one signed by another key, is refused.
    forged = tmp_path / "forged.txt"
    forged.write_text(kept.read_text().replace("\n7\n", "\n6\n"))
    refused = cli("verify", "--checkpoint", str(forged), "--key", verifier)
    assert refused.exit_code == 1 and "does not verify" in refused.output
    other = cli("key", "create", str(tmp_path / "other.key"), "--name", "timeline.test/log")
    refused = cli("verify", "--checkpoint", str(kept), "--key", other.output.strip())
    assert refused.exit_code == 1 and "no signature by" in refused.output

    # A log whose first four events were rewritten (and its tree rebuilt over them) no
    # longer extends the checkpoint: the proof from 7 to 11 carries the hash of leaves 0-3.
    raw = Raw(durable_store)
    # Node (level 2, index 0) is the third hash of leaf 3's row.
    [(row,)] = raw.run("SELECT hashes FROM event_tree_rows WHERE leaf = 3")
    assert len(row) == 3 * 32
    raw.attack("UPDATE event_tree_rows SET hashes = ? WHERE leaf = 3",
               params=(bytes(row[:64]) + bytes(32),))
    broken = cli("verify", "--checkpoint", str(kept), "--key", verifier)
    assert broken.exit_code == 1, broken.output
    assert "NOT CONSISTENT with the checkpoint" in broken.output
    # A node removed is reported as damage, not a crash.
    raw.attack("UPDATE event_tree_rows SET hashes = ? WHERE leaf = 3", params=(bytes(row[:64]),))
    damaged = cli("verify", "--checkpoint", str(kept), "--key", verifier)
    assert damaged.exit_code == 1 and "Error: the Merkle tree has no node" in damaged.output
    app.close()


def auditor_script() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(r"<!-- auditor.py[^>]*-->\n```python\n(.*?)```", text, re.DOTALL)
    assert found, "the audit guide has no auditor's script"
    return found.group(1)


def test_the_auditors_script_of_the_guide_checks_checkpoints_and_a_proof(store, tmp_path):
    app = create_app({"STORE": store, "TESTING": True})
    timeline = app.extensions["timeline"]
    client = app.test_client()
    register(timeline, 3)
    (tmp_path / "key.txt").write_text(client.get("/api/v1/audit/key").text)
    (tmp_path / "old.txt").write_text(client.get("/api/v1/audit/checkpoint").text)
    register(timeline, 6)
    (tmp_path / "new.txt").write_text(client.get("/api/v1/audit/checkpoint").text)
    proof = client.get("/api/v1/audit/proof/consistency?from=3&to=9").get_json()
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    script = tmp_path / "auditor.py"
    script.write_text(auditor_script())

    def audit(*files: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), *files], cwd=tmp_path, check=False,
                              capture_output=True, text=True, timeout=60)

    ok = audit("key.txt", "old.txt", "new.txt", "proof.json")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "OK: the log at size 9 extends the log at size 3"
    # Every hash of the proof matters; a forged checkpoint fails its signature.
    for at in range(len(proof["hashes"])):
        bad = dict(proof, hashes=list(proof["hashes"]))
        bad["hashes"][at] = ("0" if bad["hashes"][at][0] != "0" else "1") + bad["hashes"][at][1:]
        (tmp_path / "bad.json").write_text(json.dumps(bad))
        failed = audit("key.txt", "old.txt", "new.txt", "bad.json")
        assert failed.returncode != 0 and "NOT CONSISTENT" in failed.stderr
    (tmp_path / "forged.txt").write_text((tmp_path / "old.txt").read_text().replace("\n3\n",
                                                                                    "\n2\n"))
    forged = audit("key.txt", "forged.txt", "new.txt", "proof.json")
    assert forged.returncode != 0 and "InvalidSignature" in forged.stderr
    timeline.close()


@pytest.mark.parametrize("text", ["", "a+b", "name+00000000+AAAA", "PRIVATE+KEY+x+00+AA=="])
def test_a_malformed_verifier_key_is_a_clear_error(store, tmp_path, text):
    kept = tmp_path / "kept.txt"
    kept.write_text("x\n1\nAAAA\n\n\u2014 x AAAA\n")
    result = CliRunner().invoke(main, ["--store", store, "verify", "--checkpoint", str(kept),
                                       "--key", text or "''"])
    assert result.exit_code == 1 and "Error: not a verifier key" in result.output
    assert "Traceback" not in result.output


def test_a_configured_key_that_cannot_be_read_fails_the_start(tmp_path):
    from api import create_app
    from timeline.checkpoint import CheckpointError, SigningKey, write_key

    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    with pytest.raises(CheckpointError):
        create_app({"STORE": "memory://", "SIGNING_KEY": str(bad)})
    good = tmp_path / "good.key"
    write_key(good, SigningKey.generate("timeline.example"))
    app = create_app({"STORE": "memory://", "SIGNING_KEY": str(good)})
    assert not app.extensions["signing_key"].ephemeral
    app.extensions["timeline"].close()
