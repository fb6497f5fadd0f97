"""The audit log in words a coordinator or a head reads: "Priya Shah
(Riverside Academy) opened an alert from Oakfield", and the actions by name in
the filter. The codes stay what is stored, exported and signed; they are shown
only in the page's technical view.

An entry never holds content (design.md, "The audit trail"), so no sentence
names an alert's title: it names the alert by its sender school, which every
reader of the log may see, and links to the alert's history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

from network.text import indefinite

if TYPE_CHECKING:
    from network.audit.search import Names
    from schools.audit.models import AuditEvent


@dataclass(frozen=True)
class Action:
    code: str
    label: str  # in the filter: "Opened an alert"
    says: str  # in a sentence, after the person: "opened {object}"


@dataclass(frozen=True)
class Group:
    prefix: str  # "alert."
    label: str  # "Alerts"
    actions: tuple[Action, ...]


def _a(code: str, label: str, says: str) -> Action:
    return Action(code, label, says)


GROUPS = (
    Group(
        "alert.",
        "Alerts",
        (
            _a("alert.posted", "Posted an alert", "posted {object}"),
            _a("alert.opened", "Opened an alert", "opened {object}"),
            _a(
                "alert.marked_unread",
                "Marked an alert unread (for themselves)",
                "marked {object} unread for themselves",
            ),
            _a(
                "alert.metadata_viewed",
                "Looked at an alert's details (not its content)",
                "looked at the details, not the content, of {object}",
            ),
            _a(
                "alert.attachment_downloaded",
                "Downloaded an attachment",
                "downloaded an attachment of {object}",
            ),
            _a(
                "alert.exported",
                "Printed an alert or saved it as a PDF",
                "printed {object} or saved it as a PDF",
            ),
            _a("alert.acknowledged", "Acknowledged an alert", "acknowledged {object}"),
            _a(
                "alert.ack_comment",
                "Added a note to an acknowledgement",
                "added a note to the acknowledgement of {object}",
            ),
            _a("alert.replied", "Replied to an alert", "replied to {object}"),
            _a("alert.actioned", "Recorded an action", "recorded an action on {object}"),
            _a(
                "alert.member_withdrawn",
                "Withdrew a member from an alert's thread",
                "withdrew a member of their school from the thread of {object}",
            ),
            _a(
                "alert.attachment_added",
                "Added an attachment",
                "added an attachment to {object}",
            ),
            _a("alert.forwarded", "Forwarded an alert", "forwarded {object} to other schools"),
            _a("alert.resolved", "Marked an alert resolved", "marked {object} as resolved"),
            _a("alert.watched", "Started watching an alert", "started watching {object}"),
            _a("alert.unwatched", "Stopped watching an alert", "stopped watching {object}"),
            _a(
                "alert.ack_reminder_sent",
                "Reminded a school to acknowledge",
                "reminded the school to acknowledge {object}",
            ),
            _a(
                "alert.ack_overdue_escalated",
                "Told the coordinators of an overdue acknowledgement",
                "told the coordinators that {object} had not been acknowledged in time",
            ),
            _a(
                "alert.shredded",
                "Destroyed an alert's content (retention)",
                "destroyed the content of {object} at the end of the retention period",
            ),
            _a("alert.draft_saved", "Saved a draft alert", "saved {object}"),
            _a(
                "alert.draft_file_downloaded",
                "Downloaded a file of a draft alert",
                "downloaded a file of {object}",
            ),
            _a("alert.draft_discarded", "Discarded a draft alert", "discarded {object}"),
            _a("alert.draft_sent", "Sent a draft alert", "sent {object}"),
            _a(
                "alert.draft_shredded",
                "Destroyed an abandoned draft",
                "destroyed {object}, left unsaved for a day",
            ),
            _a(
                "alert.submitted_for_review",
                "Submitted an alert for review",
                "submitted {object} for review",
            ),
            _a(
                "alert.review_approved", "Approved an alert in review", "approved and sent {object}"
            ),
            _a(
                "alert.review_changes_requested",
                "Asked for changes to an alert in review",
                "asked for changes to {object}",
            ),
            _a("alert.review_rejected", "Rejected an alert in review", "rejected {object}"),
            _a(
                "alert.integrity_failed",
                "Could not open an alert (failed its checks)",
                "could not open {object}: it failed its integrity checks",
            ),
        ),
    ),
    Group(
        "inbox.",
        "Inbox",
        (
            _a(
                "inbox.titles_decrypted",
                "Opened the inbox's alert titles",
                "opened the alert titles in the inbox",
            ),
        ),
    ),
    Group(
        "member.",
        "People and sign-in",
        (
            _a("member.signed_in", "Signed in", "signed in"),
            _a("member.signed_out", "Signed out", "signed out"),
            _a("member.signed_out_everywhere", "Signed out everywhere", "signed out everywhere"),
            _a("member.sign_in_failed", "Failed to sign in", "failed to sign in"),
            _a(
                "member.sign_in_throttled",
                "Paused after too many sign-in attempts",
                "was paused after too many sign-in attempts",
            ),
            _a("member.joined", "Joined", "joined"),
            _a(
                "member.keys_confirmed",
                "Confirmed a member's keys",
                "confirmed the keys of {object}",
            ),
            _a("member.password_changed", "Changed their password", "changed their password"),
            _a(
                "member.password_rewrapped",
                "Password protection renewed",
                "had their password's protection renewed",
            ),
            _a("member.recovered", "Used the recovery code", "got back in with the recovery code"),
            _a(
                "member.recovery_failed",
                "Tried a recovery code that did not work",
                "tried a recovery code that did not work",
            ),
            _a(
                "member.recovery_throttled",
                "Paused after too many recovery attempts",
                "was paused after too many recovery attempts",
            ),
            _a("member.removed", "Removed a member", "removed {object}"),
            _a("member.role_changed", "Changed a member's role", "changed the role of {object}"),
            _a(
                "member.leadership_keys_confirmed",
                "Gave a member the leadership keys",
                "gave {object} the school's leadership keys",
            ),
        ),
    ),
    Group(
        "invitation.",
        "Invitations",
        (
            _a("invitation.created", "Invited someone", "invited someone to join"),
            _a(
                "invitation.resent",
                "Resent an invitation",
                "sent someone a new invitation link to join",
            ),
            _a("invitation.accepted", "Accepted an invitation", "accepted an invitation"),
            _a("invitation.withdrawn", "Withdrew an invitation", "withdrew an invitation"),
        ),
    ),
    Group(
        "school.",
        "Schools and keys",
        (
            _a("school.admitted", "Admitted a school", "admitted {object}"),
            _a("school.suspended", "Suspended a school", "suspended {object}"),
            _a("school.reinstated", "Reinstated a school", "reinstated {object}"),
            _a(
                "school.review_turned_on",
                "Turned on review of alerts from staff",
                "turned on four-eyes review of alerts from staff at {object}",
            ),
            _a(
                "school.review_turned_off",
                "Turned off review of alerts from staff",
                "turned off four-eyes review of alerts from staff at {object}",
            ),
            _a("school.keys_created", "Created a school's keys", "created the keys of {object}"),
            _a("school.keys_rotated", "Renewed a school's keys", "renewed the keys of {object}"),
            _a(
                "school.leadership_keys_created",
                "Created a school's leadership keys",
                "created the leadership keys of {object}",
            ),
            _a(
                "school.leadership_keys_rotated",
                "Renewed a school's leadership keys",
                "renewed the leadership keys of {object}",
            ),
            _a(
                "school.fingerprint_verified",
                "Verified a school's key fingerprint",
                "verified the key fingerprint of {object}",
            ),
            _a(
                "school.recovery_code_issued",
                "Made a new recovery code",
                "made a new recovery code",
            ),
            _a(
                "school.out_of_hours_contact_set",
                "Named an out-of-hours contact",
                "named the out-of-hours contact of {object}",
            ),
            _a(
                "school.recovery_code_withdrawn",
                "Withdrew a recovery code",
                "withdrew the recovery code held by {object}",
            ),
        ),
    ),
    Group(
        "cluster.",
        "Cluster",
        (
            _a("cluster.created", "Created a cluster", "created the cluster {object}"),
            _a(
                "cluster.retention_changed",
                "Changed how long alerts are kept",
                "changed how long the cluster keeps alerts",
            ),
        ),
    ),
    Group(
        "ack_deadlines.",
        "Acknowledgement deadlines",
        (
            _a(
                "ack_deadlines.changed",
                "Changed the acknowledgement deadlines",
                "changed the cluster's acknowledgement deadlines",
            ),
        ),
    ),
    Group(
        "subscription.",
        "Notification subscriptions",
        (
            _a("subscription.created", "Added a subscription", "added a notification subscription"),
            _a(
                "subscription.changed",
                "Changed a subscription",
                "changed a notification subscription",
            ),
            _a(
                "subscription.deleted",
                "Deleted a subscription",
                "deleted a notification subscription",
            ),
            _a(
                "subscription.secret_rotated",
                "Renewed a webhook secret",
                "renewed the secret of a webhook subscription",
            ),
        ),
    ),
    Group(
        "notification.",
        "Notifications",
        (
            _a("notification.test_sent", "Sent a test notification", "sent a test notification"),
            _a(
                "notification.dead_lettered",
                "Gave up delivering a notification",
                "gave up delivering a notification after every retry",
            ),
        ),
    ),
    Group(
        "token.",
        "API tokens",
        (
            _a("token.created", "Made an API token", "made an API token"),
            _a("token.revoked", "Revoked an API token", "revoked an API token"),
            _a("token.rejected", "An API token was refused", "had an API token refused"),
            _a(
                "token.wraps_forgotten",
                "An API token lost its keys",
                "had an API token's keys removed",
            ),
        ),
    ),
    Group(
        "guidance.",
        "Guidance",
        (
            _a(
                "guidance.edited",
                "Changed the cluster's guidance",
                "changed the cluster's guidance on what to do for a category of alert",
            ),
        ),
    ),
    Group(
        "platform.",
        "Platforms",
        (
            _a(
                "platform.minimum_age_changed",
                "Changed a platform's minimum age",
                "changed the minimum age for {object}",
            ),
        ),
    ),
    Group(
        "audit.",
        "Audit log",
        (_a("audit.exported", "Downloaded the audit log", "downloaded the audit log"),),
    ),
    Group(
        "hub.",
        "The hub",
        (_a("hub.restored", "Restored from a backup", "restored the hub from a backup"),),
    ),
)

ACTIONS = {action.code: action for group in GROUPS for action in group.actions}
_GROUP_LABELS = {group.prefix: group.label for group in GROUPS}


def action_label(code: str) -> str:
    """A code's name in the filter; a group ("alert.") is "Anything about alerts"."""
    if code in ACTIONS:
        return ACTIONS[code].label
    if code in _GROUP_LABELS:
        return f"Anything: {_GROUP_LABELS[code].lower()}"
    return code.replace("_", " ").replace(".", ": ").capitalize()


