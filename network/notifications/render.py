"""What a notification looks like: the email (plain text and HTML) and the
webhook body. Made only from the stored payload, which holds metadata only
(category, severity, platform, sender school, time, link): never content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from flask import current_app
from jinja2 import Template

from network.alerts import vocab
from network.clock import shown
from network.notifications import mail
from network.notifications.models import AlertRef, Payload, SchoolRef
from network.text import indefinite

# Most severe first: the reverse of the severities' rank.
SEVERITY_ORDER = {
    code: len(vocab.SEVERITY_RANK) - 1 - rank for code, rank in vocab.SEVERITY_RANK.items()
}


@dataclass
class AlertLine:
    severity: str
    category: str
    platform: str
    sender: str
    when: str
    link: str


@dataclass
class DigestGroup:
    category: str
    severity: str
    alerts: list[AlertLine]


@dataclass
class Rendered:
    subject: str
    headline: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    link: str = ""
    link_label: str = "Open it in alertnet"
    groups: list[DigestGroup] = field(default_factory=list)
    why: str = ""
    manage: str = ""


def _when(iso: str, tz: ZoneInfo) -> str:
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%a ") + shown(
        datetime.fromisoformat(iso), tz
    )


def _line(ref: AlertRef, base: str, tz: ZoneInfo) -> AlertLine:
    return AlertLine(
        ref["severity_label"],
        ref["category_label"],
        ref["platform_label"],
        ref["sender_school"]["name"],
        _when(ref["created_at"], tz),
        base + ref["path"],
    )


def _alert_facts(ref: AlertRef, tz: ZoneInfo) -> list[tuple[str, str]]:
    return [
        ("Severity", ref["severity_label"]),
        ("Category", ref["category_label"]),
        ("Platform", ref["platform_label"]),
        ("From", ref["sender_school"]["name"]),
        ("Posted", _when(ref["created_at"], tz)),
    ]


def _name(ref: SchoolRef | None, default: str) -> str:
    return ref["name"] if ref else default


# Four-eyes review (network/alerts/review.py): what a reviewer is told when an
# alert waits for them, and the author of a decision. The alert and the
# reviewer's note or reason are sealed to the school: sign in to read them.
REVIEW_DECISIONS = {
    "review.requested": (
        "An alert waits for your review",
        "A member of staff at your school submitted an alert, and it waits for a head or "
        "safeguarding lead to review it. Nothing reaches another school before one of you "
        "approves it. Sign in to read it, then approve it, ask for changes or reject it.",
        "Review the alert",
    ),
    "review.approved": (
        "Your alert was approved and sent",
        "A head or safeguarding lead of your school approved your alert; it has been "
        "sent to the schools you chose.",
        "Open the alert",
    ),
    "review.changes_requested": (
        "Changes asked for on your alert",
        "A reviewer at your school asked for changes before your alert is sent. Sign in "
        "to read what they ask, change it and submit it again.",
        "Open your draft",
    ),
    "review.rejected": (
        "Your alert was not approved",
        "A reviewer at your school did not approve your alert, so it was not sent. Sign "
        "in to read their reason.",
        "Open your draft",
    ),
}


def describe(payload: Payload, base: str, tz: ZoneInfo) -> Rendered:
    """Subject, headline and facts for any kind of notification."""
    kind = payload["type"]
    ref = payload.get("alert")
    school = _name(payload.get("school"), "your school")
    link = base + payload.get("path", "/notifications")
    if kind == "test":
        return Rendered(
            "[alertnet] Test notification",
            f"This is a test notification for {school}, requested by "
            f"{payload.get('requested_by', 'a member')}. It works.",
            link=link,
            link_label="Your subscriptions",
        )
    if kind == "alert.digest":
        groups: dict[tuple[str, str], DigestGroup] = {}
        for alert in sorted(
            payload["alerts"],
            key=lambda a: (SEVERITY_ORDER.get(a["severity"], 9), a["category"], a["created_at"]),
        ):
            group = groups.setdefault(
                (alert["severity"], alert["category"]),
                DigestGroup(alert["category_label"], alert["severity_label"], []),
            )
            group.alerts.append(_line(alert, base, tz))
        count = len(payload["alerts"])
        return Rendered(
            f"[alertnet] Daily digest for {school}: {count} alert{'s' if count != 1 else ''}",
            f"{count} alert{'s' if count != 1 else ''} reached {school} since the last digest.",
            link=base + "/alerts",
            link_label="Open the inbox",
            groups=list(groups.values()),
        )
    if kind in ("account.locked", "account.new_browser"):
        return _account(payload, base, tz)
    if kind in REVIEW_DECISIONS:
        subject, headline, label = REVIEW_DECISIONS[kind]
        return Rendered(
            f"[alertnet] {subject}",
            headline,
            [("When", _when(payload["at"], tz))],
            link,
            link_label=label,
            why="You receive this because you review alerts from your school's staff."
            if kind == "review.requested"
            else "You receive this because you wrote the alert.",
            manage=base + "/notifications",
        )
    assert ref is not None
    severity, sender = ref["severity_label"], ref["sender_school"]["name"]
    category = ref["category_label"]
    facts = _alert_facts(ref, tz)
    by = _name(payload.get("by"), "A school")
    if kind == "alert.received":
        return Rendered(
            f"[alertnet] {severity} alert from {sender}: {category}",
            f"{sender} sent {school} {indefinite(severity.lower())} alert. Sign in to read it: its "
            "content is end-to-end encrypted and is never sent by email or webhook.",
            facts,
            link,
        )
    if kind == "alert.out_of_hours":
        deadline = _when(payload["deadline"], tz)
        return Rendered(
            f"[alertnet] Urgent alert for {school} outside school days, due by {deadline}",
            f"{sender} sent {school} an urgent alert. It should be acknowledged by {deadline}, "
            f"which is not one of {school}'s school days, so you are told as the school's "
            "out-of-hours contact. Its content is end-to-end encrypted and is never sent by "
            f"email: a member of {school} signs in to read it.",
            [*facts, ("Due by", deadline)],
            link,
            why=f"You receive this because {school} named you its out-of-hours contact "
            "for urgent alerts.",
            manage=base + "/school/out-of-hours",
        )
    if kind == "alert.withdrawn":
        return Rendered(
            f"[alertnet] Withdrawn by {sender}: {severity.lower()} alert, {category}",
            f"{sender} withdrew an alert it sent {school}. Its content can no longer be "
            "opened; sign in to read their reason.",
            facts,
            link,
        )
    if kind == "alert.corrected":
        return Rendered(
            f"[alertnet] Corrected by {sender}: {severity.lower()} alert, {category}",
            f"{sender} added a correction to an alert it sent {school}. Sign in to read it: "
            "it is end-to-end encrypted and is never sent by email or webhook.",
            facts,
            link,
        )
    if kind == "alert.acknowledgement_due":
        deadline = _when(payload["deadline"], tz)
        return Rendered(
            f"[alertnet] Reminder: please acknowledge the {severity.lower()} alert from {sender}",
            f"{school} has not yet acknowledged this alert; it was due by {deadline}.",
            [*facts, ("Due by", deadline)],
            link,
        )
    if kind == "referral.follow_up_due":
        item = payload.get("item")
        action = item.get("action_label", "A referral") if item else "A referral"
        due = datetime.fromisoformat(payload["deadline"]).strftime("%-d %b %Y")
        return Rendered(
            f"[alertnet] Follow-up overdue: {action}",
            f"{school} recorded this ({action}) on {indefinite(severity.lower())} alert from "
            f"{sender}, to follow up by {due}. Record what came of it: the follow-up shows as "
            "overdue until you do.",
            [*facts, ("Follow up by", due)],
            link,
            link_label="Record the outcome",
        )
    if kind == "alert.acknowledgement_overdue":
        deadline = _when(payload["deadline"], tz)
        return Rendered(
            f"[alertnet] Overdue: {school} has not acknowledged "
            f"{indefinite(severity.lower())} alert",
            f"{school} has not acknowledged this alert from {sender}; it was due by "
            f"{deadline} and the school has been reminded.",
            [*facts, ("Due by", deadline)],
            link,
            link_label="See the alert's acknowledgements",
        )
    item = payload.get("item")
    action = item.get("action_label", "") if item else ""
    headlines = {
        "alert.replied": (f"New reply from {by}", f"{by} replied to an alert you watch."),
        "alert.action_recorded": (
            f"{by} recorded an action",
            f"{by} recorded an action on an alert you watch: {action}.",
        ),
        "alert.attachment_added": (
            f"{by} added an attachment",
            f"{by} added an attachment to an alert you watch.",
        ),
        "alert.acknowledged": (f"{by} acknowledged", f"{by} acknowledged an alert you watch."),
        "alert.sighted": (
            f"{by} has seen this too",
            f"{by} says it has seen what an alert you watch reports.",
        ),
        "alert.resolved": ("Resolved", f"{sender} marked an alert you watch as resolved."),
        "alert.closed": (
            f"Closed by {by}",
            f"{by} closed an alert you watch on its side.",
        ),
        "alert.forwarded": (
            f"Forwarded by {by}",
            f"{by} forwarded an alert you watch to "
            + (
                "1 other school."
                if payload.get("schools") == 1
                else f"{payload.get('schools', 'other')} other schools."
            ),
        ),
    }
    title, headline = headlines.get(kind, ("Update", "An alert you watch has changed."))
    return Rendered(
        f"[alertnet] {title}: {severity.lower()} alert from {sender}",
        headline,
        facts,
        link,
        why="You receive this because you watch this alert.",
        manage=base + "/notifications/watching",
    )


def _account(payload: Payload, base: str, tz: ZoneInfo) -> Rendered:
    """About the member's own account: a lock, a sign-in from a new browser."""
    why = "You receive this because it concerns your own alertnet account."
    if payload["type"] == "account.locked":
        until = _when(payload["until"], tz)
        return Rendered(
            "[alertnet] Your account is locked after too many wrong passwords",
            "Someone entered the wrong password for your account too many times, so signing "
            f"in is locked until {until}. If it was you, wait, or ask a head of your school "
            "(or your coordinator) to unlock it. If it was not you, your password has not "
            "been guessed; tell your head.",
            link=base + "/sign-in",
            link_label="Sign in",
            why=why,
            manage=base + "/account",
        )
    return Rendered(
        "[alertnet] New sign-in to your account from another browser",
        f"Your account was signed in to at {_when(payload['at'], tz)} from a browser it has "
        "not been used in before. If this was you, there is nothing to do. If not, change "
        "your password and choose “Sign out everywhere” on your account page.",
        [("Browser", payload.get("browser", "") or "not given")],
        base + "/account",
        link_label="Your account",
        why=why,
        manage=base + "/account",
    )


