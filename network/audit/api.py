"""The audit log's JSON API under /api/v1/audit.

Callers are signed-in members or API tokens with the ``audit:read`` scope; the
API's gate (network/api/gate.py) authenticates both. Every refusal is an RFC
9457 problem document (network/problems.py), never an HTML page: a script
reads ``status`` and ``detail``. Hashes are standard base64, as in checkpoints;
envelope hashes are hex, as in the leaf encoding.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Response, g, request
from werkzeug.exceptions import BadRequest

from network import auth, bounds
from network.api import gate
from network.audit import restores, search
from network.audit.documents import b64, checkpoint_document, entry_document, leaf_document
from network.audit.search import EntryFilter
from network.audit.signer import current_checkpoint, signer
from network.db import db
from network.problems import problem
from network.settings import current as settings
from schools import policy
from schools.audit import proofs
from schools.audit.checkpoints import checkpoint_of_size
from schools.audit.leaf import timestamp
from schools.audit.replay import leaves_between
from schools.audit.tree import tree_size
from schools.errors import DomainError, InvalidInput
from schools.policy import Permission, Scope

bp = gate.ApiBlueprint("audit_api", __name__, url_prefix="/api/v1/audit")
gate.limit_blueprint(bp)

MAX_ENTRIES = 1000
DEFAULT_ENTRIES = 100
# Leaves are mostly hashes: a school rebuilding a checkpoint of a million
# entries needs a hundred pages, well inside the API's rate limit.
MAX_LEAVES = 10000
DEFAULT_LEAVES = 1000


@bp.errorhandler(DomainError)
def _domain_problem(error: DomainError) -> Response:
    # Query parameters that do not make sense are a bad request (400), not a form to fix.
    session = g.get("db")
    if session is not None:
        session.rollback()
    return problem(400 if isinstance(error, InvalidInput) else error.status, error.message)


# --- parsing ---------------------------------------------------------------------------


def _int(name: str, default: int | None = None, *, minimum: int = 0) -> int | None:
    # Sequence numbers and sizes: at most a BigInteger, so no query overflows.
    value = bounds.whole_number(request.args.get(name), name, minimum=minimum)
    return default if value is None else value


def _required_int(name: str, *, minimum: int = 0) -> int:
    value = _int(name, minimum=minimum)
    if value is None:
        raise BadRequest(f"'{name}' is required.")
    return value


def _uuid(name: str) -> uuid.UUID | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be an id like 6f1c...-...; got {raw[:40]!r}.") from None


def _text(name: str, limit: int) -> str | None:
    raw = request.args.get(name)
    if not raw:
        return None
    if len(raw) > limit:
        raise BadRequest(f"'{name}' is at most {limit} characters.")
    if "\x00" in raw:  # PostgreSQL refuses NUL in text: a 400, not a 500
        raise BadRequest(f"'{name}' must not contain NUL characters.")
    return raw


def _day(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be a date like 2026-11-26.") from None


def _filters() -> EntryFilter:
    since, until = _day("since"), _day("until")
    if since and until and until < since:
        raise BadRequest("'until' must not be before 'since'.")
    return EntryFilter(
        school_id=_uuid("school"),
        actor_id=_uuid("actor"),
        action=_text("action", 64),
        object_type=_text("object_type", 32),
        object_id=_text("object_id", 64),
        since=datetime.combine(since, time.min, UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time.min, UTC) if until else None,
    )


# --- endpoints -------------------------------------------------------------------------


@bp.route("/key", methods=["GET"])
@auth.public
def key() -> Any:
    """The log's public key: pin the vkey to check checkpoints (public, like the key page)."""
    hub_signer = signer()
    return {
        "origin": settings().log_origin,
        "vkey": hub_signer.verifier_key(),
        "algorithm": "Ed25519",
        "key_id": f"{hub_signer.key_id:08x}",
        "public_key": b64(hub_signer.public_key),
    }


@bp.route("/checkpoint", methods=["GET"])
@auth.requires(Permission.VIEW_AUDIT_PROOFS)
@gate.scoped(Scope.AUDIT_READ)
def checkpoint() -> Any:
    """The latest signed checkpoint: the note text and its parsed fields."""
    return checkpoint_document(current_checkpoint(db()))


