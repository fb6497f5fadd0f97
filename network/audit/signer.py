"""The hub's checkpoint key, and the checkpoints it signs on demand.

The key is configured (network/settings.py, ``ALERTNET_LOG_KEY``) and named
after the log's origin; schools pin its vkey to check every checkpoint.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from crypto.checkpoint import NoteSigner, NoteVerifier, RotatedVerifier
from network.settings import Settings, log_key_seed
from network.settings import current as settings
from schools.audit import checkpoints
from schools.audit.integrity import Integrity, quick_check
from schools.audit.models import AuditCheckpoint, AuditEvent


@functools.lru_cache(maxsize=8)
def _signer(encoded_seed: str, origin: str) -> NoteSigner:
    return NoteSigner(origin, Ed25519PrivateKey.from_private_bytes(log_key_seed(encoded_seed)))


def signer(configured: Settings | None = None) -> NoteSigner:
    """The hub's checkpoint signer; its key name is the log's origin."""
    configured = configured or settings()
    return _signer(configured.log_key, configured.log_origin)


def verifier(configured: Settings | None = None) -> NoteVerifier:
    configured = configured or settings()
    current = NoteVerifier.from_vkey(signer(configured).verifier_key())
    if not configured.log_retired_keys:
        return current
    # After a rotation, checkpoints the retired keys signed still verify.
    retired = [NoteVerifier.from_vkey(vkey) for vkey in configured.log_retired_keys]
    return RotatedVerifier(current, retired)


def current_checkpoint(session: Session, covering: int | None = None) -> AuditCheckpoint:
    """The latest checkpoint, signing a fresh one when the log has grown and the
    last is older than the configured interval, or when entry ``covering`` is
    not in it yet (docs/audit-log.md, "When checkpoints are signed")."""
    configured = settings()
    return checkpoints.current_checkpoint(
        session,
        signer(configured),
        max_age=timedelta(seconds=configured.checkpoint_interval_seconds),
        covering=covering,
    )


def integrity(session: Session, shown: Sequence[AuditEvent]) -> Integrity:
    """The banner's checks for one page view (see schools.audit.integrity.quick_check)."""
    return quick_check(session, verifier(), current_checkpoint(session), shown)
