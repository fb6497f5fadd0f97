"""All configuration, read once from the environment into one frozen value."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from limits import parse_many

from crypto.custody import FAST_FOR_TESTS, RFC9106, Argon2Params

DEFAULT_INSTANCE = Path.cwd() / "instance"
_LOG_ORIGIN = re.compile(r"[^\s+]{1,200}")


# The environment variable of each setting that can be set from it (README);
# a variable that is not set leaves the field's default.
ENVIRONMENT = {
    "database_url": "DATABASE_URL",
    "secret_key": "SECRET_KEY",
    "public_url": "ALERTNET_PUBLIC_URL",
    "demo": "ALERTNET_DEMO",
    "session_hours": "ALERTNET_SESSION_HOURS",
    "ratelimit_storage_uri": "RATELIMIT_STORAGE_URI",
    "ratelimit_sign_in": "ALERTNET_RATELIMIT_SIGN_IN",
    "ratelimit_api": "ALERTNET_RATELIMIT_API",
    "max_json_upload_bytes": "ALERTNET_API_MAX_UPLOAD_BYTES",
    "log_level": "ALERTNET_LOG_LEVEL",
    "log_key": "ALERTNET_LOG_KEY",
    "log_origin": "ALERTNET_LOG_ORIGIN",
    "smtp_url": "SMTP_URL",
    "mail_from": "ALERTNET_MAIL_FROM",
    "webhook_allow_networks": "ALERTNET_WEBHOOK_ALLOW",
    "webhook_timeout_seconds": "ALERTNET_WEBHOOK_TIMEOUT",
    "webhook_secret_overlap_hours": "ALERTNET_WEBHOOK_SECRET_OVERLAP",
    "notify_max_attempts": "ALERTNET_NOTIFY_MAX_ATTEMPTS",
    "notify_backoff_seconds": "ALERTNET_NOTIFY_BACKOFF",
    "notify_backoff_max_seconds": "ALERTNET_NOTIFY_BACKOFF_MAX",
    "notify_lease_seconds": "ALERTNET_NOTIFY_LEASE",
    "worker_poll_seconds": "ALERTNET_WORKER_POLL",
    "timezone": "ALERTNET_TIME_ZONE",
    "dashboard_max_age_seconds": "ALERTNET_DASHBOARD_MAX_AGE",
    "proxy_hops": "ALERTNET_PROXY_HOPS",
    "password_hashing_mib": "ALERTNET_PASSWORD_HASHING_MIB",
    "log_retired_keys": "ALERTNET_LOG_RETIRED_KEYS",
    "log_format": "ALERTNET_LOG_FORMAT",
    "metrics_token": "ALERTNET_METRICS_TOKEN",
    "metrics_allow": "ALERTNET_METRICS_ALLOW",
}


def _parsed(text: str, default: Any) -> Any:
    """An environment value, read as the type of the setting's default."""
    if isinstance(default, bool):
        return text == "1"
    if isinstance(default, int | float):
        return type(default)(text)
    if isinstance(default, tuple):  # comma-separated
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return text


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
    # Memory that password hashing (Argon2id) may hold at once in one process;
    # a sign-in beyond it waits up to 10 s, then gets 503 with Retry-After.
    password_hashing_mib: int = 256
    session_hours: int = 12
    # Text fields of a form; file uploads (evidence) are limited separately.
    max_form_bytes: int = 64 * 1024
    max_request_bytes: int = 60 * 1024 * 1024
    # The API's JSON bodies that carry evidence as base64 (5 files of 10 MB, a
    # third larger once encoded, and the text).
    max_json_upload_bytes: int = 70 * 1024 * 1024
    # Rate limits (Flask-Limiter): counted in memory, or in Redis shared by
    # every host (redis://...). Sign-in and refused API tokens per address; API
    # calls per token (or signed-in member).
    ratelimit_storage_uri: str = "memory://"
    ratelimit_sign_in: str = "10 per minute"
    ratelimit_api: str = "300 per minute"
    log_level: str = "INFO"
    # "text", or "json": one JSON object per log line, with the request id.
    log_format: str = "text"
    # Who may read /metrics: a bearer token, or addresses in these CIDR ranges.
    metrics_token: str = field(default="", repr=False)
    metrics_allow: tuple[str, ...] = ()
    # The audit log's Ed25519 checkpoint key (base64 of its 32-byte seed) and the
    # log's origin (its name in checkpoints); both have defaults, see resolved().
    log_key: str = field(default="", repr=False)
    log_origin: str = ""
    # Public keys (vkeys) the log was signed with before ALERTNET_LOG_KEY was
    # rotated: checkpoints they signed still verify (docs/operations.md).
    log_retired_keys: tuple[str, ...] = ()
    # A checkpoint is signed on request at most this often (receipts excepted).
    checkpoint_interval_seconds: int = 60
    # --- notifications (docs/notifications.md) ---
    # smtp://user:pass@host:587?starttls=1 or smtps://user:pass@host:465; empty:
    # in demo mode mail is written to instance/mail/, otherwise it cannot be sent.
    smtp_url: str = field(default="", repr=False)
    mail_from: str = ""
    # CIDR ranges webhooks may reach although private, loopback or link-local.
    webhook_allow_networks: tuple[str, ...] = ()
    webhook_timeout_seconds: float = 10.0
    webhook_secret_overlap_hours: int = 24
    notify_max_attempts: int = 10
    notify_backoff_seconds: float = 30.0
    notify_backoff_max_seconds: float = 3600.0
    # A claimed delivery not finished within this time is delivered again.
    notify_lease_seconds: float = 120.0
    worker_poll_seconds: float = 1.0
    # Every time people read (pages, emails), digest times and school days are
    # in this IANA time zone, shown with its name (GMT or BST for Europe/London).
    timezone: str = "Europe/London"
    # Reverse proxies in front of the hub that set X-Forwarded-For/-Proto: the
    # client's address (rate limits, the audit log) is read through this many.
    proxy_hops: int = 0
    # Dashboard figures are served from store for this long (docs/dashboard.md).
    dashboard_max_age_seconds: int = 600

    @property
    def dashboard_max_age(self) -> timedelta:
        return timedelta(seconds=self.dashboard_max_age_seconds)

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    def link(self, path: str) -> str:
        """An absolute address on the hub, for links people are sent (invitations,
        notifications): always the configured public address, never the request's."""
        return self.public_url + path

    def invitation_link(self, token: str) -> str:
        return self.link(f"/invitations/{token}")

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(
        cls, environ: os._Environ[str] | dict[str, str] | None = None, **overrides: Any
    ) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "instance_path": Path(env.get("ALERTNET_INSTANCE", str(DEFAULT_INSTANCE))).resolve()
        }
        defaults = {f.name: f.default for f in fields(cls)}
        for name, variable in ENVIRONMENT.items():
            if variable in env:
                values[name] = _parsed(env[variable], defaults[name])
        if "timezone" not in values and "ALERTNET_TIMEZONE" in env:
            values["timezone"] = env["ALERTNET_TIMEZONE"]  # its earlier name
        if "public_url" in values:
            values["public_url"] = values["public_url"].rstrip("/")
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
        if not settings.log_key:
            settings = replace(settings, log_key=_instance_log_key(settings.instance_path))
        if not settings.log_origin:
            settings = replace(settings, log_origin=default_log_origin(settings.public_url))
        log_key_seed(settings.log_key)  # a malformed key stops the hub at startup
        if not _LOG_ORIGIN.fullmatch(settings.log_origin):
            raise ValueError(
                "ALERTNET_LOG_ORIGIN must be one word without spaces or '+', like "
                f"'hub.example.org/audit'; got {settings.log_origin!r}"
            )
        if not settings.mail_from:
            host = urlsplit(settings.public_url).hostname or "localhost"
            settings = replace(settings, mail_from=f"alertnet <alerts@{host}>")
        _check_time_zone(settings.timezone)
        _check_notifications(settings)
        _check_rate_limits(settings)
        _check_operations(settings)
        return settings


