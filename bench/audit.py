"""Audit log: append throughput and proof time at 1k, 100k and 1M entries, against
the raw SHA-256 cost of the hashes involved, measured in the same run.

For each size the log is grown to that many entries through the bulk path
(``schools.audit.tree.append``, 10,000 entries per transaction), then:

- ``record()`` throughput: entries per second through the real ``record()`` +
  commit, one entry per transaction and 100 per transaction;
- proof time: median of many inclusion and consistency proofs served from the
  database (``schools.audit.proofs.inclusion`` / ``consistency``: the log's size, then
  every stored subtree the proof needs in one query);
- the raw cost of the SHA-256 hashes involved: per appended entry, its leaf
  hash plus the node hashes of the subtrees it completes; per proof, the node
  hashes that generating it computes. "ratio" is measured time / raw hashing.

Proof time should stay flat as the log grows a thousandfold: its queries are
primary-key lookups, a constant number of them.

Run: ``python bench/audit.py [--max 1000000] [--database-url URL]``. Without a
URL it uses SQLite in a temporary folder. A PostgreSQL URL must name a scratch
database: its audit tables are emptied first.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import make_app
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from crypto import merkle
from network.db import engine as app_engine
from schools import audit
from schools.audit import proofs, tree
from schools.audit.leaf import leaf_bytes
from schools.audit.models import AuditEvent

SIZES = (1_000, 100_000, 1_000_000)
BULK_BATCH = 10_000
PROOFS = 301


def entry(n: int) -> AuditEvent:
    """A typical entry: an alert opened by a member of a school."""
    return AuditEvent(
        at=datetime.now(UTC),
        action="alert.opened",
        actor_id=_ids[n % 97],
        actor_role="staff",
        cluster_id=_ids[0],
        school_id=_ids[n % 31],
        object_type="alert",
        object_id=str(_ids[n % 89]),
        envelope_hash=hashlib.sha256(n.to_bytes(8, "big")).digest(),
        detail={"generation": 3},
        leaf_version=1,
    )


_random = random.Random(9162)
_ids = [uuid.UUID(int=_random.getrandbits(128)) for _ in range(100)]


def grow(engine: Engine, size: int, target: int) -> float:
    """Append entries until the log has ``target``; return the seconds it took."""
    start = time.perf_counter()
    while size < target:
        count = min(BULK_BATCH, target - size)
        with Session(engine) as session:
            tree.append(session, [entry(size + i) for i in range(count)])
            session.commit()
        size += count
    return time.perf_counter() - start


def record_rate(engine: Engine, per_transaction: int, total: int) -> float:
    start = time.perf_counter()
    done = 0
    while done < total:
        with Session(engine) as session:
            for _ in range(per_transaction):
                audit.record(
                    session,
                    "alert.opened",
                    school_id=_ids[done % 31],
                    cluster_id=_ids[0],
                    object_type="alert",
                    object_id=str(_ids[done % 89]),
                    generation=3,
                )
                done += 1
            session.commit()
    return total / (time.perf_counter() - start)


def median_seconds(action: Callable[[], object], repetitions: int) -> float:
    action()
    samples = []
    for _ in range(repetitions):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def raw_sha256_seconds(count: int, length: int, repetitions: int = 301) -> float:
    """Median time of ``count`` SHA-256 hashes of ``length``-byte inputs."""
    data = bytes(length)

    def hashes() -> None:
        for _ in range(count):
            hashlib.sha256(data).digest()

    return median_seconds(hashes, repetitions)


def node_hashes_in(action: Callable[[], object]) -> int:
    """How many node hashes ``action`` computes (crypto.merkle looks node_hash up
    by name, so counting it there counts every one)."""
    original = merkle.node_hash
    calls = 0

    def counted(left: bytes, right: bytes) -> bytes:
        nonlocal calls
        calls += 1
        return original(left, right)

    merkle.node_hash = counted  # type: ignore[assignment]
    try:
        action()
    finally:
        merkle.node_hash = original  # type: ignore[assignment]
    return calls


def proof_row(engine: Engine, size: int) -> dict[str, float]:
    rng = random.Random(size)
    seqs = [rng.randrange(size) for _ in range(PROOFS)]
    olds = [rng.randrange(1, size + 1) for _ in range(PROOFS)]
    with Session(engine) as session:
        position = iter(range(10**9))

        def one_inclusion() -> None:
            proofs.inclusion(session, seqs[next(position) % PROOFS], size)

        def one_consistency() -> None:
            proofs.consistency(session, olds[next(position) % PROOFS], size)

        inclusion = median_seconds(one_inclusion, PROOFS)
        consistency = median_seconds(one_consistency, PROOFS)
        inclusion_hashes = statistics.median(
            node_hashes_in(lambda s=s: proofs.inclusion(session, s, size)) for s in seqs[:51]
        )
        consistency_hashes = statistics.median(
            node_hashes_in(lambda o=o: proofs.consistency(session, o, size)) for o in olds[:51]
        )
        session.rollback()
    node_input = 1 + 2 * merkle.HASH_SIZE
    return {
        "inclusion": inclusion,
        "inclusion_raw": raw_sha256_seconds(max(int(inclusion_hashes), 1), node_input),
        "inclusion_hashes": inclusion_hashes,
        "consistency": consistency,
        "consistency_raw": raw_sha256_seconds(max(int(consistency_hashes), 1), node_input),
        "consistency_hashes": consistency_hashes,
    }


def append_raw_per_entry() -> float:
    """SHA-256 cost of appending one entry: its leaf hash (over its ~380-byte
    encoding) and, on average, one node hash (an append completes < 2 subtrees)."""
    leaf_length = 1 + len(leaf_bytes(_numbered(entry(12345))))
    return raw_sha256_seconds(1, leaf_length, 2001) + raw_sha256_seconds(1, 65, 2001)


def _numbered(event: AuditEvent) -> AuditEvent:
    event.seq = 123_456
    return event


def prepare(database_url: str | None, folder: Path) -> Engine:
    url = database_url or f"sqlite:///{folder / 'bench.db'}"
    app = make_app(url, folder)
    engine = app_engine(app)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(
                text(
                    "TRUNCATE audit_events, audit_subtrees, audit_checkpoints, audit_verifications"
                )
            )
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max", type=int, default=SIZES[-1], help="largest log size to build")
    parser.add_argument("--database-url", help="a scratch PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    sizes = [s for s in SIZES if s <= args.max] or [args.max]
    with tempfile.TemporaryDirectory() as folder:
        engine = prepare(args.database_url, Path(folder))
        print(f"database: {engine.dialect.name}; python {sys.version.split()[0]}")
        raw_append = append_raw_per_entry()
        rows = []
        size = 0
        for target in sizes:
            seconds = grow(engine, size, target)
            bulk = (target - size) / seconds
            size = target
            proofs = proof_row(engine, size)
            one = record_rate(engine, 1, 300)
            hundred = record_rate(engine, 100, 3000)
            with Session(engine) as session:
                size = tree.tree_size(session)
            rows.append((target, bulk, one, hundred, proofs))
        print()
        print(
            f"{'entries':>10} | {'bulk /s':>9} {'ratio':>6} | {'record 1/tx /s':>14} "
            f"{'100/tx /s':>10} | {'inclusion':>10} {'raw':>8} {'ratio':>6} | "
            f"{'consistency':>11} {'raw':>8} {'ratio':>6}"
        )
        print("-" * 118)
        for target, bulk, one, hundred, p in rows:
            print(
                f"{target:>10,} | {bulk:>9,.0f} {1 / bulk / raw_append:>5.0f}x | {one:>14,.0f} "
                f"{hundred:>10,.0f} | {p['inclusion'] * 1e3:>8.3f}ms "
                f"{p['inclusion_raw'] * 1e6:>6.1f}us "
                f"{p['inclusion'] / p['inclusion_raw']:>5.0f}x | "
                f"{p['consistency'] * 1e3:>9.3f}ms {p['consistency_raw'] * 1e6:>6.1f}us "
                f"{p['consistency'] / p['consistency_raw']:>5.0f}x"
            )
        print()
        print(
            f"raw SHA-256 per appended entry (leaf + one node hash): {raw_append * 1e6:.2f}us; "
            "proof 'raw' = the node hashes generating it computes "
            f"(median {rows[-1][4]['inclusion_hashes']:.0f} for inclusion, "
            f"{rows[-1][4]['consistency_hashes']:.0f} for consistency at the largest size)."
        )
        print("ratios: measured time / raw hashing time in this run.")
        engine.dispose()


if __name__ == "__main__":
    main()
