"""An alert's page viewed again by a school that opened it before, beside the
same view verifying everything afresh and beside the SQL the view issues.

Builds a cluster of three schools with real keys (SQLite in a temporary folder,
or a freshly created PostgreSQL database); one school posts a real alert to the
other two, and the reader's school adds ``--replies`` replies, so the page
opens ``1 + replies`` envelopes. It then times ``GET /alerts/<id>`` for the
reader (Flask test client in process: routing, session, queries, opening,
rendering, the audit queue):

- repeat view: the school's read records of the alert and its replies stand
  in for the signatures (docs/crypto.md, "Read records");
- first view: the school's read records are deleted before each request
  (untimed), so every envelope is verified in full and a record kept again;
- the floor: every SQL statement one repeat view issues, captured and replayed
  on a raw driver connection (rolled back), i.e. what the database costs;

and prints median and p95 in milliseconds, each one's ratio to the floor, and
the median CPU time of this process (crypto, ORM, rendering: what a machine
shared with other jobs does not inflate).

Run: ``python bench/alert_page.py [--database-url postgresql://...] [--replies 5]``

Figures, before and after read records stood in for the signatures on the
page: docs/alerts.md, "Speed".
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _support import fresh_database, make_app, median_p95_ms, table
from sqlalchemy import delete, event

from network.alerts.models import ReadRecord
from network.db import engine, own_transaction
from tests.conftest import World
from tests.network.alerts_helpers import make_head

ROUNDS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--replies", type=int, default=5)
    parser.add_argument("--repetitions", type=int, default=15)
    args = parser.parse_args()
    app = make_app(fresh_database(args.database_url))
    world = World(app)
    cluster = world.cluster()
    ash, beech, cedar = (make_head(app, world, cluster, n) for n in ("Ash", "Beech", "Cedar"))
    posted = ash.post_alert([beech.school, cedar.school], title="Fake account naming a teacher")
    assert posted.status_code == 303, posted.status_code
    page = posted.headers["Location"]
    for number in range(args.replies):
        reply = beech.post(f"{page}/reply", {"text": f"Reply {number}"}, page=page)
        assert reply.status_code == 303, reply.status_code

    def view() -> None:
        response = beech.client.get(page)
        assert response.status_code == 200
        assert "✓ Signature verified" in response.get_data(as_text=True)

    def forget_records() -> None:
        with own_transaction(app) as session:
            session.execute(delete(ReadRecord).where(ReadRecord.school_id == beech.school.id))

    def sample(action: Any, before: Any = None) -> tuple[float, float]:
        """Wall time, and this process's CPU time (what other jobs on a shared
        machine do not inflate; the database server's own time is not in it)."""
        if before is not None:
            before()
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        return time.perf_counter() - wall, time.process_time() - cpu

    view()  # keeps the records the replies' own views did not
    captured = _statements(app, view)
    bind = engine(app)

    def floor() -> None:
        raw: Any = bind.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters, many in captured:
                (cursor.executemany if many else cursor.execute)(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
        finally:
            raw.rollback()
            raw.close()

    measured = {
        "floor": (floor, None),
        "repeat": (view, None),
        "first": (view, forget_records),
    }
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in measured}
    for action, before in measured.values():  # warm-up
        sample(action, before)
    # Rounds taken in turn, so that no scenario gets the quieter moments.
    for _ in range(ROUNDS):
        for name, (action, before) in measured.items():
            samples[name] += [sample(action, before) for _ in range(args.repetitions)]
    forget_records()
    view()
    wall = {name: median_p95_ms([w for w, _ in values]) for name, values in samples.items()}
    cpu = {name: median_p95_ms([c for _, c in values])[0] for name, values in samples.items()}
    labels = {
        "floor": f"the SQL of one view, replayed raw ({len(captured)} statements)",
        "repeat": "GET the page, read records proving the checks (repeat view)",
        "first": "GET the page, every envelope verified in full (first view)",
    }
    rows = [
        [labels[name], *wall[name], wall[name][0] / wall["floor"][0], cpu[name]]
        for name in measured
    ]
    print(f"\n{bind.dialect.name}; the page opens {1 + args.replies} envelopes\n")
    print(
        table(
            ["measured", "median ms", "p95 ms", "ratio to the SQL", "CPU ms (this process)"],
            rows,
        )
    )
    bind.dispose()


def _statements(app: Any, action: Any) -> list[tuple[str, Any, bool]]:
    """Every statement the action sends to the database, as the driver got it."""
    captured: list[tuple[str, Any, bool]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool):
        captured.append((statement, parameters, many))

    bind = engine(app)
    event.listen(bind, "before_cursor_execute", keep)
    try:
        action()
    finally:
        event.remove(bind, "before_cursor_execute", keep)
    return captured


if __name__ == "__main__":
    main()
