"""Drafts: an alert held at the author's school before it is sent.

A draft is the post form as its author left it and the evidence files already
accepted, each sealed with the alert envelope to the author's own school only
(the database holds them only encrypted, no other school holds a wrap, and
the running hub decrypts one only for a member of that school who opens it). The author saves
one and comes back, or a refused submission keeps one so accepted files stay
attached. Sending it (network/alerts/sending.py) shreds it; so does the
shredder a day after it was last saved (``shred_abandoned``). Alerts waiting
for four-eyes review are held the same way (network/alerts/review.py)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crypto.keys import SchoolKeys
from network.alerts.access import check_may_post
from network.alerts.compose import FormFields
from network.alerts.content import Evidence, Note
from network.alerts.held_models import ABANDONABLE, HeldAlert, HeldEvidence, HeldState
from network.alerts.keychain import Keychain, public_keys_of
from network.alerts.models import Sealed, SealedWrap
from network.alerts.sealing import Audience, IntegrityFailure, load_for, open_stored, seal_and_store
from schools import audit, policy
from schools.db import utcnow
from schools.errors import Conflict, NotFound
from schools.models import Member
from schools.policy import Permission

# A draft nobody touched for this long is shredded (issue 17: "within a day").
ABANDONED_AFTER = timedelta(days=1)

DRAFT_KIND = "draft"
DRAFT_EVIDENCE_KIND = "draft_evidence"
REVIEW_NOTE_KIND = "review_note"


@dataclass(frozen=True)
class KeptFile:
    """An evidence file a held alert keeps: what the form lists."""

    id: uuid.UUID
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class OpenedHeld:
    held: HeldAlert
    fields: FormFields
    files: tuple[KeptFile, ...]
    note: str  # the reviewer's note or reason; "" when none


def _own_school(member: Member) -> Audience:
    school = member.school
    assert school is not None
    return Audience((school,))


def _seal(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    sealed_for: uuid.UUID,
    kind: str,
    plaintext: bytes,
    now: datetime,
    position: int = 0,
    summary: bytes = b"",
) -> int:
    if keys.generation != (actor.school.key_generation if actor.school else -1):
        raise Conflict("Your school's keys changed since you signed in. Sign in again.")
    _envelope, row = seal_and_store(
        session,
        alert_id=sealed_for,
        kind=kind,
        parent=None,
        sender=actor,
        sender_keys=keys,
        audience=_own_school(actor),
        created_at=now,
        position=position,
        plaintext=plaintext,
        summary=summary,
    )
    return row.id


def delete_sealed(session: Session, sealed_ids: Collection[int | None]) -> None:
    """Crypto-shred: the envelopes and every wrap of them."""
    ids = [i for i in sealed_ids if i is not None]
    if not ids:
        return
    for table in (SealedWrap, Sealed):
        column = SealedWrap.sealed_id if table is SealedWrap else Sealed.id
        session.execute(
            delete(table).where(column.in_(ids)).execution_options(synchronize_session=False)
        )


def _evidence_rows(session: Session, held: HeldAlert) -> list[HeldEvidence]:
    return list(
        session.scalars(
            select(HeldEvidence)
            .where(HeldEvidence.held_id == held.id)
            .order_by(HeldEvidence.position)
        )
    )


def _held_of_author(session: Session, actor: Member, held_id: uuid.UUID) -> HeldAlert:
    held = session.get(HeldAlert, held_id)
    if held is None or held.author_id != actor.id or held.school_id != actor.school_id:
        raise NotFound("No such draft: it was sent, discarded or shredded.")
    return held


def editable(session: Session, actor: Member, held_id: uuid.UUID) -> HeldAlert:
    """The author's draft, or their alert sent back by review: theirs to change."""
    held = _held_of_author(session, actor, held_id)
    if held.state_enum not in (HeldState.DRAFT, HeldState.CHANGES_REQUESTED):
        raise Conflict("This alert is waiting for review or was rejected, so it cannot be changed.")
    return held


