"""The cluster correlation keys a login session keeps between requests
(docs/crypto.md, "Indicators": "Custody in a session").

Matching an alert's indicators needs every generation of the cluster's
correlation key the school holds; opening the school's wraps of it costs an
X-Wing decapsulation per generation. A session opens them once and keeps them
in ``login_sessions.correlation_vault``, sealed under a sub-key of the key in
the browser's cookie, with the session row's context (member, school, key
generation, session id) and the cluster as associated data
(crypto/session_correlation.py). It is a blob of its own beside the row's
``vault``, not a part of it: the bundle's format is unchanged.

The keys live as long as the session row: ended with it (sign-out, expiry, a
rotation of the school's keys, sign out everywhere), never written anywhere
else. The request carries the keeper on the school bundle it holds
(``CorrelatingKeys``), as it carries the leadership bundle; a request without
one (an API token) opens the wraps each time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields

from crypto import custody, session_correlation
from crypto.errors import CryptoError
from crypto.keys import SchoolKeys
from crypto.session_correlation import SealedKeys
from schools.leadership import HeldKeys
from schools.models import LoginSession


@dataclass(eq=False)
class SessionCorrelation:
    """One login session's sealed correlation keys, and the cookie's key to them."""

    login: LoginSession
    vault_key: bytes = field(repr=False)

    def _context(self, cluster_id: uuid.UUID) -> bytes | None:
        login = self.login
        if login.school_id is None or login.generation is None:
            return None
        return session_correlation.context(
            custody.session_context(
                login.member_id, login.school_id, login.generation, login.id_hash
            ),
            cluster_id,
        )

    def held(self, cluster_id: uuid.UUID) -> SealedKeys | None:
        """The keys the session sealed; None when it has none yet, or when they
        do not open (a changed byte, another row's blob, another cluster's):
        refused, the reader opens the school's wraps again and seals anew."""
        context = self._context(cluster_id)
        blob = self.login.correlation_vault
        if context is None or blob is None:
            return None
        try:
            return session_correlation.open_(self.vault_key, blob, context)
        except CryptoError:
            return None

    def keep(self, cluster_id: uuid.UUID, held: SealedKeys) -> None:
        """Seal ``held`` into the session row (written with the request's commit)."""
        context = self._context(cluster_id)
        if context is not None:
            self.login.correlation_vault = session_correlation.seal(self.vault_key, held, context)


@dataclass(frozen=True, eq=False)
class CorrelatingKeys(HeldKeys):
    """The bundle(s) a session holds, with its keeper of the correlation keys."""

    correlation: SessionCorrelation | None = field(default=None, repr=False)


def carrying(keys: SchoolKeys, keeper: SessionCorrelation) -> SchoolKeys:
    """``keys`` (with whatever else they carry) and the session's keeper."""
    values = {f.name: getattr(keys, f.name) for f in fields(keys) if f.name != "correlation"}
    return CorrelatingKeys(**values, correlation=keeper)


def keeper_of(keys: SchoolKeys | None) -> SessionCorrelation | None:
    return keys.correlation if isinstance(keys, CorrelatingKeys) else None


__all__ = ["CorrelatingKeys", "SessionCorrelation", "carrying", "keeper_of"]
