"""Passkeys (WebAuthn): registering one as a second factor, and signing in with
it. The challenge of each ceremony is kept on the login session's row and
used once; the relying party and origin are the hub's public address.

A passkey whose signature counter does not go up has been copied (a cloned
authenticator), and one that answered for another origin was asked by another
site: both are refused with their own message.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from schools import audit
from schools.factors import (
    FactorRefused,
    check_password,
    factors_of,
    has_factor,
    mark_confirmed,
)
from schools.models import FactorKind, LoginSession, Member, SecondFactor

RP_NAME = "alertnet"
MAX_NAME = 100


def _passkeys(session: Session, member: Member) -> list[SecondFactor]:
    return [f for f in factors_of(session, member) if f.kind_enum is FactorKind.PASSKEY]


def _descriptors(session: Session, member: Member) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(id=f.credential_id)
        for f in _passkeys(session, member)
        if f.credential_id is not None
    ]


def registration_options(session: Session, login: LoginSession, rp_id: str) -> dict[str, Any]:
    member = login.member
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=RP_NAME,
        user_id=member.id.bytes,
        user_name=member.email,
        user_display_name=member.name,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(session, member),
    )
    login.challenge = options.challenge
    session.flush()
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


def _take_challenge(login: LoginSession) -> bytes:
    challenge = login.challenge
    login.challenge = None  # used once, whatever the outcome
    if not challenge:
        raise FactorRefused(
            "This passkey request has expired. Try again.", reason="no_challenge", field=None
        )
    return challenge


def _check_origin(client_data_json: bytes, origin: str) -> None:
    try:
        client = parse_client_data_json(client_data_json)
    except Exception:
        raise FactorRefused(
            "The browser's answer could not be read. Try again.", reason="malformed", field=None
        ) from None
    if client.origin != origin:
        raise FactorRefused(
            f"This passkey answered for another website ({client.origin[:100]}), not this "
            "hub. Sign in only at this hub's own address.",
            reason="wrong_origin",
            field=None,
        )


def register(
    session: Session,
    login: LoginSession,
    response: str,
    name: str,
    rp_id: str,
    origin: str,
    now: datetime,
) -> bool:
    """Keep a new passkey; True when it is the member's first factor (their
    backup codes are then made on the next page, in a response of their own,
    never carried in the session cookie)."""
    member = login.member
    challenge = _take_challenge(login)
    try:
        credential = parse_registration_credential_json(response)
    except (InvalidJSONStructure, InvalidRegistrationResponse, ValueError):
        raise FactorRefused(
            "The browser's answer could not be read. Try again.", reason="malformed", field=None
        ) from None
    _check_origin(credential.response.client_data_json, origin)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except InvalidRegistrationResponse:
        raise FactorRefused(
            "The passkey could not be added: its answer did not check out. Try again.",
            reason="invalid",
            field=None,
        ) from None
    taken = session.scalar(
        select(SecondFactor.id).where(SecondFactor.credential_id == verified.credential_id)
    )
    if taken is not None:
        raise FactorRefused("That passkey is already added.", reason="duplicate", field=None)
    first = not has_factor(session, member)
    factor = SecondFactor(
        member_id=member.id,
        kind=FactorKind.PASSKEY,
        name=(name.strip() or "Passkey")[:MAX_NAME],
        confirmed_at=now,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
    )
    session.add(factor)
    session.flush()
    audit.record(
        session,
        "member.second_factor_enrolled",
        actor=member,
        object_type="second_factor",
        object_id=factor.id,
        kind=factor.kind,
    )
    return first


def authentication_options(session: Session, login: LoginSession, rp_id: str) -> dict[str, Any]:
    options = generate_authentication_options(
        rp_id=rp_id,
        allow_credentials=_descriptors(session, login.member),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    login.challenge = options.challenge
    session.flush()
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


def authenticate(
    session: Session, login: LoginSession, response: str, rp_id: str, origin: str, now: datetime
) -> SecondFactor:
    """Check a passkey's answer for this session's challenge."""
    challenge = _take_challenge(login)
    try:
        credential = parse_authentication_credential_json(response)
    except (InvalidJSONStructure, InvalidAuthenticationResponse, ValueError):
        raise FactorRefused(
            "The browser's answer could not be read. Try again.", reason="malformed", field=None
        ) from None
    factor = session.scalars(
        select(SecondFactor).where(
            SecondFactor.credential_id == credential.raw_id,
            SecondFactor.member_id == login.member_id,
            SecondFactor.confirmed_at.is_not(None),
        )
    ).one_or_none()
    if factor is None or factor.public_key is None:
        raise FactorRefused(
            "That passkey is not one of yours on this hub.", reason="unknown_passkey", field=None
        )
    _check_origin(credential.response.client_data_json, origin)
    try:
        # The counter is compared below, once the signature is known to be good.
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=factor.public_key,
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except InvalidAuthenticationResponse:
        raise FactorRefused(
            "The passkey's answer did not check out. Try again.", reason="invalid", field=None
        ) from None
    stored = factor.sign_count
    if (verified.new_sign_count or stored) and verified.new_sign_count <= stored:
        raise FactorRefused(
            "This passkey looks copied: its use counter went backwards. It was not "
            "accepted; remove it and add it again, and tell your head.",
            reason="cloned",
            field=None,
        )
    factor.sign_count = verified.new_sign_count
    factor.last_used_at = now
    session.flush()
    return factor


def confirm_identity(
    session: Session,
    login: LoginSession,
    password: str,
    response: str,
    rp_id: str,
    origin: str,
    now: datetime,
) -> None:
    """Before a dangerous action: the password again, and one of the member's
    passkeys answering this session's challenge."""
    check_password(login.member, password)
    authenticate(session, login, response, rp_id, origin, now)
    mark_confirmed(session, login, now, how="passkey")
