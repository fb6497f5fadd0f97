"""The coordinator's dashboard with 500 schools and a million alerts, beside
its aggregate queries run directly.

Builds the same PostgreSQL database as bench/inbox.py (500 schools, one
cluster, ``--alerts`` alerts over a year, each sent to three schools, 80% of
copies acknowledged) and prints the server time of ``GET /cluster/dashboard``
for the default eight weeks and for a whole year (median, p95):

- with the figures in store, as the worker keeps them for the default periods
  (beside a bare endpoint, ``GET /healthz``, and the read of the stored row);
- recomputed on the view, as for a period nobody opened in the last
  ``ALERTNET_DASHBOARD_MAX_AGE`` seconds (beside the same aggregate queries
  issued directly on one connection);

and what the worker's periodic refresh of the default periods costs.

Run: ``python bench/dashboard.py [--database-url ...] [--alerts 1000000]``
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from _support import fresh_database, make_app, median_p95_ms, table, timings
from inbox import DEFAULT_URL, PASSWORD, build

from network.dashboard import figures, snapshots
from network.dashboard.figures import Period
from network.db import engine, own_transaction
from schools.models import Cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database a previous run built, without rebuilding it",
    )
    args = parser.parse_args()
    if args.reuse:
        app = make_app(args.database_url)
    else:
        app = make_app(fresh_database(args.database_url))
        build(app, args.alerts, 10)
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post(
        "/sign-in",
        data={"email": "coordinator@bench.example.org", "password": PASSWORD, "csrf_token": token},
    )
    with own_transaction(app) as session:
        from sqlalchemy import select

        cluster_id = session.scalars(select(Cluster.id)).one()
    settings = app.config["ALERTNET"]

    def with_max_age(seconds: int) -> None:
        app.config["ALERTNET"] = replace(settings, dashboard_max_age_seconds=seconds)

    healthz = median_p95_ms(timings(lambda: client.get("/healthz"), args.repetitions))
    rows = [["GET /healthz (bare endpoint)", *healthz, "", ""]]
    today = datetime.now(UTC).date()
    for label, weeks, live_repetitions in (
        ("8 weeks", 8, args.repetitions),
        ("1 year", 52, 3),
    ):
        period = Period(today - timedelta(weeks=weeks) + timedelta(days=1), today)
        url = f"/cluster/dashboard?start={period.start}&end={period.end}"

        def page_view(url=url):
            assert client.get(url).status_code == 200

        def stored_read(period=period):
            with own_transaction(app) as session:
                assert snapshots.stored(session, cluster_id, period) is not None

        def raw_queries(period=period):
            with own_transaction(app) as session:
                figures.compute(session, cluster_id, period, datetime.now(UTC))

        with_max_age(600)  # the first view computes and stores; the rest read
        stored_page = median_p95_ms(timings(page_view, args.repetitions, warmup=1))
        stored_row = median_p95_ms(timings(stored_read, args.repetitions))
        with_max_age(0)  # every view recomputes
        live_page = median_p95_ms(timings(page_view, live_repetitions, warmup=1))
        raw = median_p95_ms(timings(raw_queries, live_repetitions, warmup=0))
        rows += [
            [
                f"GET /cluster/dashboard, {label}, figures in store",
                *stored_page,
                "GET /healthz",
                stored_page[0] / healthz[0],
            ],
            [f"  reading the stored figures alone, {label}", *stored_row, "", ""],
            [
                f"GET /cluster/dashboard, {label}, recomputed on the view",
                *live_page,
                "aggregate queries",
                live_page[0] / raw[0],
            ],
            [f"  the aggregate queries alone, {label}", *raw, "", ""],
        ]
    with_max_age(settings.dashboard_max_age_seconds)

    def refresh():
        with own_transaction(app) as session:
            snapshots.refresh_defaults(session, datetime.now(UTC), timedelta(0))

    worker = median_p95_ms(timings(refresh, 3, warmup=0))
    rows.append(["worker: recompute both default periods", *worker, "", ""])
    engine(app).dispose()
    print(table(["measure", "median ms", "p95 ms", "baseline", "ratio"], rows))


if __name__ == "__main__":
    main()
