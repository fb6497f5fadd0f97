"""What the sign-in pages do to keep an account safe besides checking it:
count wrong passwords and refused factors against the account (committed on
their own, with the email when that locks it), and remember the browser with a
long-lived random cookie, emailing the member when a new one signs in."""

from __future__ import annotations

import secrets
import uuid

from flask import Response, after_this_request, request

from network.db import db, own_transaction
from network.notifications import account as account_mail
from network.settings import current as _settings
from schools import factors, throttle
from schools.db import utcnow
from schools.models import Member

DEVICE_COOKIE = "alertnet_device"
# Browsers keep a cookie at most about 400 days.
DEVICE_COOKIE_DAYS = 400


def note_wrong_password(email: str) -> None:
    now = utcnow()
    with own_transaction() as session:
        failure = throttle.note_failure(session, email, now)
        if failure is not None and failure.locked:
            account_mail.account_locked(session, failure.member, now)


def note_refused_factor(login_hash: bytes, member_id: uuid.UUID) -> bool:
    """Count a refused code or passkey against the session and the account;
    True when the waiting session was ended (too many, or the account locked)."""
    now = utcnow()
    with own_transaction() as session:
        ended = factors.count_refusal(session, login_hash)
        member = session.get(Member, member_id)
        if member is None:
            return True
        failure = throttle.count_failure(session, member, now)
        if failure.locked:
            account_mail.account_locked(session, member, now)
            factors.end_waiting_sessions(session, member)
            return True
        return ended


def note_browser(member: Member) -> None:
    """After a completed sign-in: remember this browser, and email the member
    when it is new to them (in the sign-in's own transaction)."""
    token = request.cookies.get(DEVICE_COOKIE, "")
    if not (20 <= len(token) <= 100):
        token = secrets.token_urlsafe(32)
        https = _settings().https

        @after_this_request
        def _set_cookie(response: Response) -> Response:
            response.set_cookie(
                DEVICE_COOKIE,
                token,
                max_age=DEVICE_COOKIE_DAYS * 24 * 3600,
                httponly=True,
                secure=https,
                samesite="Lax",
            )
            return response

    user_agent = request.user_agent.string
    if throttle.remember_browser(db(), member, token, user_agent):
        account_mail.new_browser(db(), member, user_agent, utcnow())
