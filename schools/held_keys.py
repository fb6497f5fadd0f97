"""The bundles a new login session holds, opened at the password step of a
sign-in (schools/accounts.py ``start_session``) with the member's credential.

The school's current bundle, the leadership bundle for a leadership member and
the member's personal bundle: their three wraps are read in one statement
(schools/token_wraps.py, as an API token's are), and each is opened and
checked against the public keys published for its generation by its own
keeper, as an unlock one by one does.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from crypto.keys import CredentialKey, SchoolKeys
from schools import keyring, leadership, personal, token_wraps
from schools.bundles import Found
from schools.models import CredentialKind, Member, School


def at_sign_in(
    session: Session, member: Member, credential: CredentialKey, complete: bool
) -> SchoolKeys | None:
    """The bundles a new session holds, through the member's credential: the
    school's current bundle (None without it: a member waiting for a colleague
    to confirm them holds nothing), carrying the leadership bundle for a
    leadership member and the member's personal bundle. The member's three
    wraps are read in one statement; each is opened and checked against its
    published keys as ``keyring.unlock_for_member``,
    ``leadership.unwrap_for`` and ``personal.unwrap_for`` do."""
    school = member.school
    if school is None or not school.key_generation or member.keys_pending:
        return None
    keys, found = open_school_bundle(
        session, member, school, CredentialKind.MEMBER, member.id, credential
    )
    keys = leadership.on_sign_in(
        session, member, credential, keys, complete, found.get(token_wraps.LEADERSHIP)
    )
    return personal.on_sign_in(session, member, credential, keys, found.get(token_wraps.PERSONAL))


def open_school_bundle(
    session: Session,
    member: Member,
    school: School,
    kind: CredentialKind,
    credential_id: uuid.UUID,
    credential: CredentialKey,
) -> tuple[SchoolKeys | None, dict[str, Found]]:
    """A credential's three wraps (of the school's current bundle, of the
    leadership's while the member is in it now, of the member's personal
    bundle) read in one statement, and the school's bundle opened from the
    first and checked against its published keys (None without a wrap). The
    caller opens the other two as it needs: a sign-in also makes what is
    missing (``at_sign_in``), a token only opens (schools/tokens.py)."""
    leads = (
        school.leadership_generation
        if school.leadership_generation and leadership.in_leadership(member)
        else None
    )
    found = token_wraps.credential_wraps(
        session, kind, credential_id, school.id, school.key_generation, member.id, leads
    )
    keys = keyring.open_found(
        session, school.id, kind, credential_id, credential, found.get(token_wraps.SCHOOL)
    )
    return keys, found
