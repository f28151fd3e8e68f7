"""Signed checkpoints of the Merkle tree: C2SP tlog-checkpoint bodies in C2SP signed notes, Ed25519.

A checkpoint is the note

    <origin>
    <tree size>
    <base64 root hash>
    [Timeline-Ephemeral-Key: lost at restart]   (only when the service made its key at start)

    — <key name> <base64(4-byte key id ‖ 64-byte Ed25519 signature)>

signed over everything before the blank line. The key id is SHA-256(name ‖ 0x0A ‖ 0x01 ‖
public key)[:4]. Keys are written as the signed-note tools write them: the signer key
`PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ 32-byte seed)>` (kept secret, mode 0600), the
verifier key `<name>+<hex key id>+<base64(0x01 ‖ 32-byte public key)>` (published).
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ED25519 = b"\x01"  # the signed-note algorithm byte
EPHEMERAL = "Timeline-Ephemeral-Key: lost at restart"
SIGNATURE_PREFIX = "\u2014 "  # an em dash and a space


class CheckpointError(ValueError):
    """A key or a checkpoint is malformed, or its signature does not verify."""


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def check_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name):
        raise CheckpointError(f"key name {name!r}: give a non-empty name with no spaces or '+'")
    return name


@dataclass(frozen=True)
class VerifierKey:
    """The public half: what an auditor keeps to check checkpoints."""

    name: str
    public: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.public.public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.raw)

    def __str__(self) -> str:
        return f"{self.name}+{self.id.hex()}+{base64.b64encode(ED25519 + self.raw).decode()}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        try:
            name, hex_id, encoded = text.strip().split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
            if raw[:1] != ED25519 or len(raw) != 33:
                raise ValueError("not an Ed25519 key")
            key = cls(check_name(name), Ed25519PublicKey.from_public_bytes(raw[1:]))
        except (ValueError, TypeError) as error:
            raise CheckpointError(f"not a verifier key (name+keyid+base64): {error}") from None
        if key.id.hex() != hex_id.lower():
            raise CheckpointError("the verifier key's id does not match its name and key")
        return key


@dataclass(frozen=True)
class SigningKey:
    """The private half, and whether it was made at start (so dies with the process)."""

    name: str
    private: Ed25519PrivateKey
    ephemeral: bool = False

    @property
    def verifier(self) -> VerifierKey:
        return VerifierKey(self.name, self.private.public_key())

    def __str__(self) -> str:
        seed = self.private.private_bytes_raw()
        return (f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+"
                f"{base64.b64encode(ED25519 + seed).decode()}")

    @classmethod
    def generate(cls, name: str, ephemeral: bool = False) -> SigningKey:
        return cls(check_name(name), Ed25519PrivateKey.generate(), ephemeral)

    @classmethod
    def parse(cls, text: str) -> SigningKey:
        try:
            private, key, name, hex_id, encoded = text.strip().split("+", 4)
            raw = base64.b64decode(encoded, validate=True)
            if (private, key) != ("PRIVATE", "KEY") or raw[:1] != ED25519 or len(raw) != 33:
                raise ValueError("not an Ed25519 signer key")
            signing = cls(check_name(name), Ed25519PrivateKey.from_private_bytes(raw[1:]))
        except (ValueError, TypeError) as error:
            raise CheckpointError(
                f"not a signer key (PRIVATE+KEY+name+keyid+base64): {error}") from None
        if signing.verifier.id.hex() != hex_id.lower():
            raise CheckpointError("the signer key's id does not match its name and key")
        return signing


def write_key(path: Path, key: SigningKey) -> None:
    """Write a signer key readable by its owner only; never replace an existing file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"{key}\n")


def read_key(path: Path) -> SigningKey:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CheckpointError(f"cannot read the signing key {path}: {error.strerror}") from None
    return SigningKey.parse(text)


def default_origin() -> str:
    return os.environ.get("TIMELINE_ORIGIN") or socket.gethostname()


def configured_key(path: str | None = None, origin: str | None = None) -> SigningKey:
    """The key in `path` (else TIMELINE_SIGNING_KEY), else an ephemeral one named after the
    origin, made now: its checkpoints say so, and it is lost when the process ends."""
    path = path or os.environ.get("TIMELINE_SIGNING_KEY")
    if path:
        return read_key(Path(path))
    return SigningKey.generate(check_name(origin or default_origin()), ephemeral=True)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    ephemeral: bool = False

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        if self.ephemeral:
            lines.append(EPHEMERAL)
        return "\n".join(lines) + "\n"

    def sign(self, key: SigningKey) -> str:
        """The signed note."""
        body = self.body()
        signature = key.private.sign(body.encode())
        encoded = base64.b64encode(key.verifier.id + signature).decode()
        return f"{body}\n{SIGNATURE_PREFIX}{key.name} {encoded}\n"


def open_checkpoint(note: str, verifier: VerifierKey) -> Checkpoint:
    """The checkpoint in a signed note, if `verifier` signed it; else CheckpointError."""
    body, separator, signatures = note.partition("\n\n")
    if not separator or not body:
        raise CheckpointError("not a signed note: no blank line before the signatures")
    body += "\n"
    signed = False
    for line in signatures.splitlines():
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError(f"not a signature line: {line!r}")
        name, _, encoded = line[len(SIGNATURE_PREFIX):].partition(" ")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise CheckpointError("a signature is not base64") from None
        if name != verifier.name or raw[:4] != verifier.id:
            continue  # another witness's signature
        try:
            verifier.public.verify(raw[4:], body.encode())
        except InvalidSignature:
            raise CheckpointError(f"the signature of {name} does not verify") from None
        signed = True
    if not signed:
        raise CheckpointError(f"no signature by {verifier.name} ({verifier.id.hex()})")
    lines = body.splitlines()
    if len(lines) < 3 or not lines[1].isdigit():
        raise CheckpointError("the checkpoint body is not origin, size and root")
    try:
        root = base64.b64decode(lines[2], validate=True)
    except ValueError:
        raise CheckpointError("the checkpoint's root is not base64") from None
    if len(root) != 32:
        raise CheckpointError("the checkpoint's root is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root, EPHEMERAL in lines[3:])
