"""Who may open a school's keys: every live credential of a school, with the
public key that its wrap of the school's bundle is made to (design.md, "Keys
and custody"). Key rotation wraps each new generation to exactly these."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from schools.models import ApiToken, CredentialKind, Invitation, Member, MemberStatus, RecoveryCode


@dataclass(frozen=True)
class Credential:
    kind: CredentialKind
    id: uuid.UUID
    public: bytes


def live_credentials(session: Session, school_id: uuid.UUID, now: datetime) -> list[Credential]:
    """Members holding the keys, the unused recovery code, open invitations that
    carry keys, and live API tokens."""
    members = session.execute(
        select(Member.id, Member.credential_public).where(
            Member.school_id == school_id,
            Member.status == MemberStatus.ACTIVE,
            Member.keys_pending.is_(False),
        )
    ).all()
    codes = session.execute(
        select(RecoveryCode.id, RecoveryCode.credential_public).where(
            RecoveryCode.school_id == school_id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    invitations = session.execute(
        select(Invitation.id, Invitation.credential_public).where(
            Invitation.school_id == school_id,
            Invitation.credential_public.is_not(None),
            Invitation.is_open(now),
        )
    ).all()
    tokens = live_tokens(session, school_id, now)
    return [
        *(Credential(CredentialKind.MEMBER, i, public) for i, public in members),
        *(Credential(CredentialKind.RECOVERY, i, public) for i, public in codes),
        *(
            Credential(CredentialKind.INVITATION, i, public)
            for i, public in invitations
            if public is not None
        ),
        *(Credential(CredentialKind.TOKEN, i, public) for i, public in tokens),
    ]


def live_tokens(
    session: Session, school_id: uuid.UUID, now: datetime
) -> list[tuple[uuid.UUID, bytes]]:
    """(token id, credential public key) of every token that may still be used."""
    rows = session.execute(
        select(ApiToken.id, ApiToken.credential_public)
        .where(ApiToken.school_id == school_id, ApiToken.is_live(now))
        .order_by(ApiToken.created_at)
    ).all()
    return [(token_id, public) for token_id, public in rows]