def _check_operations(settings: Settings) -> None:
    """Logs, metrics and retired log keys: a typo stops the hub at startup."""
    import ipaddress

    from crypto.checkpoint import NoteError, NoteVerifier

    for vkey in settings.log_retired_keys:
        try:
            retired = NoteVerifier.from_vkey(vkey)
        except NoteError as error:
            raise ValueError(
                f"ALERTNET_LOG_RETIRED_KEYS: {vkey!r} is not a vkey: {error}"
            ) from None
        if retired.name != settings.log_origin:
            raise ValueError(
                f"ALERTNET_LOG_RETIRED_KEYS: {vkey!r} is a key of {retired.name!r}, not of "
                f"this log ({settings.log_origin!r})"
            )

    if settings.log_format not in ("text", "json"):
        raise ValueError(f"ALERTNET_LOG_FORMAT must be text or json; got {settings.log_format!r}")
    for network in settings.metrics_allow:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(
                f"ALERTNET_METRICS_ALLOW must list CIDR ranges like 10.1.2.0/24; got {network!r}"
            ) from None


def _check_rate_limits(settings: Settings) -> None:
    """A malformed limit or storage stops the hub at startup, not at the first request."""
    for name, value in (
        ("ALERTNET_RATELIMIT_SIGN_IN", settings.ratelimit_sign_in),
        ("ALERTNET_RATELIMIT_API", settings.ratelimit_api),
    ):
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(
                f"{name} must be a rate limit like '10 per minute'; got {value!r}"
            ) from None
    scheme = urlsplit(settings.ratelimit_storage_uri).scheme
    if scheme not in ("memory", "redis", "rediss", "redis+sentinel", "redis+cluster"):
        raise ValueError(
            "RATELIMIT_STORAGE_URI must be memory:// or redis://host:6379/0; "
            f"got {settings.ratelimit_storage_uri!r}"
        )
    if scheme != "memory" and find_spec("redis") is None:
        raise ValueError(
            "RATELIMIT_STORAGE_URI names Redis, but its client is not installed: "
            "pip install 'alertnet[redis]' (requirements.lock has it)"
        )