@bp.route("/proofs/inclusion", methods=["GET"])
@auth.requires(Permission.VIEW_AUDIT_PROOFS)
@gate.scoped(Scope.AUDIT_READ)
def inclusion_proof() -> Any:
    """Inclusion of entry ``seq`` in the tree of ``size`` entries (default: the
    latest checkpoint, signed now if it does not include the entry yet)."""
    seq = _required_int("seq")
    size = _int("size", minimum=1)
    signed = None
    if size is None:
        signed = current_checkpoint(db(), covering=seq)
        size = signed.size
    proof = proofs.inclusion(db(), seq, size)
    signed = signed or checkpoint_of_size(db(), size)
    return {
        "seq": seq,
        "tree_size": size,
        "leaf_hash": b64(proof.leaf_hash),
        "proof": [b64(h) for h in proof.proof],
        "root": b64(proof.root),
        "checkpoint": checkpoint_document(signed) if signed is not None else None,
    }


@bp.route("/proofs/consistency", methods=["GET"])
@auth.requires(Permission.VIEW_AUDIT_PROOFS)
@gate.scoped(Scope.AUDIT_READ)
def consistency_proof() -> Any:
    """Proof that the tree of ``from`` entries is a prefix of the tree of ``to``
    entries (default: the latest checkpoint's size)."""
    old = _required_int("from", minimum=1)
    new = _int("to", minimum=1)
    signed = None
    if new is None:
        signed = current_checkpoint(db())
        new = signed.size
    proof = proofs.consistency(db(), old, new)
    signed = signed or checkpoint_of_size(db(), new)
    return {
        "from": old,
        "to": new,
        "from_root": b64(proof.old_root),
        "to_root": b64(proof.new_root),
        "proof": [b64(h) for h in proof.proof],
        "checkpoint": checkpoint_document(signed) if signed is not None else None,
    }


@bp.route("/entries", methods=["GET"])
@auth.requires(Permission.VIEW_AUDIT_LOG)
@gate.scoped(Scope.AUDIT_READ)
def entries() -> Any:
    """The entries the caller may see with ``start <= seq < end``, oldest first,
    at most ``limit`` (default 100, at most 1000); ``next`` starts the next page."""
    scope = policy.audit_scope(auth.actor())
    filters = _filters()
    size = tree_size(db())
    start = _int("start", 0) or 0
    end = min(_int("end", size) or 0, size)
    limit = _int("limit", DEFAULT_ENTRIES, minimum=1) or DEFAULT_ENTRIES
    if limit > MAX_ENTRIES:
        raise BadRequest(f"'limit' is at most {MAX_ENTRIES}.")
    if end < start:
        end = start
    rows, following = search.entries_in_range(db(), scope, filters, start, end, limit)
    return {
        "tree_size": size,
        "start": start,
        "end": end,
        "entries": [entry_document(e) for e in rows],
        "next": following,
    }


@bp.route("/entries/<seq>", methods=["GET"])
@auth.requires(Permission.VIEW_AUDIT_LOG)
@gate.scoped(Scope.AUDIT_READ)
def entry(seq: str) -> Any:
    number = bounds.whole_number(seq, "seq")
    assert number is not None  # the route needs a non-empty segment
    scope = policy.audit_scope(auth.actor())
    return entry_document(search.entry_in_scope(db(), scope, number))


@bp.route("/leaves", methods=["GET"])
@auth.requires(Permission.VIEW_AUDIT_PROOFS)
@gate.scoped(Scope.AUDIT_READ)
def leaves() -> Any:
    """Every position ``start <= seq < end`` of the log, oldest first, at most
    ``limit`` (default 1000, at most 10000), missing entries included: the leaf
    hash recomputed from the entry now, the leaf hash stored when it was
    appended, and the leaf text of the entries the caller may read. A school
    rebuilds a saved checkpoint's tree from these (``alertnet client audit
    verify``); ``restorations`` are the restores from backup that cut the log
    below ``end``, which every reader sees."""
    actor = auth.actor()
    scope = policy.audit_scope(actor) if policy.may(actor, Permission.VIEW_AUDIT_LOG) else None
    size = tree_size(db())
    start = _int("start", 0) or 0
    end = _int("end", size)
    assert end is not None
    limit = _int("limit", DEFAULT_LEAVES, minimum=1) or DEFAULT_LEAVES
    if limit > MAX_LEAVES:
        raise BadRequest(f"'limit' is at most {MAX_LEAVES}.")
    end = max(end, start)
    stop = min(end, start + limit)
    found = leaves_between(db(), start, stop)
    return {
        "tree_size": size,
        "start": start,
        "end": end,
        "leaves": [leaf_document(leaf, scope) for leaf in found],
        "next": stop if stop < end else None,
        "restorations": [
            {
                "seq": cut.seq,
                "at": timestamp(cut.at),
                "restored_size": cut.restored_size,
                "reason": cut.reason,
            }
            for cut in restores.restores_cutting(db(), end)
        ],
    }
