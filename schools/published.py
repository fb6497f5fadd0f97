"""Whether an unwrapped bundle is the one a school published: remembered per
bundle and generation, so each request need not derive the public keys again.

Checking costs deriving the bundle's public keys (an X-Wing and an ML-DSA-65
key generation from their seeds, about 0.4 ms), and an API token unwraps the
bundle on every request. The answer depends only on the bundle and on the
public keys published for its generation, so once a bundle has matched, the
process remembers that fact: a SHA-256 digest of both, which opens nothing
and from which no key can be recovered. A different bundle, or different
published keys (altered in the database), is a different digest and is
checked in full; a mismatch is never remembered, so it is refused and
audited every time.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict

from crypto.keys import SchoolKeys

# Digests kept: a few per school and generation in use; the oldest go first.
REMEMBERED = 4096
_LABEL = b"alertnet/v1/published-bundle\0"

_matched: OrderedDict[bytes, None] = OrderedDict()
_lock = threading.Lock()


def _fact(kind: str, published: bytes, keys: SchoolKeys) -> bytes:
    return hashlib.sha256(
        _LABEL
        + kind.encode()
        + b"\0"
        + len(published).to_bytes(4, "big")
        + published
        + keys.to_bytes()
    ).digest()


def matches(kind: str, published: bytes | None, generation: int, keys: SchoolKeys) -> bool:
    """Whether ``keys`` is the bundle whose public keys are ``published`` for
    ``generation`` (of a school's bundles, its leadership's or a member's
    personal bundles: ``kind``)."""
    if published is None or keys.generation != generation:
        return False
    fact = _fact(kind, published, keys)
    with _lock:
        if fact in _matched:
            _matched.move_to_end(fact)
            return True
    if not hmac.compare_digest(published, keys.public().to_bytes()):
        return False
    with _lock:
        _matched[fact] = None
        while len(_matched) > REMEMBERED:
            _matched.popitem(last=False)
    return True


def forget() -> None:
    """Forget every fact (tests)."""
    with _lock:
        _matched.clear()