def action_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The filter's options, grouped: each group first offers all of itself."""
    return [
        (
            group.label,
            [(group.prefix, f"Anything: {group.label.lower()}")]
            + [(a.code, a.label) for a in group.actions],
        )
        for group in GROUPS
    ]


def _says(code: str) -> str:
    if code in ACTIONS:
        return ACTIONS[code].says
    # An action this list does not know yet: its code in plain words.
    words = code.replace("_", " ").replace(".", " ")
    return f"did “{words}” on {{object}}"


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def who(entry: AuditEvent, names: Names) -> str:
    """The person and their school: "Priya Shah (Riverside Academy)"."""
    school = names.schools.get(entry.school_id) if entry.school_id else None
    where = f" ({school.name})" if school is not None else ""
    if entry.actor_id is None:
        return "The hub" if school is None else f"The hub (for {school.name})"
    member = names.members.get(entry.actor_id)
    if member is None:
        return f"A former member{where}"
    return f"{member.name}{where}"


def object_name(kind: str | None, ident: str | None, names: Names, action: str = "") -> str:
    """An object as a reader knows it: "an alert from Oakfield", "Elmwood"."""
    if kind == "alert":
        sender = names.alert_senders.get(_uuid(ident)) if ident else None  # type: ignore[arg-type]
        posted = action == "alert.posted"
        return f"an alert from {sender.name}" if sender is not None and not posted else "an alert"
    if kind == "school":
        school = names.schools.get(_uuid(ident)) if ident else None  # type: ignore[arg-type]
        return school.name if school is not None else "a school"
    if kind == "member":
        member = names.members.get(_uuid(ident)) if ident else None  # type: ignore[arg-type]
        return member.name if member is not None else "a former member"
    if kind == "held_alert":
        return "a draft alert"
    if kind == "platform":
        return names.platforms.get(ident or "", ident or "a platform")
    if kind == "cluster":
        name = names.clusters.get(_uuid(ident), "") if ident else ""  # type: ignore[arg-type]
        return name or "a cluster"
    return indefinite((kind or "something").replace("_", " "))


