"""All configuration, read once from the environment into one frozen value."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from crypto.custody import FAST_FOR_TESTS, RFC9106, Argon2Params

DEFAULT_INSTANCE = Path.cwd() / "instance"


@dataclass(frozen=True)
class Settings:
    instance_path: Path = DEFAULT_INSTANCE
    database_url: str = ""
    secret_key: str = ""
    # "https" in production: cookies are then Secure and HSTS is sent.
    public_url: str = "http://127.0.0.1:5000"
    demo: bool = False
    testing: bool = False
    password_params: Argon2Params = RFC9106
    session_hours: int = 12
    max_form_bytes: int = 64 * 1024
    ratelimit_storage_uri: str = "memory://"
    ratelimit_sign_in: str = "10 per minute"
    log_level: str = "INFO"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(
        cls, environ: os._Environ[str] | dict[str, str] | None = None, **overrides: Any
    ) -> Settings:
        env = os.environ if environ is None else environ
        instance = Path(env.get("ALERTNET_INSTANCE", str(DEFAULT_INSTANCE))).resolve()
        values: dict[str, Any] = {
            "instance_path": instance,
            "database_url": env.get("DATABASE_URL", ""),
            "secret_key": env.get("SECRET_KEY", ""),
            "public_url": env.get("ALERTNET_PUBLIC_URL", cls.public_url).rstrip("/"),
            "demo": env.get("ALERTNET_DEMO", "") == "1",
            "session_hours": int(env.get("ALERTNET_SESSION_HOURS", "12")),
            "ratelimit_storage_uri": env.get("RATELIMIT_STORAGE_URI", "memory://"),
            "log_level": env.get("ALERTNET_LOG_LEVEL", "INFO"),
        }
        values.update(overrides)
        return cls(**values).resolved()

    def resolved(self) -> Settings:
        """Fill in what has a safe default that depends on the instance folder."""
        settings = self
        if not settings.database_url:
            settings = replace(
                settings, database_url=f"sqlite:///{settings.instance_path / 'alertnet.db'}"
            )
        if not settings.secret_key:
            settings = replace(settings, secret_key=_instance_secret(settings.instance_path))
        if settings.password_params == FAST_FOR_TESTS and not settings.testing:
            raise ValueError("fast password hashing is only for tests")
        return settings


def _instance_secret(instance: Path) -> str:
    """A per-installation secret generated on first run, readable only by us."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        key = secrets.token_urlsafe(48)
        handle.write(key + "\n")
    return key
