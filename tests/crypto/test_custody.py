"""Key custody: password wraps, credential wraps, recovery codes, tokens, sessions, history."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import unicodedata
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import custody
from crypto.custody import (
    FAST_FOR_TESTS,
    RFC9106,
    Argon2Params,
    chain_previous,
    keywrap_context,
    new_api_token,
    new_recovery_code,
    open_for_session,
    open_previous,
    parse_api_token,
    password_blob_is_current,
    password_owner,
    password_params_of,
    recovery_code_id,
    recovery_credential,
    seal_for_session,
    session_context,
    token_credential,
    token_secret_hash,
    token_secret_matches,
    unwrap_seed_with_password,
    unwrap_with_credential,
    wrap_seed_with_password,
    wrap_to_credential,
)
from crypto.errors import (
    CryptoError,
    MalformedCode,
    MalformedKey,
    UnknownVersion,
    UnwrapError,
    WrongPassword,
)
from crypto.keys import CredentialKey, SchoolKeys

FAST = settings(max_examples=40, deadline=None, database=None)
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# --- Argon2 parameters and password wraps -------------------------------------------


SCHOOL_A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
SCHOOL_B = uuid.UUID("00000000-0000-4000-8000-00000000000b")
MEMBER_A = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
MEMBER_B = uuid.UUID("00000000-0000-4000-8000-0000000000b1")
OWNER = password_owner(MEMBER_A, SCHOOL_A)


def test_rfc9106_parameters_are_the_second_recommended_option() -> None:
    assert Argon2Params(time_cost=3, memory_kib=64 * 1024, lanes=4) == RFC9106


def test_fast_parameters_are_the_smallest_legal_ones() -> None:
    assert Argon2Params(1, 8, 1) == FAST_FOR_TESTS
    for bad in [(0, 8, 1), (1, 7, 1), (1, 15, 2), (1, 8, 0), (1, 2**31, 1), (True, 8, 1)]:
        with pytest.raises(ValueError, match="Argon2"):
            Argon2Params(*bad)


def test_password_wrap_round_trips_and_stores_its_parameters() -> None:
    seed = os.urandom(32)
    params = Argon2Params(2, 16, 2)
    blob = wrap_seed_with_password(seed, "correct horse battery staple", params, OWNER)
    assert unwrap_seed_with_password(blob, "correct horse battery staple", OWNER) == seed
    assert password_params_of(blob) == params
    assert len(blob) == 3 + 12 + 16 + 12 + 32 + 16


def test_password_wrap_with_real_rfc9106_parameters() -> None:
    seed = os.urandom(32)
    blob = wrap_seed_with_password(seed, "a long enough test passphrase", RFC9106, OWNER)
    assert password_params_of(blob) == RFC9106
    assert unwrap_seed_with_password(blob, "a long enough test passphrase", OWNER) == seed


def test_wrong_password_is_reported_as_such() -> None:
    blob = wrap_seed_with_password(os.urandom(32), "right", FAST_FOR_TESTS, OWNER)
    with pytest.raises(WrongPassword):
        unwrap_seed_with_password(blob, "wrong", OWNER)
    with pytest.raises(UnwrapError):  # WrongPassword is an UnwrapError
        unwrap_seed_with_password(blob, "Right", OWNER)


def test_password_blob_layout_is_argon2id_then_aes_gcm() -> None:
    """Decrypt a blob by hand from the documented layout, as another implementation would."""
    seed = os.urandom(32)
    blob = wrap_seed_with_password(seed, "pässwörd", Argon2Params(1, 32, 2), OWNER)
    assert blob[:3] == b"PW\x02"
    t, m, p = (int.from_bytes(blob[i : i + 4], "big") for i in (3, 7, 11))
    assert (t, m, p) == (1, 32, 2)
    salt, nonce, ciphertext = blob[15:31], blob[31:43], blob[43:]
    key = Argon2id(salt=salt, length=32, iterations=t, lanes=p, memory_cost=m).derive(
        "pässwörd".encode()
    )
    aad = b"alertnet/v2/password\0" + blob[:31] + MEMBER_A.bytes + SCHOOL_A.bytes
    assert MEMBER_A.bytes + SCHOOL_A.bytes == OWNER
    assert AESGCM(key).decrypt(nonce, ciphertext, aad) == seed


def test_a_password_blob_moved_to_another_owner_does_not_open() -> None:
    seed = os.urandom(32)
    blob = wrap_seed_with_password(seed, "pw", FAST_FOR_TESTS, OWNER)
    for other in (
        password_owner(MEMBER_B, SCHOOL_A),
        password_owner(MEMBER_A, SCHOOL_B),
        password_owner(MEMBER_A, None),
    ):
        with pytest.raises(WrongPassword):
            unwrap_seed_with_password(blob, "pw", other)
    assert unwrap_seed_with_password(blob, "pw", OWNER) == seed


def test_a_version_1_blob_still_opens_and_asks_to_be_rewrapped() -> None:
    """Blobs made before they named their owner: label-only associated data."""
    seed = os.urandom(32)
    salt, nonce = os.urandom(16), os.urandom(12)
    header = b"PW\x01" + (1).to_bytes(4, "big") + (8).to_bytes(4, "big") + (1).to_bytes(4, "big")
    header += salt
    key = Argon2id(salt=salt, length=32, iterations=1, lanes=1, memory_cost=8).derive(b"pw")
    blob = header + nonce + AESGCM(key).encrypt(nonce, seed, b"alertnet/v1/password\0" + header)
    assert unwrap_seed_with_password(blob, "pw", OWNER) == seed
    assert not password_blob_is_current(blob, FAST_FOR_TESTS)
    current = wrap_seed_with_password(seed, "pw", FAST_FOR_TESTS, OWNER)
    assert password_blob_is_current(current, FAST_FOR_TESTS)
    assert not password_blob_is_current(current, Argon2Params(2, 8, 1))


def test_password_is_nfkc_normalised() -> None:
    seed = os.urandom(32)
    composed = "caf\u00e9 \ufb01sh"  # é precomposed, "fi" ligature
    decomposed = "cafe\u0301 fish"
    assert unicodedata.normalize("NFKC", composed) == unicodedata.normalize("NFKC", decomposed)
    blob = wrap_seed_with_password(seed, composed, FAST_FOR_TESTS, OWNER)
    assert unwrap_seed_with_password(blob, decomposed, OWNER) == seed


def test_each_password_wrap_uses_a_fresh_salt_and_nonce() -> None:
    seed = os.urandom(32)
    a = wrap_seed_with_password(seed, "pw", FAST_FOR_TESTS, OWNER)
    b = wrap_seed_with_password(seed, "pw", FAST_FOR_TESTS, OWNER)
    assert a[15:43] != b[15:43]
    assert a != b


def test_editing_the_stored_parameters_does_not_open_the_blob() -> None:
    blob = wrap_seed_with_password(os.urandom(32), "pw", FAST_FOR_TESTS, OWNER)
    raised = blob[:3] + (2).to_bytes(4, "big") + blob[7:]
    with pytest.raises(WrongPassword):
        unwrap_seed_with_password(raised, "pw", OWNER)


def test_malformed_password_blobs_fail_fast_and_typed() -> None:
    blob = wrap_seed_with_password(os.urandom(32), "pw", FAST_FOR_TESTS, OWNER)
    huge_memory = blob[:7] + (2**32 - 1).to_bytes(4, "big") + blob[11:]
    cases: list[tuple[bytes, type[CryptoError]]] = [
        (blob[:-1], MalformedKey),
        (blob + b"\0", MalformedKey),
        (b"XX" + blob[2:], MalformedKey),
        (blob[:2] + b"\x09" + blob[3:], UnknownVersion),
        (huge_memory, MalformedKey),  # refused before Argon2 allocates 4 TiB
        (b"", MalformedKey),
    ]
    for bad, error in cases:
        with pytest.raises(error):
            unwrap_seed_with_password(bad, "pw", OWNER)
        with pytest.raises(error):
            password_params_of(bad)


def test_only_32_byte_seeds_are_password_wrapped() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_seed_with_password(b"short", "pw", FAST_FOR_TESTS, OWNER)


# --- wraps to credentials -----------------------------------------------------------


MEMBER_7 = uuid.UUID("00000000-0000-4000-8000-000000000007")
MEMBER_8 = uuid.UUID("00000000-0000-4000-8000-000000000008")


def test_credential_wrap_round_trips_and_is_bound_to_credential_and_context() -> None:
    bundle = SchoolKeys.generate(1).to_bytes()
    credential = CredentialKey.generate()
    context = keywrap_context(SCHOOL_A, 1, "member", MEMBER_7)
    blob = wrap_to_credential(bundle, credential.public_bytes(), context)
    assert blob[:3] == b"CW\x01"
    assert len(blob) == 3 + 1120 + len(bundle) + 16
    assert unwrap_with_credential(blob, credential, context) == bundle
    with pytest.raises(UnwrapError):
        unwrap_with_credential(blob, CredentialKey.generate(), context)
    for moved in [
        keywrap_context(SCHOOL_B, 1, "member", MEMBER_7),
        keywrap_context(SCHOOL_A, 2, "member", MEMBER_7),
        keywrap_context(SCHOOL_A, 1, "member", MEMBER_8),
        keywrap_context(SCHOOL_A, 1, "token", MEMBER_7),
        b"",
    ]:
        with pytest.raises(UnwrapError):
            unwrap_with_credential(blob, credential, moved)


def test_keywrap_context_is_unambiguous() -> None:
    # Only ``kind`` varies in length; the fixed-length fields around it cannot
    # absorb a byte from it.
    assert keywrap_context(SCHOOL_A, 1, "member", MEMBER_7) != keywrap_context(
        SCHOOL_A, 1, "members", MEMBER_7
    )
    assert keywrap_context(SCHOOL_A, 1, "b", MEMBER_7) != keywrap_context(
        SCHOOL_A, 256, "b", MEMBER_7
    )
    assert keywrap_context(SCHOOL_A, 1, "b", MEMBER_7) != keywrap_context(
        MEMBER_7, 1, "b", SCHOOL_A
    )


def test_keywrap_context_bytes_are_pinned() -> None:
    """Every stored wrap was made with these bytes (the layout schools/keyring.py
    has always used): a change would leave every school locked out."""
    assert keywrap_context(SCHOOL_A, 2, "recovery", MEMBER_7) == bytes.fromhex(
        "0000000000004000800000000000000a"  # school uuid
        "00"
        "0000000200"  # u32 generation, 0x00
        "7265636f7665727900"  # "recovery", 0x00
        "00000000000040008000000000000007"  # credential uuid
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("school-a", 1, "member", MEMBER_7), TypeError),
        ((SCHOOL_A, 1, "member", "member-7"), TypeError),
        ((SCHOOL_A, -1, "member", MEMBER_7), ValueError),
        ((SCHOOL_A, 2**32, "member", MEMBER_7), ValueError),
        ((SCHOOL_A, True, "member", MEMBER_7), ValueError),
        ((SCHOOL_A, 1, "", MEMBER_7), ValueError),
        ((SCHOOL_A, 1, "mem\0ber", MEMBER_7), ValueError),
        ((SCHOOL_A, 1, "Member", MEMBER_7), ValueError),
    ],
)
def test_keywrap_context_refuses_what_it_cannot_encode_unambiguously(
    args: tuple[object, ...], error: type[Exception]
) -> None:
    with pytest.raises(error):
        keywrap_context(*args)  # type: ignore[arg-type]


def test_flipping_any_byte_of_a_credential_wrap_fails_typed() -> None:
    credential = CredentialKey.generate()
    blob = wrap_to_credential(b"secret" * 5, credential.public_bytes(), b"ctx")
    for i in range(len(blob)):
        bad = blob[:i] + bytes([blob[i] ^ 0x40]) + blob[i + 1 :]
        with pytest.raises(CryptoError):
            unwrap_with_credential(bad, credential, b"ctx")


def test_malformed_credential_wraps_and_keys_are_typed() -> None:
    credential = CredentialKey.generate()
    blob = wrap_to_credential(b"x" * 32, credential.public_bytes(), b"c")
    with pytest.raises(MalformedKey):
        unwrap_with_credential(blob[:50], credential, b"c")
    with pytest.raises(UnknownVersion):
        unwrap_with_credential(blob[:2] + b"\x02" + blob[3:], credential, b"c")
    with pytest.raises(MalformedKey):
        wrap_to_credential(b"x", credential.public_bytes()[:-1], b"c")
    with pytest.raises(MalformedKey):
        wrap_to_credential(b"x", b"\xff" * 1216, b"c")


# --- recovery codes -----------------------------------------------------------------


@pytest.fixture
def fixed_code(monkeypatch: pytest.MonkeyPatch) -> str:
    """A recovery code from fixed entropy, so per-character checks are deterministic."""
    monkeypatch.setattr(custody.secrets, "token_bytes", lambda n: bytes(range(1, n + 1)))
    return new_recovery_code()


def test_recovery_code_is_160_bits_in_nine_groups_of_four() -> None:
    code = new_recovery_code()
    assert re.fullmatch(rf"[{CROCKFORD}]{{4}}(-[{CROCKFORD}]{{4}}){{8}}", code)
    assert len(code.replace("-", "")) == 36  # 32 data characters (160 bits) + 4 check
    assert len({new_recovery_code() for _ in range(50)}) == 50


def test_recovery_code_data_characters_encode_the_entropy(fixed_code: str) -> None:
    data = fixed_code.replace("-", "")[:32]
    number = 0
    for c in data:
        number = number * 32 + CROCKFORD.index(c)
    assert number.to_bytes(20, "big") == bytes(range(1, 21))


def test_recovery_code_is_read_leniently() -> None:
    code = new_recovery_code()
    reference = recovery_credential(code).public_bytes()
    plain = code.replace("-", "")
    variants = [
        plain,
        code.lower(),
        " ".join(code.split("-")),
        f"  {plain[:10]} {plain[10:]}\n",
        plain.replace("0", "O").replace("1", "I"),
        plain.replace("1", "l").lower().replace("0", "o"),
        unicodedata.normalize("NFKC", code).translate({ord("-"): "\u2010"}),  # hyphen
        "".join(chr(ord(c) + 0xFEE0) for c in plain),  # full-width characters
    ]
    for variant in variants:
        assert recovery_credential(variant).public_bytes() == reference, variant
        assert recovery_code_id(variant) == recovery_code_id(code)


def test_every_single_character_typo_is_caught(fixed_code: str) -> None:
    plain = fixed_code.replace("-", "")
    for i, original in enumerate(plain):
        for replacement in CROCKFORD:
            if replacement != original:
                typo = plain[:i] + replacement + plain[i + 1 :]
                with pytest.raises(MalformedCode):
                    recovery_credential(typo)


def test_swapped_neighbouring_characters_are_caught(fixed_code: str) -> None:
    plain = fixed_code.replace("-", "")
    for i in range(len(plain) - 1):
        if plain[i] != plain[i + 1]:
            swapped = plain[:i] + plain[i + 1] + plain[i] + plain[i + 2 :]
            with pytest.raises(MalformedCode):
                recovery_credential(swapped)


@pytest.mark.parametrize(
    "bad",
    ["", "ABCD", "U" * 36, "!" * 36, "0" * 37],
)
def test_malformed_recovery_codes(bad: str) -> None:
    with pytest.raises(MalformedCode):
        recovery_credential(bad)
    with pytest.raises(MalformedCode):
        recovery_code_id(bad)


def test_a_non_string_recovery_code_is_malformed() -> None:
    with pytest.raises(MalformedCode):
        recovery_credential(b"bytes")  # type: ignore[arg-type]


@FAST
@given(st.text(max_size=60))
def test_any_text_is_a_code_or_malformed(text: str) -> None:
    with contextlib.suppress(MalformedCode):
        recovery_credential(text)


def test_recovery_code_id_does_not_reveal_the_credential() -> None:
    code = new_recovery_code()
    credential = recovery_credential(code)
    code_id = recovery_code_id(code)
    assert len(code_id) == 32
    assert code_id != credential.seed
    assert CredentialKey(code_id).public_bytes() != credential.public_bytes()
    assert recovery_credential(code) == credential  # deterministic


# --- API tokens ---------------------------------------------------------------------


def test_api_token_is_id_dot_256_bit_secret() -> None:
    token = new_api_token("tok_42")
    token_id, secret = parse_api_token(token)
    assert token_id == "tok_42"
    assert token == f"{token_id}.{secret}"
    assert len(base64.urlsafe_b64decode(secret + "=")) == 32
    assert parse_api_token(f"  {token}\n") == (token_id, secret)


@pytest.mark.parametrize("token_id", ["", "a.b", "has space", "x" * 65, "é"])
def test_bad_token_ids_are_refused_when_issuing(token_id: str) -> None:
    with pytest.raises(ValueError, match="token id"):
        new_api_token(token_id)


def test_malformed_api_tokens() -> None:
    token_id, secret = parse_api_token(new_api_token("t1"))
    bad_tokens = [
        "",
        "no-dot",
        f".{secret}",
        f"{token_id}.",
        f"{token_id}.{secret}.x",
        f"{token_id}.{secret[:-1]}",
        f"{token_id}.{secret}A",
        f"{token_id}.{secret[:-2]}+/",
        f"bad id.{secret}",
        f"{token_id}.{secret[:-1]}é",
    ]
    for bad in bad_tokens:
        with pytest.raises(MalformedCode):
            parse_api_token(bad)
    with pytest.raises(MalformedCode):
        parse_api_token(None)  # type: ignore[arg-type]


def test_non_canonical_base64_spelling_of_a_secret_is_refused() -> None:
    raw = os.urandom(32)
    secret = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    # The last of 43 characters carries 4 data bits and 2 padding bits; set a padding bit.
    sloppy = secret[:-1] + alphabet[alphabet.index(secret[-1]) ^ 1]
    assert base64.urlsafe_b64decode(sloppy + "=") == raw
    with pytest.raises(MalformedCode):
        parse_api_token(f"t.{sloppy}")
    with pytest.raises(MalformedCode):
        token_credential(sloppy)


def test_token_hash_matches_only_its_secret() -> None:
    _, secret = parse_api_token(new_api_token("t1"))
    _, other = parse_api_token(new_api_token("t2"))
    stored = token_secret_hash(secret)
    assert len(stored) == 32
    assert token_secret_matches(secret, stored)
    assert not token_secret_matches(other, stored)
    assert not token_secret_matches(secret[:-1], stored)
    assert not token_secret_matches("", stored)
    assert not token_secret_matches(secret, stored[:-1])


def test_token_hash_accepts_any_text_so_garbled_links_match_nothing() -> None:
    for garbled in ["", "x", "not a token", "\udcff surrogate", secrets.token_urlsafe(32)[:-3]]:
        assert len(token_secret_hash(garbled)) == 32
    with pytest.raises(MalformedCode):
        token_secret_hash(b"bytes")  # type: ignore[arg-type]


def test_token_credential_is_deterministic_and_independent_of_the_hash() -> None:
    _, secret = parse_api_token(new_api_token("t1"))
    credential = token_credential(secret)
    assert token_credential(secret) == credential
    assert credential.seed != token_secret_hash(secret)
    _, other = parse_api_token(new_api_token("t1"))
    assert token_credential(other) != credential
    with pytest.raises(MalformedCode):
        token_credential("short")


def test_invitation_style_tokens_work_with_hash_and_credential() -> None:
    token = secrets.token_urlsafe(32)  # what schools.directory issues for invitations
    assert token_secret_matches(token, token_secret_hash(token))
    assert len(token_credential(token).public_bytes()) == 1216


# --- session split ------------------------------------------------------------------


SESSION_ID = bytes(range(32))
SESSION_CONTEXT = session_context(MEMBER_A, SCHOOL_A, 2, SESSION_ID)


def test_session_split_needs_both_halves() -> None:
    bundle = SchoolKeys.generate(2).to_bytes()
    key, blob = seal_for_session(bundle, SESSION_CONTEXT)
    assert len(key) == 32
    assert bundle not in blob
    assert blob[:3] == b"SS\x02"
    assert open_for_session(key, blob, SESSION_CONTEXT) == bundle
    other_key, other_blob = seal_for_session(bundle, SESSION_CONTEXT)
    with pytest.raises(UnwrapError):
        open_for_session(other_key, blob, SESSION_CONTEXT)
    with pytest.raises(UnwrapError):
        open_for_session(key, other_blob, SESSION_CONTEXT)
    with pytest.raises(UnwrapError):
        open_for_session(key[:-1], blob, SESSION_CONTEXT)


def test_session_row_layout_binds_member_school_generation_and_session() -> None:
    """Decrypt by hand from the documented layout, then move the row anywhere else."""
    key, blob = seal_for_session(b"bundle bytes", SESSION_CONTEXT)
    assert MEMBER_A.bytes + SCHOOL_A.bytes + (2).to_bytes(4, "big") + SESSION_ID == SESSION_CONTEXT
    aad = b"alertnet/v2/session\0" + b"SS\x02" + SESSION_CONTEXT
    assert AESGCM(key).decrypt(blob[3:15], blob[15:], aad) == b"bundle bytes"
    for elsewhere in (
        session_context(MEMBER_B, SCHOOL_A, 2, SESSION_ID),
        session_context(MEMBER_A, SCHOOL_B, 2, SESSION_ID),
        session_context(MEMBER_A, SCHOOL_A, 3, SESSION_ID),
        session_context(MEMBER_A, SCHOOL_A, 2, bytes(32)),
    ):
        with pytest.raises(UnwrapError):
            open_for_session(key, blob, elsewhere)
    with pytest.raises(ValueError, match="32 bytes"):
        session_context(MEMBER_A, SCHOOL_A, 2, b"short")


def test_tampered_or_truncated_session_rows_fail_typed() -> None:
    key, blob = seal_for_session(b"bundle bytes", SESSION_CONTEXT)
    for i in range(len(blob)):
        bad = blob[:i] + bytes([blob[i] ^ 1]) + blob[i + 1 :]
        with pytest.raises(CryptoError):
            open_for_session(key, bad, SESSION_CONTEXT)
    with pytest.raises(MalformedKey):
        open_for_session(key, blob[:10], SESSION_CONTEXT)
    # Version 1 rows (which sealed a credential under a label alone) are not opened.
    with pytest.raises(UnknownVersion):
        open_for_session(key, blob[:2] + b"\x01" + blob[3:], SESSION_CONTEXT)


# --- history chain ------------------------------------------------------------------


def test_history_chain_walks_back_through_generations() -> None:
    g1, g2, g3 = (SchoolKeys.generate(g) for g in (1, 2, 3))
    link2 = chain_previous(g2, g1)
    link3 = chain_previous(g3, g2)
    assert link3[:11] == b"HC\x01" + (3).to_bytes(4, "big") + (2).to_bytes(4, "big")
    assert open_previous(g3, link3) == g2
    assert open_previous(open_previous(g3, link3), link2) == g1


def test_history_chain_opens_only_with_the_newer_bundle() -> None:
    g1, g2 = SchoolKeys.generate(1), SchoolKeys.generate(2)
    link = chain_previous(g2, g1)
    with pytest.raises(UnwrapError):
        open_previous(SchoolKeys.generate(2), link)  # another school's generation 2
    with pytest.raises(UnwrapError):
        open_previous(g1, link)
    relabelled = link[:3] + (2).to_bytes(4, "big") + (0).to_bytes(4, "big") + link[11:]
    with pytest.raises(UnwrapError):
        open_previous(g2, relabelled)
    for i in range(len(link)):
        bad = link[:i] + bytes([link[i] ^ 1]) + link[i + 1 :]
        with pytest.raises(CryptoError):
            open_previous(g2, bad)
    with pytest.raises(MalformedKey):
        open_previous(g2, link[:12])


def test_history_chain_only_points_backwards() -> None:
    g1, g2 = SchoolKeys.generate(1), SchoolKeys.generate(2)
    with pytest.raises(ValueError, match="older"):
        chain_previous(g1, g2)
    with pytest.raises(ValueError, match="older"):
        chain_previous(g1, SchoolKeys.generate(1))


# --- a stolen database --------------------------------------------------------------


def test_a_copy_of_every_stored_blob_plus_the_server_secret_opens_nothing() -> None:
    """What the hub stores, stolen with its server secret, yields no school key.

    A positive control at the end shows the same rows do open with a credential.
    """
    g1, g2 = SchoolKeys.generate(1), SchoolKeys.generate(2)
    member = CredentialKey.generate()
    code = new_recovery_code()
    _, token_secret = parse_api_token(new_api_token("integration"))
    credentials = {
        "member": member,
        "recovery": recovery_credential(code),
        "token": token_credential(token_secret),
    }
    context = {
        name: keywrap_context(SCHOOL_A, 2, name, uuid.UUID(int=i))
        for i, name in enumerate(credentials)
    }
    cookie_key, session_row = seal_for_session(g2.to_bytes(), SESSION_CONTEXT)
    database = {
        "password_blob": wrap_seed_with_password(
            member.seed, "hunter2 but longer", FAST_FOR_TESTS, OWNER
        ),
        "recovery_code_id": recovery_code_id(code),
        "token_hash": token_secret_hash(token_secret),
        "session_row": session_row,
        "history": chain_previous(g2, g1),
        "public_g1": g1.public().to_bytes(),
        "public_g2": g2.public().to_bytes(),
        **{
            f"wrap_{name}": wrap_to_credential(
                g2.to_bytes(), credential.public_bytes(), context[name]
            )
            for name, credential in credentials.items()
        },
        **{f"credential_public_{n}": c.public_bytes() for n, c in credentials.items()},
    }
    server_secret = os.urandom(32)  # e.g. the Flask SECRET_KEY
    dump = b"".join(database.values()) + server_secret

    secrets_that_must_not_leak = [g1.to_bytes(), g2.to_bytes(), member.seed, cookie_key]
    for school in (g1, g2):
        secrets_that_must_not_leak += [school.kem_seed, school.ed25519_seed, school.mldsa_seed]
    secrets_that_must_not_leak += [c.seed for c in credentials.values()]
    for secret in secrets_that_must_not_leak:
        assert secret[:16] not in dump

    # Every 32-byte value the thief holds, tried as every kind of key.
    candidates = [server_secret, database["recovery_code_id"], database["token_hash"]]
    candidates += [dump[i : i + 32] for i in range(0, len(dump) - 32, 97)]
    for candidate in candidates:
        with pytest.raises(UnwrapError):
            open_for_session(candidate, session_row, SESSION_CONTEXT)
        for name in credentials:
            with pytest.raises(UnwrapError):
                unwrap_with_credential(
                    database[f"wrap_{name}"], CredentialKey(candidate), context[name]
                )
        forged = SchoolKeys(2, candidate, candidate, candidate)
        with pytest.raises(UnwrapError):
            open_previous(forged, database["history"])
    for guess in ["", "hunter2", server_secret.hex(), database["token_hash"].hex()]:
        with pytest.raises(WrongPassword):
            unwrap_seed_with_password(database["password_blob"], guess, OWNER)

    # Positive control: any one credential opens the same rows.
    for name, credential in credentials.items():
        opened = unwrap_with_credential(database[f"wrap_{name}"], credential, context[name])
        assert SchoolKeys.from_bytes(opened) == g2
    assert open_previous(g2, database["history"]) == g1
    assert open_for_session(cookie_key, session_row, SESSION_CONTEXT) == g2.to_bytes()
