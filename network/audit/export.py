"""CSV and JSON exports of a filtered view of the log, streamed.

The body is produced after the request's own transaction has committed, so
each batch of entries is read in a short transaction of its own: SQLite's
write lock (every transaction takes it) is never held while a slow client
downloads. The export is of the log as it was when it was asked for (``upto``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from network.audit.documents import entry_document
from network.audit.search import EntryFilter, entries_in_range
from network.spreadsheet import cell
from schools.audit.models import AuditEvent
from schools.policy import AuditScope

#: The columns of the CSV export, in order: the entry's fields and its leaf hash.
COLUMNS = (
    "seq",
    "at",
    "action",
    "actor",
    "actor_role",
    "cluster",
    "school",
    "object_type",
    "object_id",
    "envelope_hash",
    "detail",
    "leaf_hash",
)
BATCH = 1000

Transactions = Callable[[], AbstractContextManager[Session]]


def _batches(
    transaction: Transactions, scope: AuditScope, filters: EntryFilter, upto: int
) -> Iterator[list[dict[str, Any]]]:
    start: int | None = 0
    while start is not None:
        with transaction() as session:
            rows, start = entries_in_range(session, scope, filters, start, upto, BATCH)
            yield [_document(e) for e in rows]


def _document(entry: AuditEvent) -> dict[str, Any]:
    document = entry_document(entry)
    del document["leaf"]  # the leaf is the other fields; exports keep its hash
    return document


def csv_lines(
    transaction: Transactions, scope: AuditScope, filters: EntryFilter, upto: int
) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for batch in _batches(transaction, scope, filters, upto):
        buffer.seek(0)
        buffer.truncate()
        for document in batch:
            writer.writerow([cell(document[column]) for column in COLUMNS])
        yield buffer.getvalue()


def json_chunks(
    transaction: Transactions,
    scope: AuditScope,
    filters: EntryFilter,
    upto: int,
    header: dict[str, Any],
) -> Iterator[str]:
    """``{...header, "entries": [...]}``, written as it is read."""
    opening = json.dumps(header, sort_keys=True)
    yield opening[:-1] + (", " if header else "") + '"entries": ['
    first = True
    for batch in _batches(transaction, scope, filters, upto):
        for document in batch:
            yield ("" if first else ",") + "\n" + json.dumps(document, sort_keys=True)
            first = False
    yield "\n]}\n"