def email(
    *,
    notification_id: str,
    payload: Payload,
    to: str,
    subscription_id: str | None,
    subscription_name: str,
    base: str,
    mail_from: str,
    tz: ZoneInfo,
) -> EmailMessage:
    """Needs an application context (the templates)."""
    rendered = describe(payload, base, tz)
    if subscription_id:
        rendered.manage = f"{base}/notifications/subscriptions/{subscription_id}"
        rendered.why = (
            f"You receive this because of the subscription “{subscription_name}”."
            if subscription_name
            else "You receive this because of a subscription of yours or your school's."
        )
    elif not rendered.manage:
        rendered.manage = base + "/notifications"
        rendered.why = rendered.why or "You receive this as your cluster's coordinator."
    return mail.compose(
        notification_id=notification_id,
        from_address=mail_from,
        to=to,
        subject=rendered.subject,
        text=_template("notifications/email/message.txt").render(r=rendered),
        html=_template("notifications/email/message.html").render(r=rendered),
        unsubscribe=rendered.manage,
    )


def _template(name: str) -> Template:
    # Not render_template: the site's context processors need a request.
    return current_app.jinja_env.get_template(name)


def _with_links(value: object, base: str) -> object:
    if isinstance(value, dict):
        out = {k: _with_links(v, base) for k, v in value.items() if k != "path"}
        if "path" in value:
            out["link"] = base + value["path"]
        return out
    if isinstance(value, list):
        return [_with_links(v, base) for v in value]
    return value


def webhook_body(payload: Payload, created_at: datetime, base: str) -> bytes:
    """Standard Webhooks' suggested shape: {type, timestamp, data}. The same
    bytes on every attempt: sorted keys, no whitespace."""
    data = _with_links({k: v for k, v in payload.items() if k != "type"}, base)
    document = {"type": payload["type"], "timestamp": created_at.isoformat(), "data": data}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
