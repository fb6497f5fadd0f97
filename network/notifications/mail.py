"""Email through SMTP (standard library ``smtplib``), or into files in demo mode.

``SMTP_URL`` says where and how: ``smtp://host:25`` (plain, for a local relay),
``smtp://user:pass@host:587?starttls=1`` (STARTTLS, required once asked for) or
``smtps://user:pass@host:465`` (TLS from the first byte). Credentials are
percent-decoded, so a password may hold any character.
"""

from __future__ import annotations

import functools
import os
import re
import secrets
import smtplib
import ssl
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP as SMTP_POLICY
from email.policy import default as default_policy
from email.utils import format_datetime, getaddresses, parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from schools.errors import InvalidInput

MAX_ADDRESS = 254
_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")
_TRUE = {"1", "true", "yes", "on"}


class MailError(Exception):
    """Sending failed; the message goes to the delivery log."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str  # "plain", "starttls" or "tls"
    username: str = ""
    password: str = ""

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:pass@host:587?starttls=1")
        query = parse_qs(parts.query)
        if parts.scheme == "smtps":
            security, port = "tls", parts.port or 465
        elif query.get("starttls", ["0"])[0].lower() in _TRUE:
            security, port = "starttls", parts.port or 587
        else:
            security, port = "plain", parts.port or 25
        return cls(
            parts.hostname,
            port,
            security,
            unquote(parts.username or ""),
            unquote(parts.password or ""),
        )


def check_address(address: str, field: str = "target") -> str:
    address = address.strip()
    if len(address) > MAX_ADDRESS or not _ADDRESS.fullmatch(address):
        raise InvalidInput("Enter an email address like safeguarding@school.org.uk.", field=field)
    return address


def message_id(notification_id: str, from_address: str) -> str:
    """Stable across retries, so a mail system can drop a duplicate."""
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "alertnet.invalid"
    return f"<{notification_id}@{domain}>"


def compose(
    *,
    notification_id: str,
    from_address: str,
    to: str,
    subject: str,
    text: str,
    html: str,
    unsubscribe: str | None,
    sent_at: datetime | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(sent_at or datetime.now(UTC))
    message["Message-ID"] = message_id(notification_id, from_address)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Alertnet-Notification"] = notification_id
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the system's CA certificates costs milliseconds: do it once.
    return ssl.create_default_context()


def send_smtp(config: SmtpConfig, message: EmailMessage, timeout: float) -> None:
    context = _tls() if config.security != "plain" else None
    try:
        client: smtplib.SMTP
        if config.security == "tls":
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=timeout)
        with client:
            if config.security == "starttls":
                client.starttls(context=context)
            if config.username:
                client.login(config.username, config.password)
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise MailError(_describe(error)) from error


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({f"{code} {_text(reply)}" for code, reply in error.recipients.values()})
        return f"recipient refused: {'; '.join(codes)}"[:280]
    if isinstance(error, smtplib.SMTPResponseException):
        return f"SMTP {error.smtp_code} {_text(error.smtp_error)}"[:280]
    return f"{type(error).__name__}: {error}"[:280]


# --- the demo's mail catcher -----------------------------------------------------------


def write_to_folder(folder: Path, message: EmailMessage) -> Path:
    """Demo mode without SMTP: one .eml file per message, newest sorting last."""
    # Mail names people and schools: private to the hub's user, like its database.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}-{secrets.token_hex(4)}.eml"
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(message.as_bytes(policy=SMTP_POLICY))
    temporary.rename(path)
    return path


@dataclass(frozen=True)
class CaughtMail:
    name: str
    subject: str
    to: str
    date: str
    text: str

    def addressed_to(self, addresses: Collection[str]) -> bool:
        """Whether any of its recipients is one of ``addresses`` (lower case)."""
        return any(address.lower() in addresses for _, address in getaddresses([self.to]))


_NAME = re.compile(r"[0-9T]{21}-[0-9a-f]{8}\.eml")


def caught(folder: Path, addresses: Collection[str], limit: int = 200) -> list[CaughtMail]:
    """The caught mail addressed to one of ``addresses`` (lower case), newest
    first, at most ``limit``."""
    if not folder.is_dir():
        return []
    names = sorted((p.name for p in folder.glob("*.eml") if _NAME.fullmatch(p.name)), reverse=True)
    found: list[CaughtMail] = []
    for name in names:
        if len(found) == limit:
            break
        message = read_caught(folder, name)
        if message.addressed_to(addresses):
            found.append(message)
    return found


def read_caught(folder: Path, name: str) -> CaughtMail:
    if not _NAME.fullmatch(name) or not (folder / name).is_file():
        raise FileNotFoundError(name)
    parsed = BytesParser(policy=default_policy).parsebytes((folder / name).read_bytes())
    body = parsed.get_body(preferencelist=("plain",))
    return CaughtMail(
        name,
        str(parsed["Subject"] or ""),
        str(parsed["To"] or ""),
        str(parsed["Date"] or ""),
        body.get_content() if body is not None else "",
    )
