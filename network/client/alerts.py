"""``alertnet client post|inbox|read|ack|reply``: alerts from a terminal."""

from __future__ import annotations

import base64
import sys
import textwrap
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from network.alerts import vocab
from network.api.limits import DEFAULT_PAGE, PAGE_LIMIT
from network.client.hub import ClientError, Hub
from network.client.output import emit_json, table, when

_CATEGORIES = [t.code for t in vocab.CATEGORIES]
_SEVERITIES = [t.code for t in vocab.SEVERITIES]
_TLP = [t.code for t in vocab.TLP]
_STATUSES = list(vocab.FILTER_STATUSES)


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


@click.command("post")
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
                when(a["created_at"]),
                a["severity"],
                a["category"],
                a["sender"]["name"],
                state if a["status"] == "open" else a["status"],
                a["title"] if a["title"] is not None else f"({a['problem']})",
                a["id"],
            ]
        )
    return rows


@click.command("inbox")
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


@click.command("read")
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
        f", {when(alert['created_at'])} UTC"
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
            who = f"{item['author_school']['name']}, {when(item['created_at'])}"
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


@click.command("ack")
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
    click.echo(f"Acknowledged for {done['school']['name']} at {when(done['acknowledged_at'])} UTC.")


@click.command("reply")
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
