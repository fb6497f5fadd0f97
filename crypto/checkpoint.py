"""Signed checkpoints of the audit log: C2SP tlog-checkpoint inside a C2SP signed note.

A checkpoint commits the hub to one root hash per tree size. A school keeps the
last one it has verified and later asks for a consistency proof to the newest:
if the hub ever rewrote history it would have signed two incompatible
checkpoints, and either one is evidence.

The formats are the ones the transparency-log ecosystem uses
(https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint, and the key
strings of golang.org/x/mod/sumdb/note), so existing witnesses and tools can
read our checkpoints. Only Ed25519 keys (signature type 0x01) are supported.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "MAX_SIGNATURES",
    "Checkpoint",
    "CheckpointError",
    "NoteError",
    "NoteSigner",
    "NoteVerifier",
    "open_checkpoint",
    "sign_checkpoint",
]

#: Signature type byte of Ed25519 in signed notes.
ALG_ED25519 = 0x01
#: Refuse notes with more signature lines than this (the spec asks for >= 16;
#: golang.org/x/mod/sumdb/note uses 100) so parsing stays cheap.
MAX_SIGNATURES = 100
#: Tree sizes are uint64 everywhere else in the ecosystem.
MAX_TREE_SIZE = 2**64 - 1

_SIG_PREFIX = "\u2014 "  # em dash, space
_DECIMAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}", re.ASCII)
_HEX8 = re.compile(r"[0-9a-f]{8}", re.ASCII)


class NoteError(ValueError):
    """A signed note is malformed, or carries no valid signature by the expected key."""


class CheckpointError(NoteError):
    """A checkpoint body is malformed, or is not for the expected log."""


# --- checkpoint body ------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """One signed statement of the log: its origin, size and root hash.

    Validated on construction, so a ``Checkpoint`` always renders to a body that
    parses back to itself.
    """

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"tree size must be an integer in [0, 2^64), got {self.size!r}")
        if len(self.root) != 32:
            raise CheckpointError(f"root hash must be 32 bytes, got {len(self.root)}")
        for ext in self.extensions:
            _check_line(ext, "extension line")

    def body(self) -> bytes:
        """The note text: origin, size, base64 root, extensions, each ending in a newline."""
        lines = [
            self.origin,
            str(self.size),
            base64.b64encode(self.root).decode(),
            *self.extensions,
        ]
        return "".join(line + "\n" for line in lines).encode()

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        """Parse a note text strictly: anything ``body()`` would not produce is refused."""
        text = _decode_note_text(body, CheckpointError)
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError(f"checkpoint needs at least 3 lines, got {len(lines)}")
        origin, size_line, root_line, *extensions = lines
        if len(size_line) > len(str(MAX_TREE_SIZE)) or not _DECIMAL.fullmatch(size_line):
            raise CheckpointError(f"tree size {size_line!r} is not a canonical decimal")
        root = _decode_base64(root_line, CheckpointError, "root hash")
        return cls(origin, int(size_line), root, tuple(extensions))


# --- signed notes ---------------------------------------------------------------------


def _key_id(name: str, public_key: bytes) -> int:
    """Key ID = first 4 bytes of SHA-256(name || "\\n" || 0x01 || public key), big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def _verifier_key(name: str, key_id: int, public_key: bytes) -> str:
    """``<name>+<8 hex key ID>+<base64(0x01 || public key)>`` (golang.org/x/mod/sumdb/note)."""
    encoded = base64.b64encode(bytes([ALG_ED25519]) + public_key).decode()
    return f"{name}+{key_id:08x}+{encoded}"


