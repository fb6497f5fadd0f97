"""Signed checkpoints: known answers from golang.org/x/mod/sumdb/note, strict parsing, tampering."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.checkpoint import (
    MAX_SIGNATURES,
    Checkpoint,
    CheckpointError,
    NoteError,
    NoteSigner,
    NoteVerifier,
    open_checkpoint,
    sign_checkpoint,
)
from crypto.merkle import MemoryStore, consistency_proof, verify_consistency

DASH = "\u2014"

# golang.org/x/mod sumdb/note/note_test.go (TestSign, TestOpen): a private key in
# Go's "PRIVATE+KEY+<name>+<hash>+base64(0x01 || seed)" form, its verifier key,
# and the exact signed note Go produces.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    b"If you think cryptography is the answer to your problem,\n"
    b"then you don't know what your problem is.\n"
)
PETER_SIG = (
    f"{DASH} PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
).encode()
ENOCH_SIG = (
    f"{DASH} EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
).encode()

# The example of an earlier version of c2sp.org/signed-note (kept by several
# implementations as their interop vector; it verifies, so it is self-checking).
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    f"{DASH} example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
).encode()

# The worked example of docs/audit-log.md: a documentation-only key (seed 00..1f),
# the eight leaves of shared/vectors/README.md, checkpoints at sizes 6 and 8.
DOC_ORIGIN = "hub.alertnet.example/audit"
DOC_VKEY = "hub.alertnet.example/audit+7dbfeb8f+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
DOC_NOTE_6 = (
    "hub.alertnet.example/audit\n6\nduZ9rbzfHhDht03cYIq9L5jfsW+851J3tSMqEn8gh+8=\n\n"
    f"{DASH} hub.alertnet.example/audit "
    "fb/rj4ORGk23RYuYWxReF4J1DfaIZcZGbDm0sOWaxgIug55zI4ucYoIWasM//zblCUOdcaaKsPxqRE+MAiYxQ6i/vQk=\n"
).encode()
DOC_NOTE_8 = (
    "hub.alertnet.example/audit\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n"
    f"{DASH} hub.alertnet.example/audit "
    "fb/rj9ugS46Pc/7U43FayZYdoaS3OVM1lIDquYyWohZFudtLyL/bAcgT2Xzhf8hervZWlPXCcMwTqPrWj4cyG0nJ0Q0=\n"
).encode()
DOC_PROOF_6_8 = [
    "DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
    "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
    "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=",
]
README_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

ROOT = hashlib.sha256(b"a root").digest()
ORIGIN = "alertnet.test/audit"


def peter_signer() -> NoteSigner:
    _, _, name, _, encoded = PETER_SKEY.split("+", 4)
    raw = base64.b64decode(encoded)
    assert raw[0] == 0x01
    return NoteSigner(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))


@pytest.fixture(scope="module")
def hub() -> NoteSigner:
    return NoteSigner(ORIGIN, Ed25519PrivateKey.generate())


@pytest.fixture(scope="module")
def hub_verifier(hub: NoteSigner) -> NoteVerifier:
    return NoteVerifier.from_vkey(hub.verifier_key())


# --- known answers -----------------------------------------------------------------


def test_go_private_key_derives_the_go_verifier_key_and_signature() -> None:
    signer = peter_signer()
    assert signer.key_id == 0xC74F20A3
    assert signer.verifier_key() == PETER_VKEY
    assert signer.sign(GO_TEXT) == GO_TEXT + b"\n" + PETER_SIG


def test_go_notes_open_with_one_or_both_known_keys() -> None:
    peter, enoch = NoteVerifier.from_vkey(PETER_VKEY), NoteVerifier.from_vkey(ENOCH_VKEY)
    both = GO_TEXT + b"\n" + PETER_SIG + ENOCH_SIG
    assert peter.verify(both) == GO_TEXT
    assert enoch.verify(both) == GO_TEXT
    assert enoch.key_id == 0xAF0CFE78
    assert peter.verifier_key() == PETER_VKEY
    with pytest.raises(NoteError, match="not signed by EnochRoot"):
        enoch.verify(GO_TEXT + b"\n" + PETER_SIG)


def test_signed_note_spec_example_verifies() -> None:
    verifier = NoteVerifier.from_vkey(SPEC_VKEY)
    assert verifier.key_id == 0x530D903A
    assert verifier.verify(SPEC_NOTE) == b"This is an example message.\n"


def test_documented_example_checkpoints_are_exact() -> None:
    store = MemoryStore.from_entries(README_LEAVES)
    signer = NoteSigner(DOC_ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    assert signer.verifier_key() == DOC_VKEY
    assert sign_checkpoint(Checkpoint(DOC_ORIGIN, 6, store.root(6)), signer) == DOC_NOTE_6
    assert sign_checkpoint(Checkpoint(DOC_ORIGIN, 8, store.root(8)), signer) == DOC_NOTE_8

    # What a school does with them: open both, then check the proof between them.
    verifier = NoteVerifier.from_vkey(DOC_VKEY)
    kept = open_checkpoint(DOC_NOTE_6, verifier, DOC_ORIGIN)
    latest = open_checkpoint(DOC_NOTE_8, verifier, DOC_ORIGIN)
    proof = consistency_proof(kept.size, latest.size, store.get)
    assert [base64.b64encode(h).decode() for h in proof] == DOC_PROOF_6_8
    verify_consistency(kept.size, latest.size, kept.root, latest.root, proof)


# --- verifier keys ---------------------------------------------------------------------


def test_every_mangling_of_a_verifier_key_is_refused() -> None:
    """golang.org/x/mod TestNewVerifier: every proper substring and every +1 byte fails."""
    key = PETER_VKEY
    for i in range(len(key) + 1):
        for j in range(i + 1, len(key) + 1):
            if (i, j) != (0, len(key)):
                with pytest.raises(NoteError):
                    NoteVerifier.from_vkey(key[i:j])
    for i in range(len(key)):
        mangled = key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :]
        with pytest.raises(NoteError):
            NoteVerifier.from_vkey(mangled)


@pytest.mark.parametrize(
    ("vkey", "message"),
    [
        # from golang.org/x/mod: wrong key length and unknown algorithm, key hash adjusted
        (
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
            "base64",
        ),
        ("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "Ed25519"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "malformed"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq_LDE4izWy10TW", "base64"),
        ("PeterNeumann+769759b3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy1w==", "32 bytes"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
        ("+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "key name"),
    ],
)
def test_bad_verifier_keys_say_why(vkey: str, message: str) -> None:
    with pytest.raises(NoteError, match=message):
        NoteVerifier.from_vkey(vkey)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "tab\there", "nbsp\u00a0here"])
def test_key_names_with_spaces_or_plus_are_refused(name: str) -> None:
    with pytest.raises(NoteError, match="invalid key name"):
        NoteSigner(name, Ed25519PrivateKey.generate())


# --- checkpoint bodies ---------------------------------------------------------------------


def test_checkpoint_body_is_byte_exact() -> None:
    cp = Checkpoint("example.com/behind-the-sofa", 20852163, ROOT, ("ext one", "ext two"))
    root64 = base64.b64encode(ROOT).decode()
    assert (
        cp.body()
        == (f"example.com/behind-the-sofa\n20852163\n{root64}\next one\next two\n").encode()
    )
    assert Checkpoint.parse(cp.body()) == cp
    assert Checkpoint.parse(Checkpoint(ORIGIN, 0, ROOT).body()).size == 0


def test_the_spec_example_body_parses() -> None:
    body = b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    cp = Checkpoint.parse(body)
    assert (cp.origin, cp.size, cp.extensions) == ("example.com/behind-the-sofa", 20852163, ())
    assert cp.body() == body


@settings(max_examples=50, deadline=None)
@given(
    origin=st.text(
        st.characters(min_codepoint=0x20, exclude_categories=("Cs",)), min_size=1, max_size=40
    ),
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(st.characters(min_codepoint=0x20, exclude_categories=("Cs",)), min_size=1),
        max_size=3,
    ),
)
def test_any_valid_checkpoint_round_trips(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    cp = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(cp.body()) == cp


GOOD_ROOT = base64.b64encode(ROOT).decode()
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
NONCANONICAL_ROOT = GOOD_ROOT[:-2] + _B64[_B64.index(GOOD_ROOT[-2]) ^ 1] + "="
URLSAFE_ROOT = base64.urlsafe_b64encode(b"\xff" * 32).decode()


@pytest.mark.parametrize(
    "body",
    [
        f"{ORIGIN}\n5\n{GOOD_ROOT}",  # no final newline
        f"{ORIGIN}\n5\n",  # two lines
        f"\n5\n{GOOD_ROOT}\n",  # empty origin
        f"{ORIGIN}\n05\n{GOOD_ROOT}\n",  # leading zero
        f"{ORIGIN}\n00\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n+5\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n-5\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n 5\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n5 \n{GOOD_ROOT}\n",
        f"{ORIGIN}\n5.0\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n0x5\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n\u0665\n{GOOD_ROOT}\n",  # an Arabic-Indic five: int() would take it
        f"{ORIGIN}\n{2**64}\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n{'9' * 5000}\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n\n{GOOD_ROOT}\n",
        f"{ORIGIN}\n5\n{GOOD_ROOT[:-1]}\n",  # padding missing
        f"{ORIGIN}\n5\n{NONCANONICAL_ROOT}\n",  # unused low bits set
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"{ORIGIN}\n5\n{base64.b64encode(ROOT + b'x').decode()}\n",
        f"{ORIGIN}\n5\n{URLSAFE_ROOT}\n",
        f"{ORIGIN}\n5\n {GOOD_ROOT}\n",
        f"{ORIGIN}\n5\n{GOOD_ROOT}\n\n",  # empty extension line
        f"{ORIGIN}\n5\n{GOOD_ROOT}\n\next\n",
        f"{ORIGIN}\r\n5\r\n{GOOD_ROOT}\r\n",
        f"{ORIGIN}\n5\n{GOOD_ROOT}\nbell\x07\n",
    ],
)
def test_malformed_checkpoint_bodies_are_refused(body: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(body.encode())


def test_non_utf8_checkpoint_is_refused() -> None:
    with pytest.raises(CheckpointError, match="UTF-8"):
        Checkpoint.parse(b"\xff\n5\n" + GOOD_ROOT.encode() + b"\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", 1, ROOT), "origin must not be empty"),
        (("a\nb", 1, ROOT), "one line"),
        ((ORIGIN, -1, ROOT), "tree size"),
        ((ORIGIN, 2**64, ROOT), "tree size"),
        ((ORIGIN, True, ROOT), "tree size"),
        ((ORIGIN, 1, ROOT[:16]), "32 bytes"),
        ((ORIGIN, 1, ROOT, ("",)), "extension line must not be empty"),
        ((ORIGIN, 1, ROOT, ("x\n9",)), "one line"),
    ],
)
def test_checkpoints_that_would_not_parse_cannot_be_built(
    args: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(CheckpointError, match=message):
        Checkpoint(*args)


# --- signing and opening -----------------------------------------------------------


def test_checkpoint_round_trip(hub: NoteSigner, hub_verifier: NoteVerifier) -> None:
    cp = Checkpoint(ORIGIN, 42, ROOT)
    note = sign_checkpoint(cp, hub)
    assert note.startswith(cp.body() + b"\n" + f"{DASH} {ORIGIN} ".encode())
    assert open_checkpoint(note, hub_verifier, ORIGIN) == cp
    assert hub_verifier.key_id == hub.key_id
    assert hub_verifier.verifier_key() == hub.verifier_key()


def test_checkpoint_for_another_log_is_refused(hub: NoteSigner, hub_verifier: NoteVerifier) -> None:
    note = sign_checkpoint(Checkpoint("staging.alertnet.test/audit", 42, ROOT), hub)
    with pytest.raises(CheckpointError, match="staging"):
        open_checkpoint(note, hub_verifier, ORIGIN)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"\n42\n", b"\n43\n"),  # a bigger log
        (b"\n42\n", b"\n4\n"),
        (GOOD_ROOT[:8].encode(), b"AAAAAAAA"),  # another root
        (ORIGIN.encode(), b"alertnet.test/audi7"),
    ],
)
def test_tampered_checkpoint_is_refused(
    hub: NoteSigner, hub_verifier: NoteVerifier, old: bytes, new: bytes
) -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), hub)
    tampered = note.replace(old, new, 1)
    assert tampered != note
    with pytest.raises(NoteError, match="invalid signature"):
        hub_verifier.verify(tampered)


def test_checkpoint_signed_by_another_key_is_refused(hub_verifier: NoteVerifier) -> None:
    impostor = NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    note = sign_checkpoint(Checkpoint(ORIGIN, 42, ROOT), impostor)
    # Same name, different key ID: an unknown key, so its signature is ignored.
    with pytest.raises(NoteError, match="not signed by"):
        open_checkpoint(note, hub_verifier, ORIGIN)


def test_signature_forged_under_our_key_id_is_refused(
    hub: NoteSigner, hub_verifier: NoteVerifier
) -> None:
    body = Checkpoint(ORIGIN, 42, ROOT).body()
    forged = base64.b64encode(hub.key_id.to_bytes(4, "big") + bytes(64)).decode()
    note = body + b"\n" + f"{DASH} {ORIGIN} {forged}\n".encode()
    with pytest.raises(NoteError, match="invalid signature"):
        hub_verifier.verify(note)
    # ...even next to a good one: a bad signature by a known key spoils the note.
    with pytest.raises(NoteError, match="invalid signature"):
        hub_verifier.verify(hub.sign(body) + f"{DASH} {ORIGIN} {forged}\n".encode())
    short = base64.b64encode(hub.key_id.to_bytes(4, "big") + bytes(10)).decode()
    with pytest.raises(NoteError, match="invalid signature"):
        hub_verifier.verify(body + b"\n" + f"{DASH} {ORIGIN} {short}\n".encode())


def test_unknown_signatures_are_ignored(hub: NoteSigner, hub_verifier: NoteVerifier) -> None:
    body = Checkpoint(ORIGIN, 42, ROOT).body()
    witness = NoteSigner("witness.example/w1", Ed25519PrivateKey.generate())
    ours = hub.signature_line(body).encode()
    theirs = witness.signature_line(body).encode()
    garbage = f"{DASH} someone.else AAAAAAAAAAAAAAA=\n".encode()  # unknown and not even valid
    for block in (ours + theirs, theirs + ours, garbage + ours + theirs, ours + ours):
        assert hub_verifier.verify(body + b"\n" + block) == body
    with pytest.raises(NoteError, match="not signed by"):
        hub_verifier.verify(body + b"\n" + theirs + garbage)


def _go_malformed() -> list[bytes]:
    text, sig = GO_TEXT, PETER_SIG
    return [
        # golang.org/x/mod TestOpen "invalid encoded message syntax"
        text,
        text + b"\n",
        text + b"\n" + sig[:-1],
        b"\x01" + text + b"\n" + sig,
        b"\xff" + text + b"\n" + sig,
        text + b"\n" + sig.replace(b"PeterNeumann", b"Bad Name"),
        text + b"\n" + sig + b"Unexpected line.\n",
        # and more of the same family
        text + b"\n" + sig.replace(DASH.encode(), b"-"),
        text + b"\n" + sig.replace(DASH.encode() + b" ", DASH.encode()),
        text + b"\n" + sig.replace(b" x08go", b"  x08go"),
        text + b"\n" + sig.replace(b"x08go", b"x08g!"),
        text + b"\n" + sig.replace(b"AM=\n", b"AM\n"),
        text + b"\n" + f"{DASH} PeterNeumann x08gow==\n".encode(),  # shorter than 5 bytes
        text + b"\n" + f"{DASH} PeterNeumann\n".encode(),
        text + b"\n" + f"{DASH} PeterNeumann \n".encode(),
        text + b"\n" + sig + b"\n",
        text + b"\n" + sig.replace(b"\n", b"\r\n"),
        text + b"\n" + sig * (MAX_SIGNATURES + 1),
    ]


@pytest.mark.parametrize("note", _go_malformed())
def test_malformed_notes_are_refused(note: bytes) -> None:
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(PETER_VKEY).verify(note)


def test_up_to_the_signature_limit_is_accepted() -> None:
    many = GO_TEXT + b"\n" + ENOCH_SIG * (MAX_SIGNATURES - 1) + PETER_SIG
    assert NoteVerifier.from_vkey(PETER_VKEY).verify(many) == GO_TEXT


@pytest.mark.parametrize("body", [b"no final newline", b"bell\x07\n", b"\xc3\x28\n"])
def test_signer_refuses_text_a_verifier_would_refuse(hub: NoteSigner, body: bytes) -> None:
    with pytest.raises(NoteError):
        hub.sign(body)


def test_reprs_show_only_the_public_key(hub: NoteSigner, hub_verifier: NoteVerifier) -> None:
    assert hub.verifier_key() in repr(hub)
    assert hub_verifier.verifier_key() in repr(hub_verifier)
