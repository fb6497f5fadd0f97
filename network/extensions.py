"""Extension objects, created unbound at import and bound in create_app()."""

from __future__ import annotations

import threading
import time

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf import CSRFProtect
from limits.storage import MemoryStorage

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)


class SweptMemoryStorage(MemoryStorage):
    """``memory://`` without a thread per request.

    limits' MemoryStorage purges expired counters from a ``threading.Timer``
    of 10 ms that it starts again on every hit once the last one has run: a
    new thread for every API request more than 10 ms after the one before.
    The counts do not need it (a window's counter is checked against its
    expiry when read); only the memory of keys no longer used does. Here the
    hit that finds the last sweep a second old sweeps, in its own thread.
    """

    STORAGE_SCHEME = ["alertnet-memory"]
    SWEEP_SECONDS = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = 0.0
        self._sweeping = threading.Lock()

    # MemoryStorage calls its private __schedule_expiry on every hit.
    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802
        now = time.monotonic()
        if now < self._next_sweep or not self._sweeping.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._sweeping.release()


def rate_limit_storage_uri(configured: str) -> str:
    """Flask-Limiter's storage for the configured one: in memory, the swept
    storage above; anything else (Redis) as configured."""
    if configured.startswith("memory:"):
        return "alertnet-memory://"
    return configured
