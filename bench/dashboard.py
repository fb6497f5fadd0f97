"""The coordinator's dashboard with 500 schools and a million alerts: the first
view of an arbitrary eight-week period, beside its floor.

Builds a database (PostgreSQL with COPY, as bench/inbox.py does; SQLite with
bulk inserts) holding 500 schools in one cluster and ``--alerts`` alerts over
a year, each sent to three schools, 80% of copies acknowledged after minutes
to days; then rebuilds the per-school daily figures from them (as
``alertnet dashboard rebuild`` does, timed). It prints the server time of
``GET /cluster/dashboard`` (median, p95):

- the first view of an eight-week period nobody opened before (each
  repetition a different period, none ending today), whose figures are summed
  from the daily figures on the view;
- its floor: the same pages viewed again, their figures now in store, so
  only what is live on every view remains (overdue acknowledgements,
  notification delivery, referrals, indicators, rendering 500 schools);
- the ratio, and beside them the daily figures summed alone and the same
  figures computed from every alert and copy (the queries the dashboard ran
  before the daily figures, figures.compute_live).

Run: ``python bench/dashboard.py [--database-url sqlite|postgresql://...]
[--alerts 1000000]``; ``--reuse`` measures a database built before.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import time
from datetime import UTC, datetime, timedelta

from _fillers import ALERT_COLUMNS, COPY_COLUMNS, filler_rows, sqlite_value
from _support import fresh_database, make_app, median_p95_ms, table, timings
from inbox import DEFAULT_URL, PASSWORD, build, settle
from sqlalchemy import delete, func, select, update

from crypto.keys import SchoolKeys
from network.alerts.daily_figures import rebuild
from network.alerts.models import Alert
from network.dashboard import figures
from network.dashboard.figures import Period
from network.dashboard.models import FigureSnapshot
from network.db import engine, own_transaction
from schools import directory, invitations, keyring
from schools.models import Cluster, Role, School

BATCH = 20_000


def build_sqlite(app, n_alerts: int) -> None:
    """The same cluster and alerts as inbox.build, written with bulk inserts."""
    rng = random.Random(7)
    with own_transaction(app) as session:
        cluster = directory.create_cluster(session, None, "Bench cluster")
        for number in range(500):
            school = directory.admit_school(
                session, None, cluster, f"School {number:03d}", f"{710000 + number}", ""
            )
            keyring.publish_generation(session, school, SchoolKeys.generate(1), None, None, "bench")
        invited = invitations.invite(
            session, None, Role.COORDINATOR, "coordinator@bench.example.org", cluster=cluster
        )
        accepted = invitations.accept_invitation(
            session,
            invited.token,
            "Coordinator",
            PASSWORD,
            PASSWORD,
            app.config["ALERTNET"].password_params,
        )
        school_ids = list(session.scalars(select(School.id).where(School.kind == "school")))
        cluster_id, member_id = cluster.id, accepted.member.id
    print(f"writing {n_alerts:,} metadata-only alerts with bulk inserts ...", flush=True)
    start = time.perf_counter()
    base = datetime.now(UTC) - timedelta(seconds=30 * n_alerts + 3600)
    rows = filler_rows(rng, n_alerts, base, cluster_id, member_id, school_ids)
    raw = engine(app).raw_connection()
    try:
        cursor = raw.cursor()
        for _ in range(0, n_alerts, BATCH):
            alerts, copies = [], []
            for alert, its_copies in itertools.islice(rows, BATCH):
                alerts.append(tuple(map(sqlite_value, alert)))
                copies.extend(tuple(map(sqlite_value, row)) for row in its_copies)
            cursor.executemany(
                f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES ({', '.join('?' * 16)})", alerts
            )
            cursor.executemany(
                f"INSERT INTO alert_recipients ({COPY_COLUMNS}) VALUES ({', '.join('?' * 9)})",
                copies,
            )
            raw.commit()
    finally:
        raw.close()
    print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a URL, or 'sqlite'")
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database a previous run built, without rebuilding it",
    )
    args = parser.parse_args()
    sqlite = args.database_url == "sqlite" or args.database_url.startswith("sqlite")
    if args.reuse:
        app = make_app(args.database_url)
    else:
        url = fresh_database(None if sqlite else args.database_url)
        print(f"building {url}", flush=True)
        app = make_app(url)
        if sqlite:
            build_sqlite(app, args.alerts)
        else:
            build(app, args.alerts, 60)
        start = time.perf_counter()
        with own_transaction(app) as session:
            done = rebuild(session)
        print(
            f"rebuilt the daily figures of {done.alerts:,} alerts and {done.copies:,} copies "
            f"in {time.perf_counter() - start:.0f} s ({done.school_rows:,} + "
            f"{done.filing_rows:,} rows)",
            flush=True,
        )
        settle(app)
    with own_transaction(app) as session:
        # The coordinator signs in with a password alone: no second factor is measured.
        session.execute(update(Cluster).values(second_factor_leaders=False))
        # No period is in store from an earlier run: every first view computes.
        session.execute(delete(FigureSnapshot))
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post(
        "/sign-in",
        data={"email": "coordinator@bench.example.org", "password": PASSWORD, "csrf_token": token},
    )
    with own_transaction(app) as session:
        cluster_id = session.scalars(select(Cluster.id)).one()
        first = session.scalar(select(func.min(Alert.created_at)))
    assert first is not None
    # Arbitrary eight-week periods inside the year of alerts, none ending
    # today (the worker keeps the default period in store).
    rng = random.Random(19)
    today = datetime.now(UTC).date()
    span = (today - timedelta(days=1) - first.date()).days - 56
    ends = rng.sample(range(span), args.repetitions + 1)
    periods = [
        Period(first.date() + timedelta(days=end + 1), first.date() + timedelta(days=end + 56))
        for end in ends
    ]
    warmup, periods = periods[0], periods[1:]

    def url(period: Period) -> str:
        return f"/cluster/dashboard?start={period.start}&end={period.end}"

    def view(period: Period) -> float:
        start = time.perf_counter()
        response = client.get(url(period))
        elapsed = time.perf_counter() - start
        assert response.status_code == 200
        assert "alerts in the period" in response.get_data(as_text=True)
        return elapsed

    view(warmup)
    first_views = [view(p) for p in periods]
    floors = [view(p) for p in periods]

    def summed(period: Period = periods[0]) -> None:
        with own_transaction(app) as session:
            figures.compute(session, cluster_id, period, datetime.now(UTC))

    def live(period: Period = periods[0]) -> None:
        with own_transaction(app) as session:
            figures.compute_live(session, cluster_id, period, datetime.now(UTC))

    with own_transaction(app) as session:
        same = figures.compute(session, cluster_id, periods[0], datetime.now(UTC))
        reference = figures.compute_live(session, cluster_id, periods[0], datetime.now(UTC))
    assert same.by_category == reference.by_category
    assert same.responses.overall.received == reference.responses.overall.received
    first_ms = median_p95_ms(first_views)
    floor_ms = median_p95_ms(floors)
    summed_ms = median_p95_ms(timings(summed, args.repetitions, warmup=1))
    live_ms = median_p95_ms(timings(live, 3, warmup=0))
    engine(app).dispose()
    name = "SQLite" if sqlite else "PostgreSQL"
    rows = [
        [
            "GET /cluster/dashboard, first view of an 8-week period",
            *first_ms,
            "floor",
            first_ms[0] / floor_ms[0],
        ],
        ["  floor: the same views again, figures in store", *floor_ms, "", ""],
        ["  the daily figures summed alone, 8 weeks", *summed_ms, "", ""],
        [
            "  the same figures from every alert and copy",
            *live_ms,
            "daily figures",
            live_ms[0] / summed_ms[0],
        ],
    ]
    ends = f"{min(p.end for p in periods)} to {max(p.end for p in periods)}"
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"\n{name}, {args.alerts:,} alerts; {len(periods)} periods of 8 weeks ending {ends}")
    print(f"load average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} cores")
    print(table(["measure", "median ms", "p95 ms", "baseline", "ratio"], rows))
    print(
        f"target: first view under 1000 ms; median {first_ms[0]:.0f} ms, p95 {first_ms[1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
