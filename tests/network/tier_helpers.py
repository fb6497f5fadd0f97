"""What the tests of audience tiers (leadership, named people) share: a
member joining and signing in, what their password or cookie opens, whether
a set of keys opens a school's wrap of an alert, and who was notified."""

from __future__ import annotations

import base64
import uuid

from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from crypto import custody
from crypto import envelope as env
from crypto.envelope import TIER_ALL, Envelope, Recipient
from crypto.errors import CryptoError
from crypto.keys import CredentialKey, SchoolKeys
from network.alerts.keychain import parse_public_keys
from network.alerts.models import Alert, Sealed, SealedWrap
from network.db import own_transaction
from network.notifications.models import Notification, Subscription
from schools import accounts
from schools.models import LoginSession, Member, Role, SchoolKeyGeneration
from tests.conftest import PASSWORD, csrf_token, sign_in


def join_signed_in(app, world, head, role: Role, email: str):
    """A member in ``role`` with the keys (the head's sign-in confirms them),
    signed in on a client of their own (which makes their personal keys), from
    an address of its own (the sign-in limit counts per address)."""
    person = world.person(role, email, school=head.school)
    assert sign_in(head.client, head.person.email).status_code == 302
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.8.{}.{}".format(*uuid.uuid4().bytes[:2])
    assert sign_in(client, email).status_code == 302
    return person, client


def credential(app, member_id: uuid.UUID, password: str = PASSWORD) -> CredentialKey:
    """What the member's password opens: their credential (a thief with the
    password and the database has exactly this)."""
    with own_transaction(app) as session:
        member = session.get(Member, member_id)
        seed = custody.unwrap_seed_with_password(
            member.password_blob, password, accounts._owner(member)
        )
    return CredentialKey(seed)


def session_keys(app, client) -> SchoolKeys | None:
    """What this browser's cookie opens of its session row."""
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    data = serializer.loads(cookie.value)
    with own_transaction(app) as session:
        row = session.get(LoginSession, accounts._token_hash(data["_user_id"]))
        assert row is not None
        return accounts.session_keys(row, base64.urlsafe_b64decode(data["vk"]))


def opens(app, alert_id: str, school_id: uuid.UUID, bundles: list[SchoolKeys]) -> bool:
    """Whether any of ``bundles`` opens any of the school's wraps of the
    alert, whatever tier or generation it is labelled with."""
    with own_transaction(app) as session:
        alert = session.get(Alert, uuid.UUID(alert_id))
        body = session.get(Sealed, alert.sealed_id).body
        wraps = [
            (w.tier, w.generation, w.wrap)
            for w in session.scalars(
                select(SealedWrap).where(
                    SealedWrap.sealed_id == alert.sealed_id, SealedWrap.school_id == school_id
                )
            )
        ]
        sender = parse_public_keys(
            session.scalars(
                select(SchoolKeyGeneration.public_keys).where(
                    SchoolKeyGeneration.school_id == alert.sender_school_id,
                    SchoolKeyGeneration.generation == alert.sender_generation,
                )
            ).one()
        )
    envelope = Envelope.from_bytes(body)
    for tier, generation, blob in wraps:
        for keys in bundles:
            labels = {(tier, generation), (TIER_ALL, keys.generation), (tier, keys.generation)}
            for label_tier, label_generation in labels:
                recipient = Recipient(str(school_id), label_generation, label_tier)
                try:
                    env.open_envelope(
                        envelope.with_wraps([(recipient, blob)]), recipient, keys, sender
                    )
                except (CryptoError, ValueError):
                    continue
                return True
    return False


def subscribe_by_email(client) -> None:
    """A personal subscription: every alert, by email, at once."""
    response = client.post(
        "/notifications/subscriptions/new",
        data={
            "csrf_token": csrf_token(client, "/notifications/subscriptions/new"),
            "channel": "email",
            "min_severity": "info",
            "timing": "immediate",
            "digest_time": "07:30",
        },
    )
    assert response.status_code == 303


def notified(app, alert_id: str) -> set[uuid.UUID | None]:
    """Whose personal subscriptions were told of the alert."""
    with own_transaction(app) as session:
        return set(
            session.scalars(
                select(Subscription.owner_id)
                .join(Notification, Notification.subscription_id == Subscription.id)
                .where(Notification.alert_id == uuid.UUID(alert_id))
            )
        )
