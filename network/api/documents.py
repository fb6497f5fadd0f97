"""The JSON shapes the API answers with (network/api/openapi.py describes them).

Times are RFC 3339 UTC with microseconds (``2026-11-26T12:08:07.257640Z``),
ids are UUIDs, hashes hex. Content (titles, bodies, notes, file names) appears
only in what a reader of the alert gets back: the inbox and one alert.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from flask import url_for

from network.alerts.models import Alert, AlertRecipient, ThreadItem
from network.alerts.operations import InboxPage, OpenedAlert
from network.notifications.models import Subscription
from schools.audit.leaf import timestamp
from schools.models import ApiToken, Member, School, SchoolKeyGeneration


def when(moment: datetime | None) -> str | None:
    return timestamp(moment) if moment is not None else None


def school_ref(school: School) -> dict[str, Any]:
    return {"id": str(school.id), "name": school.name}


def member_ref(member: Member | None) -> dict[str, Any] | None:
    return {"id": str(member.id), "name": member.name} if member is not None else None


def token_document(token: ApiToken, now: datetime) -> dict[str, Any]:
    return {
        "id": str(token.id),
        "name": token.name,
        "scopes": token.scope_list,
        "created_at": when(token.created_at),
        "expires_at": when(token.expires_at),
        "last_used_at": when(token.last_used_at),
        "state": token.state(now),
    }


def me(
    member: Member, token: ApiToken | None, keys_unlocked: bool, now: datetime
) -> dict[str, Any]:
    return {
        "member": {
            "id": str(member.id),
            "name": member.name,
            "email": member.email,
            "role": member.role,
        },
        "school": (
            {**school_ref(member.school), "kind": member.school.kind}
            if member.school is not None
            else None
        ),
        "token": token_document(token, now) if token is not None else None,
        "keys_unlocked": keys_unlocked,
    }


def _metadata(alert: Alert) -> dict[str, Any]:
    return {
        "id": str(alert.id),
        "created_at": when(alert.created_at),
        "category": alert.category,
        "severity": alert.severity,
        "platform": alert.platform,
        "tlp": alert.tlp,
        "status": alert.status,
        "sender": school_ref(alert.sender_school),
        "recipient_count": alert.recipient_count,
        "attachment_count": alert.attachment_count,
    }


def posted(alert: Alert, recipients: list[School]) -> dict[str, Any]:
    """What posting (or forwarding) answers: metadata only, never content."""
    return {
        **_metadata(alert),
        "envelope_hash": alert.envelope_hash.hex(),
        "forwarded_from": str(alert.forwarded_from_id) if alert.forwarded_from_id else None,
        "recipients": [school_ref(s) for s in recipients],
        "url": url_for("api.read_alert", alert_id=alert.id),
    }


def inbox(page: InboxPage, next_url: str | None) -> dict[str, Any]:
    return {
        "alerts": [
            {
                **_metadata(row.alert),
                "title": row.title or None,
                "problem": row.problem or None,
                "read_at": when(row.copy.first_read_at),
                "acknowledged_at": when(row.copy.acknowledged_at),
                "url": url_for("api.read_alert", alert_id=row.alert.id),
            }
            for row in page.rows
        ],
        "next_cursor": page.next_cursor,
        "next": next_url,
    }


def _copy(copy: AlertRecipient) -> dict[str, Any]:
    return {
        "school": school_ref(copy.school),
        "is_sender": copy.is_sender,
        "read_at": when(copy.first_read_at),
        "read_by": member_ref(copy.first_read_by),
        "acknowledged_at": when(copy.acknowledged_at),
        "acknowledged_by": member_ref(copy.acknowledged_by),
    }


def acknowledged(copy: AlertRecipient) -> dict[str, Any]:
    return {"alert_id": str(copy.alert_id), **_copy(copy)}


def thread_item(item: ThreadItem) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "alert_id": str(item.alert_id),
        "kind": item.kind,
        "created_at": when(item.created_at),
        "author_school": school_ref(item.author_school),
        "author": member_ref(item.author_member),
        "action_type": item.action_type,
    }


def opened(opened: OpenedAlert) -> dict[str, Any]:
    alert = opened.view.alert
    content = opened.content
    items = []
    for entry in opened.items:
        document = thread_item(entry.item)
        document["text"] = entry.text if entry.evidence is None and not entry.problem else None
        document["attachment"] = (
            {
                "filename": entry.evidence.filename,
                "content_type": entry.evidence.content_type,
                "size": entry.item.size,
                "url": url_for("api.attachment", alert_id=alert.id, item_id=entry.item.id),
            }
            if entry.evidence is not None
            else None
        )
        document["problem"] = entry.problem or None
        items.append(document)
    return {
        **_metadata(alert),
        "sender_member": member_ref(alert.sender_member),
        "resolved_at": when(alert.resolved_at),
        "shredded_at": when(alert.shredded_at),
        "forwarded_from": str(alert.forwarded_from_id) if alert.forwarded_from_id else None,
        "envelope_hash": alert.envelope_hash.hex(),
        "sender_fingerprint": opened.sender_fingerprint,
        "content_visible": opened.view.may_read_content,
        "verified": content is not None,
        "problem": opened.problem or None,
        "content": (
            {
                "title": content.title,
                "description": content.description,
                "links": [
                    {
                        "url": link.url,
                        "seen_on": link.seen_on.isoformat() if link.seen_on else None,
                    }
                    for link in content.links
                ],
                "recommended_action": content.recommended_action,
                "forwarded_note": content.forwarded_note,
            }
            if content is not None
            else None
        ),
        "thread": items,
        "recipients": [_copy(c) for c in opened.copies],
    }


def resolved(alert: Alert) -> dict[str, Any]:
    return {"id": str(alert.id), "status": alert.status, "resolved_at": when(alert.resolved_at)}


def subscription(row: Subscription) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "name": row.name,
        "personal": row.is_personal,
        "channel": row.channel,
        "target": row.target,
        "categories": list(row.categories or []),
        "min_severity": row.min_severity,
        "senders": list(row.sender_school_ids or []),
        "timing": row.timing,
        "digest_time": row.digest_time.strftime("%H:%M") if row.digest_time else None,
        "created_at": when(row.created_at),
        "updated_at": when(row.updated_at),
    }


def key_generation(row: SchoolKeyGeneration) -> dict[str, Any]:
    return {
        "generation": row.generation,
        "fingerprint": row.fingerprint,
        "public_keys": base64.b64encode(row.public_keys).decode(),
        "created_at": when(row.created_at),
        "verified_at": when(row.verified_at),
    }


def school(
    row: School, current: SchoolKeyGeneration | None, history: list[SchoolKeyGeneration] | None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        **school_ref(row),
        "kind": row.kind,
        "urn": row.urn,
        "status": row.status,
        "receives_alerts": row.status == "active" and row.key_generation > 0,
        "key_generation": row.key_generation,
        "keys": key_generation(current) if current is not None else None,
    }
    if history is not None:
        document["history"] = [key_generation(h) for h in history]
    return document