class NoteSigner:
    """Signs note texts with an Ed25519 key under a key name (for the hub, its origin)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        _check_key_name(name)
        self.name = name
        self._private_key = private_key
        self.public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = _key_id(name, self.public_key)

    def __repr__(self) -> str:
        return f"NoteSigner({self.verifier_key()!r})"

    def verifier_key(self) -> str:
        """The public "vkey" string a school configures to trust this signer."""
        return _verifier_key(self.name, self.key_id, self.public_key)

    def signature_line(self, body: bytes) -> str:
        """One ``— name base64(key ID || signature)`` line, for adding to a note."""
        _decode_note_text(body, NoteError)
        if not body.endswith(b"\n"):
            raise NoteError("note text must end with a newline")
        signature = self._private_key.sign(body)
        blob = base64.b64encode(self.key_id.to_bytes(4, "big") + signature).decode()
        return f"{_SIG_PREFIX}{self.name} {blob}\n"

    def sign(self, body: bytes) -> bytes:
        """Return the complete signed note: text, blank line, our signature line."""
        return body + b"\n" + self.signature_line(body).encode()


class NoteVerifier:
    """Verifies notes signed by one trusted Ed25519 key, ignoring other keys' signatures."""

    def __init__(self, name: str, public_key: bytes) -> None:
        _check_key_name(name)
        if len(public_key) != 32:
            raise NoteError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
        self.name = name
        self.public_key = public_key
        self.key_id = _key_id(name, public_key)
        self._key = Ed25519PublicKey.from_public_bytes(public_key)

    def __repr__(self) -> str:
        return f"NoteVerifier.from_vkey({self.verifier_key()!r})"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse ``<name>+<8 hex key ID>+<base64(0x01 || public key)>``, checking the key ID."""
        name, sep1, rest = vkey.partition("+")
        key_id_hex, sep2, encoded = rest.partition("+")
        if not (sep1 and sep2 and _HEX8.fullmatch(key_id_hex)):
            raise NoteError("malformed verifier key: want <name>+<8 hex digits>+<base64 key>")
        raw = _decode_base64(encoded, NoteError, "verifier key")
        if not raw or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 (type 0x01) key")
        verifier = cls(name, raw[1:])
        if verifier.key_id != int(key_id_hex, 16):
            raise NoteError("verifier key ID does not match its name and public key")
        return verifier

    def verifier_key(self) -> str:
        """The vkey string this verifier was built from (canonical form)."""
        return _verifier_key(self.name, self.key_id, self.public_key)

    def verify(self, note: bytes) -> bytes:
        """Return the note text if our key signed it; raise ``NoteError`` otherwise.

        Signatures by other keys (witnesses, a rotated key) are ignored, as the
        spec requires; every signature claiming to be ours must verify.
        """
        _decode_note_text(note, NoteError)
        split = note.rfind(b"\n\n")
        if split < 0:
            raise NoteError("malformed note: no blank line before the signatures")
        text, block = note[: split + 1], note[split + 2 :]
        if not block.endswith(b"\n"):
            raise NoteError("malformed note: the signature block must end with a newline")
        lines = block.decode()[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise NoteError(f"malformed note: more than {MAX_SIGNATURES} signatures")
        ours = 0
        for line in lines:
            name, key_id, signature = _parse_signature_line(line)
            if name != self.name or key_id != self.key_id:
                continue
            try:
                self._key.verify(signature, text)
            except InvalidSignature:
                raise NoteError(f"invalid signature by {self.name}+{self.key_id:08x}") from None
            ours += 1
        if not ours:
            raise NoteError(f"note is not signed by {self.name}+{self.key_id:08x}")
        return text


class RotatedVerifier(NoteVerifier):
    """The current key and the keys it replaced: a note verifies if the current
    key signed it or, for notes signed before a rotation, a retired one did.
    Everything else about it (its name, its vkey) is the current key's."""

    def __init__(self, current: NoteVerifier, retired: list[NoteVerifier]) -> None:
        super().__init__(current.name, current.public_key)
        for old in retired:
            if old.name != current.name:
                raise NoteError(f"a retired key is named {old.name!r}, not {current.name!r}")
        self.retired = list(retired)

    def verify(self, note: bytes) -> bytes:
        try:
            return super().verify(note)
        except NoteError as error:
            for old in self.retired:
                try:
                    return old.verify(note)
                except NoteError:
                    continue
            raise error from None


def _parse_signature_line(line: str) -> tuple[str, int, bytes]:
    if not line.startswith(_SIG_PREFIX):
        raise NoteError("malformed note: signature lines must start with an em dash and a space")
    name, sep, encoded = line[len(_SIG_PREFIX) :].partition(" ")
    if not sep:
        raise NoteError("malformed note: signature line without a signature")
    _check_key_name(name)
    blob = _decode_base64(encoded, NoteError, "signature")
    if len(blob) < 5:
        raise NoteError("malformed note: signature too short")
    return name, int.from_bytes(blob[:4], "big"), blob[4:]


# --- checkpoints as signed notes --------------------------------------------------------


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> bytes:
    """The signed note the hub publishes for ``checkpoint``."""
    return signer.sign(checkpoint.body())


def open_checkpoint(note: bytes, verifier: NoteVerifier, origin: str) -> Checkpoint:
    """Verify a signed checkpoint and check it is for the log ``origin``.

    The origin check stops a checkpoint of another log signed by the same key
    (say, a test hub) being accepted for this one.
    """
    checkpoint = Checkpoint.parse(verifier.verify(note))
    if checkpoint.origin != origin:
        raise CheckpointError(f"checkpoint is for {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


# --- helpers ----------------------------------------------------------------------------


def _decode_note_text(data: bytes, error: type[NoteError]) -> str:
    """Decode UTF-8 and refuse ASCII control characters other than newline (signed-note)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise error("note is not valid UTF-8") from None
    if any(ord(ch) < 0x20 and ch != "\n" for ch in text):
        raise error("note contains a control character")
    return text


def _check_line(value: str, what: str) -> None:
    if not value:
        raise CheckpointError(f"{what} must not be empty")
    if any(ord(ch) < 0x20 for ch in value):
        raise CheckpointError(f"{what} must be one line without control characters")


def _check_key_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"invalid key name {name!r}: must be non-empty, without spaces or '+'")
    if any(ord(ch) < 0x20 for ch in name):
        raise NoteError(f"invalid key name {name!r}: control character")


def _decode_base64(text: str, error: type[NoteError], what: str) -> bytes:
    """Standard padded base64, refusing any encoding but the canonical one."""
    if not _BASE64.fullmatch(text):
        raise error(f"{what} is not standard base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise error(f"{what} is not standard base64") from None
    if base64.b64encode(raw).decode() != text:
        raise error(f"{what} is not canonical base64")
    return raw