def _check_notifications(settings: Settings) -> None:
    """Stop at startup on a malformed notification setting, not at the first send."""
    if settings.smtp_url:
        scheme = urlsplit(settings.smtp_url).scheme
        if scheme not in ("smtp", "smtps") or not urlsplit(settings.smtp_url).hostname:
            raise ValueError("SMTP_URL must look like smtp://user:pass@host:587?starttls=1")
    for network in settings.webhook_allow_networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ValueError(
                f"ALERTNET_WEBHOOK_ALLOW must list CIDR ranges like 10.1.2.0/24; got {network!r}"
            ) from None
    if settings.notify_max_attempts < 1 or settings.notify_lease_seconds <= 0:
        raise ValueError("ALERTNET_NOTIFY_MAX_ATTEMPTS and ALERTNET_NOTIFY_LEASE must be positive")


def default_log_origin(public_url: str) -> str:
    """The public address's host (and port) plus "/audit": hub.example.org/audit."""
    host = urlsplit(public_url).netloc.rpartition("@")[2].lower()
    return f"{host or 'alertnet'}/audit"


def log_key_seed(encoded: str) -> bytes:
    """The 32-byte Ed25519 seed in ALERTNET_LOG_KEY (or the instance's key file)."""
    try:
        seed = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        seed = b""
    if len(seed) != 32:
        raise ValueError("ALERTNET_LOG_KEY must be the base64 encoding of a 32-byte Ed25519 seed")
    return seed


def _instance_file(instance: Path, name: str, make: Callable[[], str]) -> str:
    """A per-installation secret generated on first run, readable only by us.

    Written to a private temporary file and linked into place, so workers that
    start together all read the one complete value.
    """
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    value = make()
    temporary = instance / f".{name}.{secrets.token_hex(8)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            return path.read_text().strip()
    finally:
        temporary.unlink()
    return value


def _instance_log_key(instance: Path) -> str:
    """The audit log's signing key (a base64 Ed25519 seed)."""
    return _instance_file(
        instance, "audit_log_key", lambda: base64.b64encode(secrets.token_bytes(32)).decode()
    )


def _instance_secret(instance: Path) -> str:
    """The key that signs cookies and CSRF tokens."""
    return _instance_file(instance, "secret_key", lambda: secrets.token_urlsafe(48))


def current() -> Settings:
    """The running hub's settings (in a request, a CLI command or an app context)."""
    configured: Settings = current_app.config["ALERTNET"]
    return configured


def _check_time_zone(name: str) -> None:
    """An unknown zone stops the hub at startup rather than showing UTC as local."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"ALERTNET_TIME_ZONE must be an IANA time zone like Europe/London; got {name!r}"
        ) from None
