"""Talking to a hub: the saved login, and HTTP with retries where they are safe.

The API token is saved by ``alertnet client login`` in
$XDG_CONFIG_HOME/alertnet/client.json (or ~/.config/alertnet), readable only by
you. ``ALERTNET_HUB`` and ``ALERTNET_TOKEN`` override the file, for scripts.
"""

from __future__ import annotations

import json
import os
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

USER_AGENT = "alertnet-client/1"
TIMEOUT = 30.0
RETRIES = 3


class ClientError(click.ClickException):
    """Exit 2: usage, configuration or the network."""

    exit_code = 2

    def format_message(self) -> str:
        return self.message


class Refused(click.ClickException):
    """Exit 1: the hub answered with a problem document, or a check failed."""

    exit_code = 1

    def __init__(self, message: str, problem: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.problem = problem

    def format_message(self) -> str:
        return self.message


# --- configuration ----------------------------------------------------------------------


def config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "alertnet" / "client.json"


def load_config() -> dict[str, Any]:
    path = config_path()
    try:
        saved: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        saved = {}
    except (OSError, ValueError) as error:
        raise ClientError(f"Cannot read {path}: {error}. Run 'alertnet client login'.") from None
    if os.environ.get("ALERTNET_HUB"):
        saved["hub"] = os.environ["ALERTNET_HUB"]
    if os.environ.get("ALERTNET_TOKEN"):
        saved["token"] = os.environ["ALERTNET_TOKEN"]
    return saved


def save_config(values: dict[str, Any]) -> Path:
    """Written with mode 0600 from the start (never briefly readable by others)."""
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".client.{uuid.uuid4().hex}.json")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


# --- HTTP -------------------------------------------------------------------------------


@dataclass
class Hub:
    url: str
    token: str | None

    @classmethod
    def configured(cls) -> Hub:
        saved = load_config()
        if not saved.get("hub") or not saved.get("token"):
            raise ClientError("Not logged in: run 'alertnet client login' first.")
        return cls(saved["hub"].rstrip("/"), saved["token"])

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        retry: bool = False,
    ) -> tuple[int, dict[str, str], bytes]:
        """One call, or with ``retry`` up to three (timeouts, 429 and 5xx): only
        for requests that are safe to repeat (GET, or carrying an Idempotency-Key)."""
        url = f"{self.url}/api/v1{path}"
        if query:
            kept = {k: v for k, v in query.items() if v not in (None, "", False)}
            if kept:
                url += "?" + urllib.parse.urlencode(kept, doseq=True)
        data = json.dumps(body).encode() if body is not None else None
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if data is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        attempts = RETRIES if retry else 1
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(url, data=data, headers=sent, method=method)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                    return response.status, dict(response.headers), response.read()
            except urllib.error.HTTPError as error:
                payload = error.read()
                retryable = error.code == 429 or error.code >= 500
                if retryable and attempt < attempts:
                    time.sleep(_wait(error.headers.get("Retry-After"), attempt))
                    continue
                _refuse(error.code, payload)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                if attempt < attempts:
                    time.sleep(_wait(None, attempt))
                    continue
                reason = getattr(error, "reason", error)
                raise ClientError(f"Cannot reach the hub at {self.url}: {reason}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        _, _, payload = self.request(method, path, body, **kw)
        return json.loads(payload) if payload else None


def _wait(retry_after: str | None, attempt: int) -> float:
    if retry_after and retry_after.isdigit():
        return min(float(retry_after), 30.0)
    return min(0.5 * 2.0 ** (attempt - 1), 5.0)


def _refuse(status: int, payload: bytes) -> NoReturn:
    try:
        problem = json.loads(payload)
        if not isinstance(problem, dict):
            raise ValueError
    except ValueError:
        raise Refused(f"The hub answered {status}.") from None
    lines = [f"Refused ({status}): {problem.get('detail') or problem.get('title')}"]
    for error in problem.get("errors") or []:
        lines.append(f"  {error.get('field')}: {error.get('message')}")
    if status == 401:
        lines.append("  Log in again with 'alertnet client login' and a live token.")
    raise Refused("\n".join(lines), problem)
