"""Webhooks as the Standard Webhooks specification has them
(https://www.standardwebhooks.com): ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature`` headers, HMAC-SHA256 over ``id.timestamp.body`` with a
``whsec_`` secret, both signatures sent while a rotated secret overlaps.

Targets are checked twice: when a head saves the URL, and at every delivery,
where the host is resolved and the request goes to the very address that was
checked (so a DNS answer cannot change between the check and the connection).
Private, loopback, link-local and other non-global addresses are refused unless
the operator allows their range (ALERTNET_WEBHOOK_ALLOW). Redirects are not
followed.
"""

from __future__ import annotations

import base64
import functools
import http.client
import ipaddress
import secrets
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from standardwebhooks import Webhook

from schools.errors import InvalidInput

SECRET_PREFIX = "whsec_"  # noqa: S105
USER_AGENT = "alertnet-webhooks/1"
MAX_URL = 500
_RESPONSE_READ = 4096

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class DeliveryError(Exception):
    """The delivery failed; the message (never a response body) goes to the log."""


class TargetRefused(DeliveryError):
    """The target is not one the hub may call."""


# --- secrets ------------------------------------------------------------------------


def new_secret() -> str:
    """A ``whsec_`` secret: 32 random bytes, base64 (what standardwebhooks expects)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _sealing_key(secret_key: str) -> AESGCM:
    key = HKDF(
        algorithm=SHA256(), length=32, salt=None, info=b"alertnet/v1/webhook-secrets"
    ).derive(secret_key.encode())
    return AESGCM(key)


def seal_secret(secret_key: str, secret: str, subscription_id: str) -> bytes:
    """Keep a webhook secret sealed under the hub's SECRET_KEY, bound to its
    subscription: a database thief without the key cannot forge deliveries."""
    nonce = secrets.token_bytes(12)
    return nonce + _sealing_key(secret_key).encrypt(
        nonce, secret.encode(), subscription_id.encode()
    )


def open_secret(secret_key: str, sealed: bytes, subscription_id: str) -> str:
    try:
        return (
            _sealing_key(secret_key)
            .decrypt(sealed[:12], sealed[12:], subscription_id.encode())
            .decode()
        )
    except Exception as error:  # InvalidTag: SECRET_KEY changed, or the row was tampered with
        raise DeliveryError(
            "The webhook secret cannot be opened (was SECRET_KEY changed?): rotate it."
        ) from error


def open_secret_or_none(
    secret_key: str, sealed: bytes | None, subscription_id: object
) -> str | None:
    if sealed is None:
        return None
    try:
        return open_secret(secret_key, sealed, str(subscription_id))
    except DeliveryError:
        return None


def headers_for(
    secrets_: Sequence[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers; one signature per live secret, space-separated.
    standardwebhooks signs, as the receivers' libraries verify."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    data = body.decode()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(Webhook(s).sign(msg_id, moment, data) for s in secrets_),
    }


# --- targets ------------------------------------------------------------------------


def _allowed(address: IPAddress, allow: Sequence[IPNetwork]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allow if network.version == address.version):
        return True
    return address.is_global and not address.is_multicast


def networks(allow: Sequence[str]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in allow)


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise TargetRefused(f"cannot resolve {host}") from error
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise TargetRefused(f"cannot resolve {host}")
    return found


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: IPAddress


def check_url(url: str, allow: Sequence[str]) -> str:
    """Validate a webhook URL a head entered (InvalidInput names the field)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed or invalid [IPv6] host, like http://[::1
        raise InvalidInput(
            "That address is not valid: check the part after //.", field="target"
        ) from None
    if len(url) > MAX_URL or parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(
            "Enter the full address of your receiver, starting with https://.", field="target"
        )
    if parts.username or parts.password:
        raise InvalidInput(
            "Leave passwords out of the address: deliveries are signed instead.", field="target"
        )
    try:
        resolve_target(url, allow)
    except TargetRefused as refused:
        raise InvalidInput(
            f"The hub cannot send to that address: {refused}.", field="target"
        ) from None
    return url


def resolve_target(url: str, allow: Sequence[str]) -> Target:
    """Resolve the URL's host now and pick the address to connect to; refuse the
    whole target if any address it resolves to is not allowed."""
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise TargetRefused("not a valid address") from error
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("not an http(s) address")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as error:
        raise TargetRefused("bad port") from error
    allowed_networks = networks(allow)
    addresses = _resolve(parts.hostname, port)
    for address in addresses:
        if not _allowed(address, allowed_networks):
            raise TargetRefused(
                f"{parts.hostname} is a private, loopback or link-local address ({address}) "
                "that the hub's operator has not allowed"
            )
    if parts.scheme == "http" and not all(
        any(a in n for n in allowed_networks if n.version == a.version) for a in addresses
    ):
        raise TargetRefused("plain http is only for addresses the operator allows; use https")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


# --- delivery -------------------------------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the address that was checked, whatever DNS says now."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = str(target.address)

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the system's CA certificates costs milliseconds: do it once.
    return ssl.create_default_context()


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        self._tls = _tls()
        super().__init__(target.host, target.port, timeout=timeout, context=self._tls)
        self._address = str(target.address)

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        # Certificate and SNI for the name, not the address.
        self.sock = self._tls.wrap_socket(raw, server_hostname=self.host)


def post(
    url: str, body: bytes, headers: dict[str, str], allow: Sequence[str], timeout: float
) -> int:
    """POST the body; returns the 2xx status or raises DeliveryError."""
    target = resolve_target(url, allow)
    connection: http.client.HTTPConnection = (
        _PinnedHTTPSConnection(target, timeout)
        if target.scheme == "https"
        else _PinnedHTTPConnection(target, timeout)
    )
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **headers,
            },
        )
        response = connection.getresponse()
        response.read(_RESPONSE_READ)  # drain a little; never stored
        status = response.status
        reason = response.reason
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryError(f"{type(error).__name__}: {error}"[:200]) from error
    finally:
        connection.close()
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status} {reason}"[:200])
    return status