def save(
    session: Session,
    actor: Member,
    keys: SchoolKeys,
    form: FormFields,
    new_files: Sequence[Evidence],
    *,
    held_id: uuid.UUID | None = None,
    remove: Collection[uuid.UUID] = (),
    state: HeldState | None = None,
    now: datetime | None = None,
) -> HeldAlert:
    """Seal the form and new files to the author's school, beside the files it
    keeps (less those in ``remove``). A draft already in review, or rejected,
    is not the author's to change."""
    check_may_post(actor)
    now = now or utcnow()
    if held_id is None:
        assert actor.school_id is not None
        held = HeldAlert(id=uuid.uuid4(), school_id=actor.school_id, author_id=actor.id)
        held.created_at = now
        session.add(held)
    else:
        held = editable(session, actor, held_id)
    old_content = held.sealed_id
    held.sealed_id = _seal(
        session, actor, keys, held.id, DRAFT_KIND, form.to_bytes(), now, summary=form.summary()
    )
    held.updated_at = now
    if state is not None:
        held.state = state
    elif held_id is None:
        held.state = HeldState.DRAFT
    session.flush()
    delete_sealed(session, [old_content])
    kept = _evidence_rows(session, held)
    dropped = [row for row in kept if row.id in remove]
    for row in dropped:
        session.delete(row)
    delete_sealed(session, [row.sealed_id for row in dropped])
    kept = [row for row in kept if row.id not in remove]
    for position, row in enumerate(kept):
        row.position = position
    for position, evidence in enumerate(new_files, start=len(kept)):
        data = evidence.to_bytes()
        session.add(
            HeldEvidence(
                held_id=held.id,
                position=position,
                size=len(evidence.data),
                sealed_id=_seal(
                    session, actor, keys, held.id, DRAFT_EVIDENCE_KIND, data, now, position
                ),
            )
        )
    session.flush()
    audit.record(
        session,
        "alert.draft_saved",
        actor=actor,
        object_type="held_alert",
        object_id=held.id,
        state=held.state,
        files=len(kept) + len(new_files),
    )
    return held


def drafts_of(session: Session, actor: Member) -> list[HeldAlert]:
    """The author's held alerts, newest first (titles opened by ``titles_of``)."""
    return list(
        session.scalars(
            select(HeldAlert)
            .where(HeldAlert.author_id == actor.id, HeldAlert.school_id == actor.school_id)
            .order_by(HeldAlert.updated_at.desc())
        )
    )


class _Opener:
    """Opens what a held alert sealed to its school, checking each envelope
    belongs to it (the hub swapping rows between drafts fails here)."""

    def __init__(self, session: Session, school_id: uuid.UUID, keys: SchoolKeys | None) -> None:
        self.session = session
        self.school_id = school_id
        self.keychain = Keychain(session, school_id, keys)

    def open(self, held: HeldAlert, sealed_ids: list[int | None], kind: str) -> list[bytes]:
        wanted = [i for i in sealed_ids if i is not None]
        stored = load_for(self.session, wanted, self.school_id)
        out = []
        for sealed_id in wanted:
            if sealed_id not in stored:
                raise NotFound("That draft is no longer available.")
            item = stored[sealed_id]
            publics = public_keys_of(self.session, {(self.school_id, item.generation)})
            opened = open_stored(
                item, self.school_id, self.keychain, publics.get((self.school_id, item.generation))
            )
            header = opened.header
            if header.alert_id != held.id.bytes or header.kind != kind or opened.body is None:
                raise IntegrityFailure(
                    "This draft failed its integrity check and is not shown. Tell your "
                    "coordinator: it may have been altered on the hub."
                )
            # The author seals the draft; the reviewer, their note.
            sealer = held.reviewed_by_id if kind == REVIEW_NOTE_KIND else held.author_id
            if header.sender_member != str(sealer):
                raise IntegrityFailure("This draft was not sealed by whom the hub says.")
            out.append(opened.body)
        return out


def titles_of(
    session: Session, actor: Member, keys: SchoolKeys | None, held: Sequence[HeldAlert]
) -> dict[uuid.UUID, str]:
    assert actor.school_id is not None
    opener = _Opener(session, actor.school_id, keys)
    return {
        h.id: FormFields.from_bytes(opener.open(h, [h.sealed_id], DRAFT_KIND)[0]).title
        for h in held
        if h.sealed_id is not None
    }


def check_may_see(actor: Member, held: HeldAlert) -> None:
    """The author sees their own; a reviewer of the school sees one in review."""
    if held.school_id == actor.school_id and actor.is_active:
        if held.author_id == actor.id:
            return
        if held.state_enum is HeldState.IN_REVIEW and policy.may(actor, Permission.REVIEW_ALERTS):
            return
    raise NotFound("No such draft: it was sent, discarded or shredded.")


