"""``alertnet client``: the hub's API from a terminal or a script.

It talks HTTP (the standard library's urllib) to a hub, with an API token saved
by ``alertnet client login`` in $XDG_CONFIG_HOME/alertnet/client.json (or
~/.config/alertnet), readable only by you. ``ALERTNET_HUB`` and
``ALERTNET_TOKEN`` override the file, for scripts. It needs no database and no
hub settings: it never starts the hub itself.

Tables for people; ``--json`` for scripts. Exit status: 0 done, 1 the hub
refused (its problem document is printed) or a check failed, 2 bad usage, not
logged in, or the hub could not be reached.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from crypto import merkle
from crypto.checkpoint import NoteError, NoteVerifier, open_checkpoint
from network.alerts import vocab
from network.api.limits import DEFAULT_PAGE, PAGE_LIMIT

USER_AGENT = "alertnet-client/1"
TIMEOUT = 30.0
RETRIES = 3
_CATEGORIES = [t.code for t in vocab.CATEGORIES]
_SEVERITIES = [t.code for t in vocab.SEVERITIES]
_TLP = [t.code for t in vocab.TLP]
_STATUSES = list(vocab.FILTER_STATUSES)


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
    return min(0.5 * 2 ** (attempt - 1), 5.0)


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


# --- output -----------------------------------------------------------------------------


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], wrap: int | None = None) -> None:
    """Columns padded to their widest cell; in a terminal, the column ``wrap``
    is cut to what is left of its width (never when piped to another program)."""
    cells = [[str(c) if c is not None else "" for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    if wrap is not None and sys.stdout.isatty():
        room = shutil.get_terminal_size((120, 24)).columns - sum(
            w + 2 for i, w in enumerate(widths) if i != wrap
        )
        widths[wrap] = max(12, min(widths[wrap], room))
        for row in cells:
            if len(row[wrap]) > widths[wrap]:
                row[wrap] = row[wrap][: widths[wrap] - 1] + "…"
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _when(value: str | None) -> str:
    return value.replace("T", " ")[:16] if value else ""


# --- commands ---------------------------------------------------------------------------


@click.group("client")
def client_cli() -> None:
    """Use a hub's API from a terminal or a script: post and read alerts,
    acknowledge and reply, and check the hub's audit log.

    Log in once with an API token (Account > API tokens on the hub, or
    'alertnet token create'). Add --json to any command for machine-readable output.
    """


@client_cli.command("login")
@click.option("--hub", "hub_url", help="The hub's address, like https://alerts.example.org.")
@click.option("--token-stdin", is_flag=True, help="Read the token from standard input.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def login(hub_url: str | None, token_stdin: bool, as_json: bool) -> None:
    """Check a token with the hub and save it (mode 0600).

    Also pins the hub's audit-log key, so 'alertnet client audit verify' can
    check checkpoints against it later: compare it with your onboarding pack.
    """
    saved = load_config()
    hub_url = hub_url or saved.get("hub") or click.prompt("Hub address")
    if not hub_url.startswith(("https://", "http://")):
        raise ClientError("The hub address starts with https:// (or http:// for a test hub).")
    if token_stdin:
        token = sys.stdin.readline().strip()
    else:
        token = click.prompt("API token", hide_input=True, err=True).strip()
    hub = Hub(hub_url.rstrip("/"), token)
    me = hub.json("GET", "/me")
    if me.get("token") is None:
        raise ClientError("That is not an API token.")
    key = Hub(hub.url, None).json("GET", "/audit/key")
    path = save_config(
        {"hub": hub.url, "token": token, "vkey": key["vkey"], "origin": key["origin"]}
    )
    if as_json:
        emit_json({**me, "config": str(path), "vkey": key["vkey"]})
        return
    token_info = me["token"]
    school = me["school"]["name"] if me.get("school") else "no school"
    click.echo(f"Logged in to {hub.url} as {me['member']['name']} ({school}).")
    click.echo(
        f"Token {token_info['name']!r}: {' '.join(token_info['scopes'])}; expires "
        f"{_when(token_info['expires_at'])} UTC."
    )
    click.echo(f"Audit log key pinned: {key['vkey']}")
    click.echo(f"Saved in {path}.")


@client_cli.command("logout")
def logout() -> None:
    """Forget the saved token (it stays valid on the hub until revoked)."""
    path = config_path()
    path.unlink(missing_ok=True)
    click.echo(f"Removed {path}. Revoke the token on the hub if it is no longer needed.")


@client_cli.command("whoami")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def whoami(as_json: bool) -> None:
    """Show whom the saved token acts as, its scopes and expiry."""
    me = Hub.configured().json("GET", "/me", retry=True)
    if as_json:
        emit_json(me)
        return
    token = me.get("token") or {}
    click.echo(f"{me['member']['name']} <{me['member']['email']}>, {me['member']['role']}")
    if me.get("school"):
        click.echo(f"School: {me['school']['name']}")
    click.echo(f"Scopes: {' '.join(token.get('scopes', []))}")
    click.echo(f"Expires: {_when(token.get('expires_at'))} UTC")


@client_cli.command("schools")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def schools(as_json: bool) -> None:
    """Your cluster's schools, with their ids and key fingerprints."""
    listed = Hub.configured().json("GET", "/schools", retry=True)["schools"]
    if as_json:
        emit_json(listed)
        return
    table(
        ["School", "URN", "Receives", "Fingerprint", "Id"],
        [
            [
                s["name"],
                s["urn"] or "office",
                "yes" if s["receives_alerts"] else "no",
                s["keys"]["fingerprint"] if s["keys"] else "",
                s["id"],
            ]
            for s in listed
        ],
    )


