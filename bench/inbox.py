"""The inbox page with 500 schools and a million alerts, beside its raw SQL query.

Builds a PostgreSQL database (dropped and created afresh) holding 500 schools
and ``--alerts`` alerts (default 1,000,000), each sent to three schools. The
newest ``--real`` alerts to the measured school are real sealed envelopes
posted through ``post_alert``; the rest are metadata rows written with COPY
(the inbox never decrypts them unless they are on the page shown).

It prints the server time of ``GET /alerts`` (median, p95; Flask test client
in process, so no network: routing, session, the query, opening the page's 25
read records, rendering) beside the floor issue 19 names, measured in the
same run: the same inbox query run directly on the connection plus a bare
render of the same 25 rows (their fields in a plain Jinja template, no
layout, macros or filters), and the ratio of the p95s (the target: at most
2); and the mean CPU time of this process for each (the database server's
not in it), which a loaded machine moves much less.

Run: ``python bench/inbox.py [--database-url postgresql://postgres@127.0.0.1:5432/alertnet_bench]
[--alerts 1000000] [--repetitions 40]``; ``--reuse`` measures a database
this or ``bench/dashboard.py`` built before, without rebuilding it.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import jinja2
from _fillers import ALERT_COLUMNS, COPY_COLUMNS, copy_text, filler_rows
from _support import fresh_database, make_app, median_p95_ms, table, timings
from flask import template_rendered
from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql

from crypto.keys import SchoolKeys
from network.alerts import inbox, posting
from network.alerts.content import AlertContent
from network.db import engine, own_transaction
from schools import directory, invitations, keyring
from schools.models import Cluster, Member, Role, School

PASSWORD = "bench passphrase 1234"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/alertnet_bench"


def build(app, n_alerts: int, n_real: int) -> tuple[str, uuid.UUID]:
    """Returns the measured head's email and school; the cluster also gets a
    coordinator, coordinator@bench.example.org."""
    rng = random.Random(7)
    with own_transaction(app) as session:
        cluster = directory.create_cluster(session, None, "Bench cluster")
        people = []
        for number in range(10):  # schools with real members and keys
            school = directory.admit_school(
                session, None, cluster, f"Keyed {number}", f"{700000 + number}", ""
            )
            invited = invitations.invite(
                session, None, Role.HEAD, f"head{number}@bench.example.org", school=school
            )
            accepted = invitations.accept_invitation(
                session,
                invited.token,
                f"Head {number}",
                PASSWORD,
                PASSWORD,
                app.config["ALERTNET"].password_params,
            )
            people.append((accepted.member.id, accepted.credential, school.id))
        for number in range(490):  # the rest of the 500
            school = directory.admit_school(
                session, None, cluster, f"School {number:03d}", f"{710000 + number}", ""
            )
            keyring.publish_generation(session, school, SchoolKeys.generate(1), None, None, "bench")
        invited = invitations.invite(
            session, None, Role.COORDINATOR, "coordinator@bench.example.org", cluster=cluster
        )
        invitations.accept_invitation(
            session,
            invited.token,
            "Coordinator",
            PASSWORD,
            PASSWORD,
            app.config["ALERTNET"].password_params,
        )
        school_ids = list(session.scalars(select(School.id).where(School.kind == "school")))
        cluster_id = cluster.id
    target_member, _, target_school = people[0]
    fillers = n_alerts - n_real
    print(f"writing {fillers:,} metadata-only alerts with COPY ...", flush=True)
    start = time.perf_counter()
    # Spread over the past year, ending now, so every period has alerts.
    base = datetime.now(UTC) - timedelta(seconds=30 * fillers + 3600)
    raw = engine(app).raw_connection()
    try:
        cursor = raw.cursor()
        # One COPY at a time on a connection: the copies wait in memory.
        recipients = io.StringIO()
        with cursor.copy(f"COPY alerts ({ALERT_COLUMNS}) FROM STDIN") as copy_alerts:
            for alert, copies in filler_rows(
                rng, fillers, base, cluster_id, target_member, school_ids, target_school
            ):
                copy_alerts.write_row(alert)
                recipients.writelines(copy_text(row) for row in copies)
        recipients.seek(0)
        with cursor.copy(f"COPY alert_recipients ({COPY_COLUMNS}) FROM STDIN") as copy_recipients:
            while chunk := recipients.read(1 << 20):
                copy_recipients.write(chunk)
        raw.commit()
    finally:
        raw.close()
    print(
        f"  done in {time.perf_counter() - start:.0f} s; posting {n_real} real alerts ...",
        flush=True,
    )
    with own_transaction(app) as session:
        for number in range(n_real):
            member_id, credential, _ = people[1 + number % 9]
            member = session.get(Member, member_id)
            keys = keyring.unlock_for_member(session, member, credential)
            posting.post_alert(
                session,
                member,
                keys,
                posting.AlertDraft(
                    "harassment",
                    "high",
                    "instagram",
                    "AMBER",
                    AlertContent(f"Real alert {number}", "x" * 500),
                    "schools",
                    (target_school,),
                ),
            )
    settle(app)
    return "head0@bench.example.org", target_school


def settle(app) -> None:
    """What autovacuum does to a live hub's tables, done at once for rows just
    written: statistics, and on PostgreSQL the visibility map, without which
    no count is read from an index alone (the unread count beside Inbox)."""
    autocommit = engine(app).execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as connection:
        is_postgres = connection.dialect.name == "postgresql"
        connection.execute(text("VACUUM ANALYZE" if is_postgres else "ANALYZE"))


# The floor's render: the same 25 rows' fields, in a plain Jinja template with
# autoescaping and nothing else (no layout, macros, filters, url_for or
# context processors).
BARE = jinja2.Environment(autoescape=True).from_string(
    """<ul>{% for row in rows %}<li><a href="/alerts/{{ row.alert.id }}">
{{ row.title or row.problem }}</a><span>{{ row.alert.severity }} {{ row.alert.tlp }}
{{ row.alert.category }} {{ row.alert.sender_school.name }} {{ row.alert.created_at }}
{{ row.alert.status }} {{ row.copy.acknowledged_at }} {{ row.alert.attachment_count }}</span>
</li>{% endfor %}</ul>"""
)


def _cpu_ms(action, repetitions: int) -> float:
    """Mean CPU time of this process per call, in ms."""
    start = time.process_time()
    for _ in range(repetitions):
        action()
    return (time.process_time() - start) * 1000 / repetitions


def measured(app) -> tuple[str, uuid.UUID]:
    """The measured head and school of a database built before."""
    with own_transaction(app) as session:
        school_id = session.scalars(select(School.id).where(School.name == "Keyed 0")).one()
    return "head0@bench.example.org", school_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--real", type=int, default=60)
    parser.add_argument("--repetitions", type=int, default=40)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database a previous run (of this or bench/dashboard.py) built",
    )
    args = parser.parse_args()
    if args.reuse:
        app = make_app(args.database_url)
        email, school_id = measured(app)
    else:
        url = fresh_database(args.database_url)
        app = make_app(url)
        email, school_id = build(app, args.alerts, args.real)
    with own_transaction(app) as session:
        # The head signs in with a password alone: no second factor is measured
        # (and a database built here can be measured again with --reuse).
        session.execute(update(Cluster).values(second_factor_leaders=False))

    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/sign-in", data={"email": email, "password": PASSWORD, "csrf_token": token})
    shown = client.get("/alerts").get_data(as_text=True)
    assert "Real alert" in shown, shown[:2000]

    # The query the page runs for its reader (the head: both tiers), its
    # parameters written in, run as plain SQL on a connection.
    with own_transaction(app) as session:
        reader = session.scalars(select(Member).where(Member.email == email)).one()
        statement, params = inbox.inbox_query(school_id, inbox.InboxFilters(), reader=reader)
    query = statement.params(**params)
    compiled = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    sql = str(compiled)

    def raw_query():
        with engine(app).connect() as connection:
            connection.exec_driver_sql(sql).fetchall()

    with engine(app).connect() as connection:
        plan = [r[0] for r in connection.exec_driver_sql("EXPLAIN ANALYZE " + sql)]

    # The page's own 25 rows, titles opened, as GET /alerts passed them to its template.
    rendered: list[dict] = []

    def keep(sender, template, context, **extra):
        rendered.append(context)

    with template_rendered.connected_to(keep, app):
        client.get("/alerts")
    rows = rendered[0]["page"].rows
    assert len(rows) == 25
    assert all(r.title for r in rows)

    def bare_render():
        BARE.render(rows=rows)

    def floor():
        raw_query()
        bare_render()

    def page_view():
        response = client.get("/alerts")
        assert response.status_code == 200

    page_samples = timings(page_view, args.repetitions)
    floor_samples = timings(floor, args.repetitions)
    sql_samples = timings(raw_query, args.repetitions)
    render_samples = timings(bare_render, args.repetitions)
    # This process's CPU time (the database server's is not in it): on a shared
    # machine the wall-clock figures move with the other jobs' load, this much less.
    page_cpu = _cpu_ms(page_view, args.repetitions)
    floor_cpu = _cpu_ms(floor, args.repetitions)
    sql_cpu = _cpu_ms(raw_query, args.repetitions)
    render_cpu = _cpu_ms(bare_render, args.repetitions)
    page_med, page_p95 = median_p95_ms(page_samples)
    floor_med, floor_p95 = median_p95_ms(floor_samples)
    with own_transaction(app) as session:
        counts = session.execute(
            text(
                "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM alert_recipients), "
                "(SELECT count(*) FROM alert_recipients WHERE school_id = :s)"
            ),
            {"s": school_id},
        ).one()
    engine(app).dispose()
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(
        f"\n{counts[0]:,} alerts, {counts[1]:,} inbox rows; the measured school has {counts[2]:,}"
    )
    print("query plan:", " | ".join(line.strip() for line in plan[:3]), "...", plan[-1].strip())
    print(f"load average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} cores")
    print(
        table(
            ["measure", "median ms", "p95 ms", "p95 ratio", "CPU ms", "CPU ratio"],
            [
                [
                    "GET /alerts (server time)",
                    page_med,
                    page_p95,
                    page_p95 / floor_p95,
                    page_cpu,
                    page_cpu / floor_cpu,
                ],
                ["floor: raw query + bare render", floor_med, floor_p95, 1.0, floor_cpu, 1.0],
                ["  inbox query, raw SQL", *median_p95_ms(sql_samples), "", sql_cpu, ""],
                [
                    "  bare render of the 25 rows",
                    *median_p95_ms(render_samples),
                    "",
                    render_cpu,
                    "",
                ],
            ],
        )
    )
    print(f"target: p95 ratio at most 2; {page_p95 / floor_p95:.2f}")


if __name__ == "__main__":
    main()