def open_held(
    session: Session, actor: Member, keys: SchoolKeys | None, held_id: uuid.UUID
) -> OpenedHeld:
    held = session.get(HeldAlert, held_id)
    if held is None:
        raise NotFound("No such draft: it was sent, discarded or shredded.")
    check_may_see(actor, held)
    opener = _Opener(session, held.school_id, keys)
    form = FormFields.from_bytes(opener.open(held, [held.sealed_id], DRAFT_KIND)[0])
    note = ""
    if held.note_sealed_id is not None:
        note = Note.from_bytes(opener.open(held, [held.note_sealed_id], REVIEW_NOTE_KIND)[0]).text
    rows = _evidence_rows(session, held)
    bodies = opener.open(held, [r.sealed_id for r in rows], DRAFT_EVIDENCE_KIND)
    files = []
    for row, body in zip(rows, bodies, strict=True):
        evidence = Evidence.from_bytes(body)
        files.append(KeptFile(row.id, evidence.filename, evidence.content_type, row.size))
    return OpenedHeld(held, form, tuple(files), note)


def open_own(
    session: Session, actor: Member, keys: SchoolKeys | None, held_id: uuid.UUID
) -> OpenedHeld:
    """A held alert its author opens in the post form (a reviewer reads one on
    the review page; only its author edits it): refused before anything is
    decrypted for anyone else."""
    _held_of_author(session, actor, held_id)
    return open_held(session, actor, keys, held_id)


def evidence_of(session: Session, keys: SchoolKeys | None, held: HeldAlert) -> list[Evidence]:
    """The held files themselves, in order, for sending (callers checked access)."""
    rows = _evidence_rows(session, held)
    opener = _Opener(session, held.school_id, keys)
    return [
        Evidence.from_bytes(body)
        for body in opener.open(held, [r.sealed_id for r in rows], DRAFT_EVIDENCE_KIND)
    ]


def seal_note(
    session: Session, actor: Member, keys: SchoolKeys, held: HeldAlert, text: str, now: datetime
) -> None:
    old = held.note_sealed_id
    held.note_sealed_id = _seal(
        session, actor, keys, held.id, REVIEW_NOTE_KIND, Note(text).to_bytes(), now
    )
    session.flush()
    delete_sealed(session, [old])


def forget(session: Session, held: HeldAlert) -> None:
    """Crypto-shred a held alert: its envelopes, their wraps and its rows."""
    rows = _evidence_rows(session, held)
    sealed = [held.sealed_id, held.note_sealed_id, *[r.sealed_id for r in rows]]
    for row in rows:
        session.delete(row)
    session.delete(held)
    session.flush()
    delete_sealed(session, sealed)


def discard(session: Session, actor: Member, held_id: uuid.UUID) -> None:
    """The author throws a draft away (not one waiting for review)."""
    policy.check_school_may_act(actor, "change its drafts")
    held = _held_of_author(session, actor, held_id)
    if held.state_enum is HeldState.IN_REVIEW:
        raise Conflict("This alert is waiting for review; it cannot be discarded now.")
    audit.record(
        session,
        "alert.draft_discarded",
        actor=actor,
        object_type="held_alert",
        object_id=held.id,
        state=held.state,
    )
    forget(session, held)


def shred_abandoned(session: Session, now: datetime | None = None) -> int:
    """Shred drafts (and alerts sent back by or rejected in review) that
    nobody saved for a day. Alerts waiting for review are kept."""
    now = now or utcnow()
    stale = list(
        session.scalars(
            select(HeldAlert).where(
                HeldAlert.state.in_([s.value for s in ABANDONABLE]),
                HeldAlert.updated_at <= now - ABANDONED_AFTER,
            )
        )
    )
    for held in stale:
        audit.record(
            session,
            "alert.draft_shredded",
            school_id=held.school_id,
            object_type="held_alert",
            object_id=held.id,
            state=held.state,
        )
        forget(session, held)
    return len(stale)


def held_file(
    session: Session, actor: Member, keys: SchoolKeys | None, held_id: uuid.UUID, file_id: uuid.UUID
) -> Evidence:
    """One file of a held alert, for its author or a reviewer; the download is
    audited (queued, as every download is)."""
    held = session.get(HeldAlert, held_id)
    if held is None:
        raise NotFound("No such draft: it was sent, discarded or shredded.")
    check_may_see(actor, held)
    row = session.get(HeldEvidence, file_id)
    if row is None or row.held_id != held.id:
        raise NotFound("That file is no longer attached.")
    opener = _Opener(session, held.school_id, keys)
    evidence = Evidence.from_bytes(opener.open(held, [row.sealed_id], DRAFT_EVIDENCE_KIND)[0])
    audit.record_read(
        session,
        "alert.draft_file_downloaded",
        actor=actor,
        object_type="held_alert",
        object_id=held.id,
    )
    return evidence