def _resolve_schools(hub: Hub, wanted: Sequence[str]) -> list[str]:
    """School ids from ids, URNs or exact names."""
    if not wanted:
        return []
    listed = hub.json("GET", "/schools", retry=True)["schools"]
    found = []
    for value in wanted:
        matches = [
            s["id"]
            for s in listed
            if value in (s["id"], s["urn"]) or s["name"].casefold() == value.casefold()
        ]
        if len(matches) != 1:
            raise ClientError(
                f"No single school of your cluster is {value!r}; see 'alertnet client schools'."
            )
        found.append(matches[0])
    return found


def _links(values: Sequence[str]) -> list[dict[str, Any]]:
    links = []
    for value in values:
        url, _, seen = value.strip().partition(" ")
        links.append({"url": url, "seen_on": seen.strip() or None})
    return links


def _attachments(paths: Sequence[Path]) -> list[dict[str, str]]:
    return [
        {"filename": path.name, "data": base64.b64encode(path.read_bytes()).decode()}
        for path in paths
    ]


@client_cli.command("post")
@click.option("--title", required=True, help="Up to 200 characters; shown in inboxes.")
@click.option("--category", type=click.Choice(_CATEGORIES), required=True)
@click.option("--platform", required=True, help="facebook, whatsapp, instagram, tiktok, ...")
@click.option("--severity", type=click.Choice(_SEVERITIES), default="medium", show_default=True)
@click.option("--tlp", type=click.Choice(_TLP), default="AMBER", show_default=True)
@click.option("--description", default="", help="What happened (facts only).")
@click.option(
    "--description-file",
    type=click.File("r"),
    help="Read the description from a file ('-' for standard input).",
)
@click.option("--link", "links", multiple=True, help="'URL' or 'URL YYYY-MM-DD'; repeat.")
@click.option("--recommend", default="", help="What you recommend other schools do.")
@click.option("--to", "to", multiple=True, help="A school (id, URN or name); repeat.")
@click.option("--cluster", "whole_cluster", is_flag=True, help="Every school of your cluster.")
@click.option("--hub-wide", is_flag=True, help="Every school on the hub.")
@click.option("--coordinator", is_flag=True, help="Also send to the cluster coordinator.")
@click.option(
    "--attach",
    "attach",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An evidence file (PNG, JPEG, WebP, PDF); repeat, up to 5.",
)
@click.option(
    "--idempotency-key",
    default=None,
    help="Retries with the same key post once (default: a new random key per run).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def post(
    title: str,
    category: str,
    platform: str,
    severity: str,
    tlp: str,
    description: str,
    description_file: Any,
    links: tuple[str, ...],
    recommend: str,
    to: tuple[str, ...],
    whole_cluster: bool,
    hub_wide: bool,
    coordinator: bool,
    attach: tuple[Path, ...],
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Post an alert: encrypted and signed by the hub for your school, sent to
    the schools you name (--to), your cluster (--cluster) or the hub (--hub-wide).

    Timeouts and server errors are retried with the same Idempotency-Key, so
    the alert is posted once.
    """
    if sum([bool(to), whole_cluster, hub_wide]) != 1:
        raise ClientError("Say who receives it: --to SCHOOL (repeat), --cluster or --hub-wide.")
    hub = Hub.configured()
    body = {
        "title": title,
        "category": category,
        "platform": platform,
        "severity": severity,
        "tlp": tlp,
        "description": description_file.read() if description_file else description,
        "links": _links(links),
        "recommended_action": recommend,
        "audience": "cluster" if whole_cluster else "hub" if hub_wide else "schools",
        "schools": _resolve_schools(hub, to),
        "include_coordinator": coordinator,
        "attachments": _attachments(attach),
    }
    key = idempotency_key or str(uuid.uuid4())
    posted = hub.json("POST", "/alerts", body, headers={"Idempotency-Key": key}, retry=True)
    if as_json:
        emit_json(posted)
        return
    names = ", ".join(r["name"] for r in posted["recipients"])
    click.echo(f"Posted {posted['id']} to {len(posted['recipients'])} school(s): {names}.")


def _inbox_rows(alerts: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for a in alerts:
        state = "ack" if a["acknowledged_at"] else "read" if a["read_at"] else "NEW"
        rows.append(
            [
                _when(a["created_at"]),
                a["severity"],
                a["category"],
                a["sender"]["name"],
                state if a["status"] == "open" else a["status"],
                a["title"] if a["title"] is not None else f"({a['problem']})",
                a["id"],
            ]
        )
    return rows


@client_cli.command("inbox")
@click.option("--status", type=click.Choice(_STATUSES))
@click.option("--category", type=click.Choice(_CATEGORIES))
@click.option("--severity", type=click.Choice(_SEVERITIES))
@click.option("--platform")
@click.option("--sender", help="Only alerts from this school (id).")
@click.option("--sent", is_flag=True, help="Your school's sent alerts instead.")
@click.option(
    "--limit", type=click.IntRange(1, PAGE_LIMIT), default=DEFAULT_PAGE, show_default=True
)
@click.option("--cursor", help="Start after this page (next_cursor of the last one).")
@click.option("--all", "every", is_flag=True, help="Follow every page.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def inbox(
    status: str | None,
    category: str | None,
    severity: str | None,
    platform: str | None,
    sender: str | None,
    sent: bool,
    limit: int,
    cursor: str | None,
    every: bool,
    as_json: bool,
) -> None:
    """List the school's inbox (or --sent), newest first, titles decrypted."""
    hub = Hub.configured()
    query = {
        "status": status,
        "category": category,
        "severity": severity,
        "platform": platform,
        "sender": sender,
        "limit": limit,
    }
    alerts: list[dict[str, Any]] = []
    while True:
        page = hub.json(
            "GET",
            "/alerts/sent" if sent else "/alerts",
            query={**query, "cursor": cursor},
            retry=True,
        )
        alerts.extend(page["alerts"])
        cursor = page["next_cursor"]
        if not every or not cursor:
            break
    if as_json:
        emit_json({"alerts": alerts, "next_cursor": cursor})
        return
    if not alerts:
        click.echo("No alerts.")
        return
    table(
        ["When (UTC)", "Severity", "Category", "From", "State", "Title", "Id"],
        _inbox_rows(alerts),
        wrap=5,
    )
    if cursor:
        click.echo(f"More: alertnet client inbox --cursor {cursor}")


@client_cli.command("read")
@click.argument("alert_id")
@click.option(
    "--save-attachments",
    type=click.Path(file_okay=False, path_type=Path),
    help="Download the evidence files into this folder.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def read(alert_id: str, save_attachments: Path | None, as_json: bool) -> None:
    """Open an alert: decrypted, both signatures verified by the hub, the opening
    recorded in the audit log."""
    hub = Hub.configured()
    alert = hub.json("GET", f"/alerts/{_alert_id(alert_id)}", retry=True)
    saved = []
    if save_attachments is not None:
        save_attachments.mkdir(parents=True, exist_ok=True)
        for item in alert["thread"]:
            if item["attachment"]:
                _, _, data = hub.request(
                    "GET", item["attachment"]["url"].removeprefix("/api/v1"), retry=True
                )
                target = save_attachments / Path(item["attachment"]["filename"]).name
                target.write_bytes(data)
                saved.append(str(target))
    if as_json:
        emit_json({**alert, "saved": saved} if saved else alert)
        return
    content = alert["content"]
    click.echo(
        f"{alert['severity'].upper()} · {alert['category']} · {alert['platform']} · "
        f"TLP:{alert['tlp']} · {alert['status']}"
    )
    click.echo(
        f"From {alert['sender']['name']}"
        f"{' (' + alert['sender_member']['name'] + ')' if alert['sender_member'] else ''}"
        f", {_when(alert['created_at'])} UTC"
    )
    if content is None:
        click.echo(alert["problem"] or "Routing details only: the content is not for you.")
    else:
        click.echo(f"Signature verified; sender's fingerprint {alert['sender_fingerprint']}")
        click.echo("")
        click.secho(content["title"], bold=True)
        if content["forwarded_note"]:
            click.echo(f"Forwarding note: {content['forwarded_note']}")
        for paragraph in content["description"].splitlines():
            click.echo(textwrap.fill(paragraph, 100) if paragraph else "")
        for link in content["links"]:
            seen = f" (seen {link['seen_on']})" if link["seen_on"] else ""
            click.echo(f"  {link['url']}{seen}")
        if content["recommended_action"]:
            click.echo(f"Recommended: {content['recommended_action']}")
    if alert["thread"]:
        click.echo("")
        for item in alert["thread"]:
            who = f"{item['author_school']['name']}, {_when(item['created_at'])}"
            if item["attachment"]:
                text = f"attachment {item['attachment']['filename']}"
            elif item["kind"] == "action":
                text = f"action {item['action_type']}: {item['text'] or ''}".rstrip(": ")
            else:
                text = f"{item['kind']}: {item['text'] or item['problem'] or ''}"
            click.echo(f"- [{who}] {text}")
    for path in saved:
        click.echo(f"Saved {path}")


def _alert_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ClientError(f"{value[:40]!r} is not an alert id.") from None


@client_cli.command("ack")
@click.argument("alert_id")
@click.option("--comment", default="", help="An optional comment (encrypted).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def ack(alert_id: str, comment: str, as_json: bool) -> None:
    """Acknowledge an alert for your school (once per school)."""
    done = Hub.configured().json(
        "POST", f"/alerts/{_alert_id(alert_id)}/acknowledge", {"comment": comment}
    )
    if as_json:
        emit_json(done)
        return
    click.echo(
        f"Acknowledged for {done['school']['name']} at {_when(done['acknowledged_at'])} UTC."
    )


@client_cli.command("reply")
@click.argument("alert_id")
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def reply(alert_id: str, text: str | None, as_json: bool) -> None:
    """Reply to every school that received the alert (TEXT, or standard input)."""
    if text is None or text == "-":
        text = sys.stdin.read()
    done = Hub.configured().json(
        "POST",
        f"/alerts/{_alert_id(alert_id)}/replies",
        {"text": text},
        headers={"Idempotency-Key": str(uuid.uuid4())},
        retry=True,
    )
    if as_json:
        emit_json(done)
        return
    click.echo(f"Replied ({done['id']}).")


# --- the audit log ----------------------------------------------------------------------


@client_cli.group("audit")
def audit_group() -> None:
    """Save the hub's signed audit checkpoint, and check later that the log
    still extends it (nothing rewritten or removed)."""


def _verifier() -> tuple[NoteVerifier, str]:
    saved = load_config()
    if not saved.get("vkey") or not saved.get("origin"):
        raise ClientError("No pinned audit key: run 'alertnet client login' first.")
    return NoteVerifier.from_vkey(saved["vkey"]), saved["origin"]


@audit_group.command("checkpoint")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the note to this file."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit_checkpoint(out: Path | None, as_json: bool) -> None:
    """Fetch the latest signed checkpoint, check its signature with the pinned
    key, and print (or save) the note exactly."""
    verifier, origin = _verifier()
    document = Hub.configured().json("GET", "/audit/checkpoint", retry=True)
    try:
        checkpoint = open_checkpoint(document["note"].encode(), verifier, origin)
    except NoteError as error:
        raise Refused(
            f"The hub's checkpoint does not verify with the pinned key: {error}"
        ) from None
    if out is not None:
        out.write_text(document["note"])
    if as_json:
        emit_json(document)
    elif out is not None:
        click.echo(f"Saved the checkpoint of {checkpoint.size:,} entries to {out}.")
    else:
        click.echo(document["note"], nl=False)


@audit_group.command("verify")
@click.argument("saved", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--update", is_flag=True, help="Then replace SAVED with the newer checkpoint.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit_verify(saved: Path, update: bool, as_json: bool) -> None:
    """Check that the hub's log still contains, unchanged, everything the
    checkpoint in SAVED signed: the latest checkpoint must verify with the
    pinned key, and the hub's consistency proof must lead from one to the other.
    Exit 1 if not (keep both notes: they prove the hub rewrote history)."""
    verifier, origin = _verifier()
    try:
        old = open_checkpoint(saved.read_bytes(), verifier, origin)
    except (NoteError, OSError) as error:
        raise ClientError(
            f"{saved} is not a checkpoint signed by the pinned key: {error}"
        ) from None
    if old.size == 0:
        raise ClientError(f"{saved} is the checkpoint of an empty log: there is nothing to check.")
    hub = Hub.configured()
    proof = hub.json("GET", "/audit/proofs/consistency", query={"from": old.size}, retry=True)
    try:
        new = open_checkpoint(proof["checkpoint"]["note"].encode(), verifier, origin)
        if proof["to"] != new.size or base64.b64decode(proof["to_root"]) != new.root:
            raise merkle.ProofError("the proof is not for the checkpoint sent with it")
        merkle.verify_consistency(
            old.size, new.size, old.root, new.root, [base64.b64decode(h) for h in proof["proof"]]
        )
    except (NoteError, merkle.ProofError, ValueError, KeyError, TypeError) as error:
        result = {"ok": False, "from": old.size, "problem": str(error)}
        if as_json:
            emit_json(result)
        raise Refused(
            f"FAILED: the hub's log does not extend the checkpoint of {old.size:,} entries: {error}"
        ) from None
    if update:
        saved.write_text(proof["checkpoint"]["note"])
    if as_json:
        emit_json({"ok": True, "from": old.size, "to": new.size, "updated": update})
        return
    click.echo(
        f"Verified: the log of {new.size:,} entries extends the saved checkpoint of "
        f"{old.size:,} entries unchanged."
    )
    if update:
        click.echo(f"Saved the newer checkpoint to {saved}.")
