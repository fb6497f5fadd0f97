"""What an API token's wraps opened, remembered by each process for a few
minutes, so a script calling the API does not pay an X-Wing decapsulation
(about 0.4 ms with the credential's key derivation) for each wrap on every
request.

The memory is a memo of the decapsulation itself: an entry is found only by
an HMAC, keyed by the credential's seed (derived from the bearer secret the
request presented), of the wrap's context and of the wrap exactly as the
database holds it now. So:

* the secret is still presented, hashed and compared on every request
  (schools/tokens.py), and without it no entry can be found;
* a wrap deleted (revocation, expiry, the member leaving), replaced or
  altered, or a new generation (a rotation of the school's, leadership's or
  personal keys), is a different wrap or none: the request reads the wraps
  first, and opens the new one in full or gets nothing;
* the token's row is read on every request, so a revoked or expired token is
  refused before any wrap is looked at.

Entries are bounded in number (the oldest go first) and in lifetime (opened
at most ``LIFETIME`` ago, however often used); a token revoked in this
process drops its entries at once (``forget``), and other processes' entries
can no longer be reached (the wraps are gone) and lapse with their lifetime.
A failed opening is never remembered. What an entry keeps is the opened
bundle sealed under another key derived from the credential's seed, so a
copy of the process's memory, without the secret, opens none of it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
import uuid
from collections import OrderedDict

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto import custody
from crypto.keys import CredentialKey

# Entries kept: a token holds up to three wraps (school, leadership, personal).
REMEMBERED = 1024
LIFETIME = 300.0  # seconds after the wrap was opened
_LABEL = b"alertnet/v1/opened-wrap\0"
# What an entry keeps is sealed (AES-256-GCM) under a second key derived from
# the credential: the process's memory alone, without the bearer secret a
# request presents, opens nothing it remembers.
_SEALING = b"alertnet/v1/opened-wrap-sealing\0"

_opened: OrderedDict[bytes, tuple[float, uuid.UUID, bytes]] = OrderedDict()
_lock = threading.Lock()


def _derived(credential: CredentialKey, label: bytes, wrap: bytes, context: bytes) -> bytes:
    return hmac.new(
        credential.seed,
        label + len(context).to_bytes(4, "big") + context + wrap,
        hashlib.sha256,
    ).digest()


def unwrap(token_id: uuid.UUID, wrap: bytes, credential: CredentialKey, context: bytes) -> bytes:
    """``custody.unwrap_with_credential(wrap, credential, context)`` for a
    token's wrap, remembered for ``LIFETIME`` seconds (CryptoError as it)."""
    fact = _derived(credential, _LABEL, wrap, context)
    sealing = AESGCM(_derived(credential, _SEALING, wrap, context))
    now = time.monotonic()
    with _lock:
        found = _opened.get(fact)
        if found is not None:
            if now - found[0] < LIFETIME:
                return sealing.decrypt(found[2][:12], found[2][12:], fact)
            del _opened[fact]
    plain = custody.unwrap_with_credential(wrap, credential, context)
    nonce = os.urandom(12)
    with _lock:
        _opened[fact] = (now, token_id, nonce + sealing.encrypt(nonce, plain, fact))
        while len(_opened) > REMEMBERED:
            _opened.popitem(last=False)
    return plain


def forget(token_id: uuid.UUID) -> None:
    """Drop everything a token's wraps opened (it was revoked, or expired)."""
    with _lock:
        for fact in [f for f, (_, owner, _) in _opened.items() if owner == token_id]:
            del _opened[fact]


def forget_all() -> None:
    """Forget every entry (tests)."""
    with _lock:
        _opened.clear()


def remembered(token_id: uuid.UUID) -> int:
    """How many entries a token has (tests)."""
    with _lock:
        return sum(1 for _, owner, _ in _opened.values() if owner == token_id)
