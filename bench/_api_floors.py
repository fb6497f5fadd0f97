"""The floors bench/api.py prints beside the API's figures, measured in the same run.

* The raw crypto a request cannot avoid, timed in this process as CPU time of
  this thread (medians, round-robin so load drift hits all alike): one HPKE
  X-Wing decapsulation, one Ed25519 + ML-DSA-65 verification, 31 HPKE X-Wing
  wraps and one Ed25519 + ML-DSA-65 signature.
* The inserts a post cannot avoid, served by the bare app beside the hub
  (``/bare/post``): in one transaction, the envelope's bytes, one wrap row and
  one copy row per recipient and the alert's row, through SQLAlchemy Core, in
  tables of their own (``bench_*``, made in the bench's fresh database).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from _support import median_ms
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Uuid,
    insert,
)

metadata = MetaData()
bench_sealed = Table(
    "bench_sealed",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("body", LargeBinary, nullable=False),
)
bench_wraps = Table(
    "bench_wraps",
    metadata,
    Column("sealed_id", Uuid, primary_key=True),
    Column("school", Integer, primary_key=True),
    Column("wrap", LargeBinary, nullable=False),
)
bench_alerts = Table(
    "bench_alerts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("sealed_id", Uuid, nullable=False),
    Column("category", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
bench_copies = Table(
    "bench_copies",
    metadata,
    Column("alert_id", Uuid, primary_key=True),
    Column("school", Integer, primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# What one post to 30 schools stores: an envelope of about this size, and a
# wrap of the content key (HPKE X-Wing: 1120 bytes of encapsulation + 48) each.
ENVELOPE_BYTES = 12_000
WRAP_BYTES = 1_168


def insert_post(connection: Any, recipients: int) -> None:
    """The inserts of one post, in the caller's transaction."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    sealed_id, alert_id = uuid.uuid4(), uuid.uuid4()
    connection.execute(insert(bench_sealed), {"id": sealed_id, "body": os.urandom(ENVELOPE_BYTES)})
    wrap = os.urandom(WRAP_BYTES)
    connection.execute(
        insert(bench_wraps),
        [{"sealed_id": sealed_id, "school": n, "wrap": wrap} for n in range(recipients)],
    )
    connection.execute(
        insert(bench_alerts),
        {"id": alert_id, "sealed_id": sealed_id, "category": "harassment", "created_at": now},
    )
    connection.execute(
        insert(bench_copies),
        [{"alert_id": alert_id, "school": n, "created_at": now} for n in range(recipients)],
    )


def crypto_ms(wraps: int, repetitions: int = 201) -> dict[str, float]:
    """Median CPU ms of: one decapsulation, one hybrid verification, ``wraps``
    HPKE wraps (one content key to each recipient), one hybrid signature."""
    from crypto.keys import HPKE_SUITE, SchoolKeys

    schools = [SchoolKeys.generate(1) for _ in range(wraps)]
    publics = [school.public() for school in schools]
    reader = schools[0].kem_private_key()
    info = b"alertnet/bench/wrap\0"
    cek = os.urandom(32)
    sealed = HPKE_SUITE.encrypt(cek, publics[0].kem_public_key(), info=info)
    # The signed message's size, as bench/crypto.py signs.
    message = os.urandom(16 + 4 * 32)
    signature = schools[1].sign(message, b"alertnet/v1/sig")

    def all_wraps() -> None:
        key = os.urandom(32)
        for public in publics:
            HPKE_SUITE.encrypt(key, public.kem_public_key(), info=info)

    return median_ms(
        {
            "decapsulation": lambda: HPKE_SUITE.decrypt(sealed, reader, info=info),
            "verify": lambda: publics[1].verify(message, *signature, b"alertnet/v1/sig"),
            "wraps": all_wraps,
            "sign": lambda: schools[1].sign(os.urandom(16 + 4 * 32), b"alertnet/v1/sig"),
        },
        repetitions,
        clock=time.thread_time,
    )