def _object(entry: AuditEvent, names: Names, history: str | None) -> Markup:
    text = object_name(entry.object_type, entry.object_id, names, entry.action)
    if history:
        return Markup('<a href="{}">{}</a>').format(history, text)
    return escape(text)


def sentence(entry: AuditEvent, names: Names, history: str | None = None) -> Markup:
    """What happened, as one sentence without a full stop; ``history`` links
    its object to the object's own history."""
    says = _says(entry.action)
    if "{object}" in says and not entry.object_type:
        says = says.replace(" on {object}", "").replace("{object}", "something")
    parts = says.split("{object}")
    out = escape(who(entry, names)) + Markup(" ") + escape(parts[0])
    if len(parts) > 1:
        out += _object(entry, names, history) + escape(parts[1])
    detail = _detail(entry)
    return out + escape(detail)


def _detail(entry: AuditEvent) -> str:
    """The few details a reader needs to understand the entry, never an id."""
    d = entry.detail or {}
    if entry.action == "platform.minimum_age_changed" and "after" in d:
        return f" from {d.get('before')} to {d['after']}"
    if entry.action in ("invitation.created", "invitation.resent") and d.get("role"):
        role = {"head": "the head", "staff": "a member of staff", "coordinator": "a coordinator"}
        return f" as {role.get(str(d['role']), str(d['role']).replace('_', ' '))}"
    if entry.action == "audit.exported" and "format" in d:
        return f" as {str(d['format']).upper()}"
    return ""
