"""Helpers for second-factor tests: RFC 6238 codes computed here, independently
of the hub's code, and a software passkey that answers WebAuthn ceremonies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import struct
import time
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import post_form

SETUP_KEY = re.compile(r'<code class="setup-key">([A-Z2-7 ]+)</code>')
BACKUP = re.compile(r"<li><code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code></li>")


def totp(secret: bytes, at: float | None = None, steps: int = 0) -> str:
    """RFC 6238 with HMAC-SHA1, six digits, 30-second steps."""
    counter = int(at if at is not None else time.time()) // 30 + steps
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def secret_on(page: str) -> bytes:
    match = SETUP_KEY.search(page)
    assert match, "no set-up key on the page"
    text = match.group(1).replace(" ", "")
    return base64.b32decode(text + "=" * (-len(text) % 8))


def enrol_app(client: Any) -> tuple[bytes, list[str]]:
    """Set up an authenticator app through the pages; the secret and backup codes."""
    page = client.get("/account/second-factors/app").get_data(as_text=True)
    secret = secret_on(page)
    response = post_form(client, "/account/second-factors/app", {"code": totp(secret)})
    assert response.status_code == 200, response.get_data(as_text=True)
    codes = BACKUP.findall(response.get_data(as_text=True))
    return secret, codes


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftPasskey:
    """An authenticator in software: an ES256 key, a credential id, a counter."""

    def __init__(self, rp_id: str, origin: str) -> None:
        self.rp_id = rp_id
        self.origin = origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = b"soft-passkey-" + hashlib.sha256(str(id(self)).encode()).digest()
        self.counter = 0

    def _cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        ).encode()

    def create(self, options: dict[str, Any], origin: str | None = None) -> dict[str, Any]:
        client = self._client_data("webauthn.create", options["challenge"], origin)
        attested = (
            bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id
        ) + self._cose()
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([0x45])  # user present, user verified, attested data
            + struct.pack(">I", self.counter)
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client),
                "attestationObject": b64url(attestation),
            },
        }

    def get(
        self, options: dict[str, Any], origin: str | None = None, counter: int | None = None
    ) -> dict[str, Any]:
        if counter is None:
            self.counter += 1
            counter = self.counter
        client = self._client_data("webauthn.get", options["challenge"], origin)
        auth_data = (
            hashlib.sha256(self.rp_id.encode()).digest()
            + bytes([0x05])
            + struct.pack(">I", counter)
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
            },
        }
