"""crypto/factors.py: RFC 6238 codes, backup codes and the seal of TOTP secrets."""

from __future__ import annotations

import os

import pytest

from crypto import factors
from crypto.errors import MalformedCode, UnwrapError

# RFC 6238, Appendix B (SHA-1): the 8-digit codes' last six digits.
RFC6238_SECRET = b"12345678901234567890"
RFC6238 = [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")]


@pytest.mark.parametrize(("at", "code"), RFC6238)
def test_codes_match_the_rfc_6238_vectors(at, code):
    assert factors.totp_code(RFC6238_SECRET, factors.totp_step(at)) == code


def test_the_matching_step_is_found_only_inside_the_range():
    secret = factors.new_totp_secret()
    code = factors.totp_code(secret, 1000)
    assert factors.totp_matching_step(secret, code, 999, 1001) == 1000
    assert factors.totp_matching_step(secret, f" {code[:3]} {code[3:]} ", 999, 1001) == 1000
    assert factors.totp_matching_step(secret, code, 1001, 1003) is None
    assert factors.totp_matching_step(secret, "12345", 999, 1001) is None
    assert factors.totp_matching_step(secret, "١٢٣٤٥٦", 999, 1001) is None  # not ASCII


def test_the_provisioning_address_names_the_hub_and_the_member():
    uri = factors.totp_uri(RFC6238_SECRET, "head@oakfield.example.org", "alertnet")
    assert uri.startswith("otpauth://totp/alertnet:head%40oakfield.example.org?")
    assert "secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" in uri


def test_backup_codes_are_normalised_before_hashing():
    code = factors.new_backup_code()
    assert len(code) == 14
    typed = code.lower().replace("-", " ")
    assert factors.backup_code_hash(typed) == factors.backup_code_hash(code)
    with pytest.raises(MalformedCode):
        factors.backup_code_hash("ABCD-EFGH")


def test_a_sealed_secret_opens_only_with_its_key_and_context():
    key = factors.seal_key(os.urandom(32))
    secret = factors.new_totp_secret()
    sealed = factors.seal_secret(key, secret, b"member-a")
    assert secret not in sealed
    assert factors.open_secret(key, sealed, b"member-a") == secret
    with pytest.raises(UnwrapError):
        factors.open_secret(key, sealed, b"member-b")
    with pytest.raises(UnwrapError):
        factors.open_secret(factors.seal_key(os.urandom(32)), sealed, b"member-a")
    with pytest.raises(UnwrapError):
        factors.open_secret(key, sealed[:10], b"member-a")
