"""The leaf encoding: the exact bytes of an entry that the Merkle tree hashes.

Version 1 is canonical JSON of the entry's fields (docs/audit-log.md, section 7).
Details are checked on the way in, so every JSON reader gets back what was hashed.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from crypto import merkle
from schools.errors import LogIntegrityError

#: Version of the leaf encoding written into new entries (docs/audit-log.md, section 7).
LEAF_VERSION = 1

_DETAIL_KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}", re.ASCII)
_MAX_JSON_INT = 2**53 - 1  # I-JSON: every reader gets the same number back


class EntryFields(Protocol):
    """What a leaf is made of: an ``AuditEvent`` or a row selected from its table."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def action(self) -> str: ...
    @property
    def actor_id(self) -> uuid.UUID | None: ...
    @property
    def actor_role(self) -> str | None: ...
    @property
    def cluster_id(self) -> uuid.UUID | None: ...
    @property
    def school_id(self) -> uuid.UUID | None: ...
    @property
    def object_type(self) -> str | None: ...
    @property
    def object_id(self) -> str | None: ...
    @property
    def envelope_hash(self) -> bytes | None: ...
    @property
    def detail(self) -> dict[str, Any]: ...
    @property
    def leaf_version(self) -> int: ...


def _dumps(value: object) -> bytes:
    # A lone surrogate in a string fails the UTF-8 encoding (UnicodeEncodeError is
    # a ValueError), so no text reaches a leaf that JSON readers would disagree on.
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def leaf_bytes(entry: EntryFields) -> bytes:
    """The exact bytes hashed as the entry's leaf (version 1, docs/audit-log.md section 7)."""
    if entry.leaf_version != 1:
        raise LogIntegrityError(
            f"entry {entry.seq} has leaf version {entry.leaf_version}, which this hub cannot read"
        )
    # The other members come from typed columns; only the detail can hold anything.
    check_json(entry.detail, "detail")
    return _dumps(
        {
            "v": 1,
            "seq": entry.seq,
            "at": timestamp(entry.at),
            "action": entry.action,
            "actor": _uuid_text(entry.actor_id),
            "actor_role": entry.actor_role,
            "cluster": _uuid_text(entry.cluster_id),
            "school": _uuid_text(entry.school_id),
            "object_type": entry.object_type,
            "object_id": entry.object_id,
            "envelope_hash": entry.envelope_hash.hex() if entry.envelope_hash is not None else None,
            "detail": entry.detail,
        }
    )


def entry_leaf_hash(entry: EntryFields) -> bytes:
    return merkle.leaf_hash(leaf_bytes(entry))


def timestamp(at: datetime) -> str:
    """UTC, microseconds always written: ``2026-11-26T08:02:13.123456Z``."""
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _uuid_text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def check_json(value: object, where: str) -> None:
    """Refuse what JSON readers would not all read back the same: only str (valid
    Unicode), int (within 2**53), bool, None, lists and dicts of simple keys."""
    if value is None or isinstance(value, bool | str):
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"audit {where} is not valid Unicode text") from None
        return
    if isinstance(value, int):
        if abs(value) > _MAX_JSON_INT:
            raise ValueError(f"audit {where} is too large an integer for JSON readers")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or not _DETAIL_KEY.fullmatch(key):
                raise ValueError(f"audit {where} has a key {key!r}: use letters, digits, _ . -")
            check_json(item, f"{where}.{key}")
        return
    raise ValueError(
        f"audit {where} is of type {type(value).__name__}: use str, int, bool, None, list or dict"
    )


def normalised(value: object) -> Any:
    """Tuples become lists (what the JSON column gives back); everything else is checked."""
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    return value
