"""The alert envelope: one sealed message to many schools, which the hub can route but not read.

The construction is the one of design.md, "The alert envelope":

1. ``H = SHA-256("alertnet/v1/header\\0" || header)`` over the canonical header;
2. payload ``AES-256-GCM(HKDF(CEK, "payload"), nonce, plaintext, aad=H)``;
3. one HPKE (X-Wing, HKDF-SHA256, AES-256-GCM) wrap of the CEK per recipient,
   ``info = "alertnet/v1/wrap\\0" || H || school_id``;
4. key commitment ``HMAC-SHA256(HKDF(CEK, "commit"), H || SHA-256(nonce || ct))``;
5. Ed25519 and ML-DSA-65 signatures over
   ``"alertnet/v1/sig\\0" || H || SHA-256(nonce || ct) || wraps_digest || commitment``.

One refinement: ``wraps_digest`` is ``SHA-256("alertnet/v1/wraps\\0" ||
SHA-256(wrap_1) || ... || SHA-256(wrap_n))`` in header recipient order, and the
list of per-wrap hashes travels with the envelope. The hub can then keep each
wrap in its own row and hand a school only its own wrap, and that school still
verifies the signature over all of them (docs/crypto.md, "Envelope").

Version 2 (docs/crypto.md, "Version 2") adds what version 1 left to the hub's
clear columns, so that everything a page shows is signed: the action type, the
item an attachment belongs to and its place there, a forward's origin, indicator
hashes, and an audience tier per recipient (``all``, ``leadership`` or one
person). Its payload has two parts under the one content key: a small
*summary* (what a list shows) and the *body*, each with its own hash, so a list
can verify and read the summary while the body stays on the hub. Version 1
envelopes still open.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto._encoding import hkdf_sha256 as _hkdf
from crypto.envelope_format import (
    _PAYLOAD_LABEL,
    _SUMMARY_LABEL,
    CEK_LEN,
    NONCE_LEN,
    SIG_CONTEXT,
    WRAP_LEN,
    Envelope,
    _commitment,
    _payload_hash,
    _payload_hash_v2,
    _prime,
    _signed_message,
    _wrap_info,
    _wraps_digest,
    wrap_hash,
)

# Everything about the envelope is imported from here: the header's and the
# format's public names too.
from crypto.envelope_format import ENVELOPE_VERSION as ENVELOPE_VERSION
from crypto.envelope_format import ENVELOPE_VERSIONS as ENVELOPE_VERSIONS
from crypto.errors import (
    MalformedEnvelope,
    NotARecipient,
    TamperedCiphertext,
    TamperedHeader,
    WrapMismatch,
)
from crypto.header import ENVELOPE_HASH_LEN as ENVELOPE_HASH_LEN
from crypto.header import (
    HEADER_VERSION,
    HEADER_VERSIONS,
    MAX_HEADER_BYTES,
    MAX_RECIPIENTS,
    TIER_ALL,
    TIER_LEADERSHIP,
    TIER_PERSON_PREFIX,
    Header,
    Origin,
    Recipient,
    _header_hash,
    is_tier,
    new_alert_id,
)
from crypto.header import INDICATOR_LEN as INDICATOR_LEN
from crypto.header import MAX_INDICATORS as MAX_INDICATORS
from crypto.keys import (
    HPKE_SUITE,
    SchoolKeys,
    SchoolPublicKeys,
)


def seal(
    header: Header,
    plaintext: bytes,
    recipients: Mapping[Recipient, SchoolPublicKeys],
    sender_keys: SchoolKeys,
    summary: bytes = b"",
) -> Envelope:
    """Encrypt ``plaintext`` (and, version 2, ``summary``) to every recipient in
    ``header`` and sign as the sender school.

    ``recipients`` must map exactly the header's recipients to their public keys
    of the named generation (the caller should have verified them, e.g. by
    fingerprint). Per recipient the only work is one HPKE wrap and one hash.
    """
    if set(recipients) != set(header.recipients):
        raise ValueError("the recipient keys must match the header's recipients exactly")
    for recipient, public in recipients.items():
        if public.generation != recipient.generation:
            raise ValueError(f"keys for {recipient.school} are not of the header's generation")
    if header.sender_generation != sender_keys.generation:
        raise ValueError("the sender's keys are not of the header's sender generation")
    if header.version == 1 and summary:
        raise ValueError("a version 1 envelope has no summary")

    header_bytes = header.to_bytes()
    h = _header_hash(header_bytes)
    cek = os.urandom(CEK_LEN)
    nonce = os.urandom(NONCE_LEN)
    ciphertext = AESGCM(_hkdf(cek, _PAYLOAD_LABEL)).encrypt(nonce, plaintext, h)
    body_hash = _payload_hash(nonce, ciphertext)
    summary_nonce = summary_ct = b""
    if header.version == 1:
        payload_hash = body_hash
    else:
        summary_nonce = os.urandom(NONCE_LEN)
        summary_ct = AESGCM(_hkdf(cek, _SUMMARY_LABEL)).encrypt(summary_nonce, summary, h)
        payload_hash = _payload_hash_v2(_payload_hash(summary_nonce, summary_ct), body_hash)
    commitment = _commitment(cek, h, payload_hash)

    wraps = tuple(
        (
            recipient,
            HPKE_SUITE.encrypt(
                cek,
                recipients[recipient].kem_public_key(),
                info=_wrap_info(h, recipient, header.version),
            ),
        )
        for recipient in header.recipients
    )
    wrap_hashes = tuple(wrap_hash(wrap) for _, wrap in wraps)
    message = _signed_message(h, payload_hash, _wraps_digest(wrap_hashes), commitment)
    ed_sig, ml_sig = sender_keys.sign(message, SIG_CONTEXT)
    envelope = Envelope(
        header=header_bytes,
        nonce=nonce,
        ciphertext=ciphertext,
        wraps=wraps,
        commitment=commitment,
        ed25519_signature=ed_sig,
        mldsa_signature=ml_sig,
        wrap_hashes=wrap_hashes,
        summary_nonce=summary_nonce,
        summary=summary_ct,
    )
    _prime(
        envelope,
        _header=header,
        _header_hash=h,
        _body_hash=body_hash,
        _payload_hash=payload_hash,
        _signed_message=message,
    )
    return envelope


@dataclass(frozen=True)
class Opened:
    """What opening an envelope proves and yields.

    ``header`` is the verified header; ``summary`` the verified summary (empty
    in version 1); ``body`` the verified body, or None when it was withheld;
    ``content_key`` the envelope's content key, which a forward hands on so
    that its recipients can check the original for themselves."""

    header: Header
    summary: bytes
    body: bytes | None
    content_key: bytes = field(repr=False)


def _verify_signature(envelope: Envelope, sender_public_keys: SchoolPublicKeys) -> Header:
    header = envelope.unverified_header()
    if header.sender_generation != sender_public_keys.generation:
        raise TamperedHeader(
            f"header names sender generation {header.sender_generation}, "
            f"but the trusted keys are generation {sender_public_keys.generation}"
        )
    sender_public_keys.verify(
        envelope._signed_message, envelope.ed25519_signature, envelope.mldsa_signature, SIG_CONTEXT
    )
    if len(envelope.wrap_hashes) != len(header.recipients):
        # Signed by the sender, so a broken sender rather than the hub.
        raise MalformedEnvelope("envelope: one wrap hash per recipient is required")
    return header


def _decrypt(envelope: Envelope, header: Header, cek: bytes) -> Opened:
    h = envelope._header_hash
    if len(cek) != CEK_LEN or not hmac.compare_digest(
        _commitment(cek, h, envelope._payload_hash), envelope.commitment
    ):
        raise WrapMismatch("the content key fails its commitment")
    try:
        summary = b""
        if envelope.version >= 2:
            summary = AESGCM(_hkdf(cek, _SUMMARY_LABEL)).decrypt(
                envelope.summary_nonce, envelope.summary, h
            )
        body = None
        if not envelope.withheld:
            body = AESGCM(_hkdf(cek, _PAYLOAD_LABEL)).decrypt(
                envelope.nonce, envelope.ciphertext, h
            )
    except InvalidTag:
        raise TamperedCiphertext() from None
    return Opened(header, summary, body, cek)


def open_envelope(
    envelope: Envelope,
    recipient: Recipient,
    keys: SchoolKeys,
    sender_public_keys: SchoolPublicKeys,
) -> Opened:
    """Verify everything, then decrypt; any mismatch raises and nothing is returned.

    ``recipient`` names whose wrap to open (school, ``keys``' generation, tier)
    and ``keys`` the bundle that opens it. ``sender_public_keys`` must be the
    keys the caller trusts for the header's sender school (look them up by
    ``unverified_header().sender_school`` and ``sender_generation``). Order of
    checks and their errors:

    1. header parses (MalformedEnvelope, UnknownVersion);
    2. its sender generation is that of ``sender_public_keys`` (TamperedHeader);
    3. both signatures verify (BadSignature) -- any other edit of the header,
       nonce, ciphertext, summary, commitment or wrap-hash list ends here;
    4. each supplied wrap hashes to its entry (WrapMismatch: swapped/replayed);
    5. ``recipient`` is a recipient with a wrap (NotARecipient);
    6. the wrap opens with these keys and info (WrapMismatch);
    7. the CEK matches the commitment (WrapMismatch);
    8. the summary and the body decrypt (TamperedCiphertext).
    """
    return _open_verified(
        envelope, _verify_signature(envelope, sender_public_keys), recipient, keys
    )


def _open_verified(
    envelope: Envelope, header: Header, recipient: Recipient, keys: SchoolKeys
) -> Opened:
    """Steps 4 to 8 of :func:`open_envelope`, for an envelope whose signatures
    verified (now, or before: crypto/records.py ``open_verified_before``)."""
    position = {r: i for i, r in enumerate(header.recipients)}
    for candidate, wrap in envelope.wraps:
        i = position.get(candidate)
        if i is None or not hmac.compare_digest(wrap_hash(wrap), envelope.wrap_hashes[i]):
            raise WrapMismatch(f"the wrap given for {candidate.school} is not this envelope's")

    if recipient.generation != keys.generation:
        raise ValueError("the keys are not of the recipient's generation")
    if recipient not in position:
        sealed_to = [
            r.generation
            for r in header.recipients
            if r.school == recipient.school and r.tier == recipient.tier
        ]
        if sealed_to:
            raise NotARecipient(
                f"{recipient.school} received this at key generation {sealed_to[0]}, "
                f"not {keys.generation}: open it with that generation's keys"
            )
        raise NotARecipient(f"{recipient.school} is not a recipient of this envelope")
    my_wrap = next((w for r, w in envelope.wraps if r == recipient), None)
    if my_wrap is None:
        raise NotARecipient(f"the wrap for {recipient.school} was not supplied")
    try:
        cek = HPKE_SUITE.decrypt(
            my_wrap,
            keys.kem_private_key(),
            info=_wrap_info(envelope._header_hash, recipient, header.version),
        )
    except (InvalidTag, ValueError):
        raise WrapMismatch("the wrap does not open with this school's key") from None
    return _decrypt(envelope, header, cek)


def open_with_content_key(
    envelope: Envelope, content_key: bytes, sender_public_keys: SchoolPublicKeys
) -> Opened:
    """Open an envelope with a content key handed on by a forward: the sender's
    signatures and the key commitment are checked exactly as for a recipient,
    so the forward's readers see the original as its sender signed it."""
    header = _verify_signature(envelope, sender_public_keys)
    return _decrypt(envelope, header, content_key)


def open_(
    envelope: Envelope,
    recipient_school: str,
    keys: SchoolKeys,
    sender_public_keys: SchoolPublicKeys,
) -> tuple[Header, bytes]:
    """The header and body of an envelope sealed to a school's staff (tier
    ``all``); see :func:`open_envelope` for the checks. The body must be present."""
    opened = open_envelope(
        envelope, Recipient(recipient_school, keys.generation), keys, sender_public_keys
    )
    if opened.body is None:
        raise MalformedEnvelope("envelope: the body was withheld")
    return opened.header, opened.body


__all__ = [
    "HEADER_VERSION",
    "HEADER_VERSIONS",
    "MAX_HEADER_BYTES",
    "MAX_RECIPIENTS",
    "SIG_CONTEXT",
    "TIER_ALL",
    "TIER_LEADERSHIP",
    "TIER_PERSON_PREFIX",
    "WRAP_LEN",
    "Envelope",
    "Header",
    "Opened",
    "Origin",
    "Recipient",
    "is_tier",
    "new_alert_id",
    "open_",
    "open_envelope",
    "open_with_content_key",
    "seal",
    "wrap_hash",
]
