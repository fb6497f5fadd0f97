"""The coordinator's dashboard with 500 schools and a million alerts, beside
its aggregate queries run directly.

Builds the same PostgreSQL database as bench/inbox.py (500 schools, one
cluster, ``--alerts`` alerts each sent to three schools, 80% of copies
acknowledged) and prints the server time of ``GET /cluster/dashboard`` for
the default eight weeks and for a whole year (median, p95), beside the time
of the same aggregate queries issued directly through SQLAlchemy Core on one
connection, and the ratio.

Run: ``python bench/dashboard.py [--database-url ...] [--alerts 1000000]``
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta

from _support import fresh_database, make_app, median_p95_ms, table, timings
from inbox import DEFAULT_URL, PASSWORD, build

from network.alerts.models import Alert
from network.dashboard import figures
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
    today = date.today()
    rows = []
    for label, weeks in (("8 weeks", 8), ("1 year", 52)):
        start = today - timedelta(weeks=weeks) + timedelta(days=1)
        url = f"/cluster/dashboard?start={start}&end={today}"
        assert client.get(url).status_code == 200
        period = figures.Period(start, today)

        def page_view(url=url):
            client.get(url)

        def raw_queries(period=period):
            with own_transaction(app) as session:
                figures.weekly_by_category(session, cluster_id, period)
                for column in (Alert.severity, Alert.platform, Alert.category):
                    figures.counts_by(session, cluster_id, period, column)
                figures.response_by_school(session, cluster_id, period)
                figures.response_by_severity(session, cluster_id, period)
                figures.response_overall(session, cluster_id, period)
                figures.activity(session, cluster_id, period)

        page_med, page_p95 = median_p95_ms(timings(page_view, args.repetitions))
        raw_med, raw_p95 = median_p95_ms(timings(raw_queries, args.repetitions))
        rows.append([f"GET /cluster/dashboard, {label}", page_med, page_p95, page_med / raw_med])
        rows.append([f"aggregate queries alone, {label}", raw_med, raw_p95, 1.0])
    engine(app).dispose()
    print(table(["measure", "median ms", "p95 ms", "ratio"], rows))


if __name__ == "__main__":
    main()
