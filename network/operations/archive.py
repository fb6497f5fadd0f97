"""What a backup holds once opened: JSON lines, read and written here.

The payload sealed by crypto/backup.py is UTF-8 JSON, one value per line::

    {"kind": "manifest", ...}            hub origin, schema revision, audit log
                                         size and root, time, row counts
    {"kind": "secrets", ...}             SECRET_KEY and the audit log key
    {"kind": "table", "name": "clusters", "columns": [...], "rows": 2}
    [row], [row]                         that many rows, values in column order
    ...                                  every table, parents before children
    {"kind": "end", "tables": {name: sha256}, "sha256": ..., "signature": ...}

``sha256`` covers every byte before the end line, each table's checksum its
row lines; ``signature`` is the audit log key's Ed25519 signature of
``"alertnet/v1/backup\\0" || sha256``. Values that JSON has no type for are
tagged: ``{"b": base64}`` bytes, ``{"u": ...}`` UUIDs, ``{"t": ...}`` aware
timestamps, ``{"d": ...}`` dates, ``{"h": ...}`` times of day, and ``{"j": ...}``
a JSON column's own value.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time
from typing import Any, Protocol

FORMAT = 1
SIGNATURE_LABEL = b"alertnet/v1/backup\0"


class ArchiveError(Exception):
    """The opened payload is not what a backup holds (a bug or a forged file)."""


def encode_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | memoryview):
        return {"b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, uuid.UUID):
        return {"u": str(value)}
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ArchiveError("a timestamp without a time zone cannot be backed up")
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, time):
        return {"h": value.isoformat()}
    if isinstance(value, dict | list):
        return {"j": value}
    raise ArchiveError(f"cannot back up a value of type {type(value).__name__}")


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "b": lambda v: base64.b64decode(v, validate=True),
    "u": uuid.UUID,
    "t": datetime.fromisoformat,
    "d": date.fromisoformat,
    "h": time.fromisoformat,
    "j": lambda v: v,
}


def decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) != 1:
            raise ArchiveError("a tagged value has one key")
        ((tag, inner),) = value.items()
        decoder = _DECODERS.get(tag)
        if decoder is None:
            raise ArchiveError(f"unknown value tag {tag!r}")
        try:
            return decoder(inner)
        except (TypeError, ValueError):
            raise ArchiveError(f"a value tagged {tag!r} does not read") from None
    if isinstance(value, list):
        raise ArchiveError("an untagged list in a row")
    return value


def line(value: Any) -> bytes:
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
            "utf-8"
        )
        + b"\n"
    )


class Sink(Protocol):
    def write(self, data: bytes) -> None: ...


class PayloadWriter:
    """Writes the lines above, keeping the checksums as it goes."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._all = hashlib.sha256()
        self.table_sums: dict[str, str] = {}

    def _write(self, data: bytes) -> None:
        self._all.update(data)
        self._sink.write(data)

    def record(self, kind: str, **fields: Any) -> None:
        self._write(line({"kind": kind, **fields}))

    def table(self, name: str, columns: list[str], count: int, rows: Iterable[Any]) -> None:
        self.record("table", name=name, columns=columns, rows=count)
        digest = hashlib.sha256()
        written = 0
        for row in rows:
            data = line([encode_value(value) for value in row])
            digest.update(data)
            self._write(data)
            written += 1
        if written != count:
            raise ArchiveError(f"{name}: counted {count} rows but read {written}")
        self.table_sums[name] = digest.hexdigest()

    def digest(self) -> bytes:
        return self._all.digest()

    def end(self, signature: bytes) -> None:
        self._sink.write(
            line(
                {
                    "kind": "end",
                    "tables": self.table_sums,
                    "sha256": self._all.hexdigest(),
                    "signature": base64.b64encode(signature).decode("ascii"),
                }
            )
        )


def lines_of(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split a stream of chunks into lines (without their newline)."""
    rest = b""
    for chunk in chunks:
        rest += chunk
        *complete, rest = rest.split(b"\n")
        yield from complete
    if rest:
        raise ArchiveError("the payload does not end with a newline")


class Table:
    """One table as read back: its name, columns and a row iterator."""

    def __init__(self, name: str, columns: list[str], count: int, rows: Iterator[list[Any]]):
        self.name = name
        self.columns = columns
        self.count = count
        self.rows = rows


class PayloadReader:
    """Reads the lines back, checking each table's count and checksum and the
    whole payload's checksum as it goes. ``manifest`` and ``secrets`` are read
    at once; iterate ``tables()`` to the end, then ``end`` holds the trailer."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._lines = lines_of(chunks)
        self._all = hashlib.sha256()
        self.table_sums: dict[str, str] = {}
        self.manifest = self._expect("manifest")
        if self.manifest.get("format") != FORMAT:
            raise ArchiveError(f"this backup's payload has format {self.manifest.get('format')}")
        self.secrets = self._expect("secrets")
        self.end: dict[str, Any] | None = None
        self.digest = b""

    def _next(self) -> bytes:
        try:
            return next(self._lines)
        except StopIteration:
            raise ArchiveError("the payload ends early") from None

    def _parse(self, data: bytes) -> Any:
        try:
            return json.loads(data)
        except ValueError:
            raise ArchiveError("a line of the payload is not JSON") from None

    def _expect(self, kind: str) -> dict[str, Any]:
        data = self._next()
        self._all.update(data + b"\n")
        found = self._parse(data)
        if not isinstance(found, dict) or found.get("kind") != kind:
            raise ArchiveError(f"expected the {kind} record")
        return found

    def tables(self) -> Iterator[Table]:
        while True:
            data = self._next()
            found = self._parse(data)
            if isinstance(found, dict) and found.get("kind") == "end":
                self.digest = self._all.digest()
                if found.get("sha256") != self._all.hexdigest():
                    raise ArchiveError("the payload's checksum does not match")
                if found.get("tables") != self.table_sums:
                    raise ArchiveError("the tables' checksums do not match")
                self.end = found
                for _ in self._lines:
                    raise ArchiveError("there is more after the end record")
                return
            self._all.update(data + b"\n")
            if not isinstance(found, dict) or found.get("kind") != "table":
                raise ArchiveError("expected a table record")
            name, columns, count = found.get("name"), found.get("columns"), found.get("rows")
            if not isinstance(name, str) or not isinstance(columns, list):
                raise ArchiveError("a table record names no table")
            if not isinstance(count, int) or count < 0:
                raise ArchiveError(f"{name}: a table record without a row count")
            table = Table(name, columns, count, self._rows(name, len(columns), count))
            yield table
            for _ in table.rows:  # a caller that stopped early: the checksum needs them all
                pass

    def _rows(self, name: str, width: int, count: int) -> Iterator[list[Any]]:
        digest = hashlib.sha256()
        for _ in range(count):
            data = self._next()
            digest.update(data + b"\n")
            self._all.update(data + b"\n")
            row = self._parse(data)
            if not isinstance(row, list) or len(row) != width:
                raise ArchiveError(f"{name}: a row has the wrong number of values")
            yield [decode_value(value) for value in row]
        self.table_sums[name] = digest.hexdigest()
