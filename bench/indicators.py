"""Finding the alerts that share an indicator with one alert, at a million
indicator rows, beside the same query as raw SQL.

Builds a cluster of three schools with real keys, posts one real alert naming
a link, an account and a group (which makes the cluster's correlation key),
then bulk-inserts ``--rows`` indicator rows (four per metadata-only alert,
random hashes) and ``--matches`` alerts carrying the real alert's hashes. It
then times, for a recipient school opening the real alert:

- the service (network/alerts/indicators.py ``correlations``) as a signed-in
  browser runs it: the correlation keys taken from the login session's sealed
  copy (opened with the cookie's key), the alert's indicators hashed under
  each, and one statement: the indexed query with the stamp of the school's
  wraps (schools/session_correlation.py);
- the same service without a session's keys (an API token): the school's
  wraps read and each generation unwrapped (X-Wing), then the query;
- three raw baselines, each the SQL the page's query is (for the reader: a
  head, so copies at the "all" and "leadership" tiers, and not withdrawn from
  the thread; the alert and the one it forwards left out) without the
  lookup's stamp of the school's wraps:

  1. ``raw text()``: written as raw SQL and run by ``session.execute(text())``
     (the issue's "raw query", as the bench has always run it), the rows as
     the driver gives them: on PostgreSQL a UUID and an aware datetime per
     row, on SQLite their text;
  2. ``raw text(), typed``: the same with its columns typed ``Uuid`` and
     ``UTCDateTime``, so that on SQLite too it returns the values the page
     needs (on PostgreSQL it only adds UTCDateTime's conversion per row);
  3. ``raw, driver SQL``: the same SQL run as the hub now runs its own, by
     ``exec_driver_sql`` (network/driver_sql.py), and on SQLite its id and
     date made a UUID and an aware UTC datetime as the hub makes them: the
     like-for-like floor;

and prints median and p95 in milliseconds, each one's ratio to each baseline,
and the median CPU time this process spent on each with its ratios
(measured in separate calls: what other jobs on a shared machine do not
inflate). Only the bare DBAPI cursor is cheaper than the third, and the hub
does not use it (it would bypass the connection's events).

Run: ``python bench/indicators.py [--database-url postgresql://...] [--rows 1000000]``
(SQLite in a temporary folder without ``--database-url``); ``--reuse`` measures
the database a previous run built. Figures: docs/alerts.md, "Speed".
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _support import fresh_database, make_app, median_p95_ms, table, timings
from sqlalchemy import Boolean, LargeBinary, String, Uuid, bindparam, insert, text

from crypto.custody import FAST_FOR_TESTS
from network.alerts import indicators, posting
from network.alerts.content import AlertContent, Link
from network.alerts.keychain import Keychain
from network.alerts.models import Alert, AlertIndicator, AlertRecipient
from network.db import own_transaction
from schools import accounts, directory, invitations, keyring
from schools.db import UTCDateTime
from schools.models import Role
from schools.session_correlation import SessionCorrelation

PASSWORD = "bench passphrase 1234"
PER_ALERT = 4
BATCH = 20_000
ROUNDS = 5

#: The page's query for a head (both tiers; not withdrawn from the thread),
#: as raw SQL; ``{hashes}`` is the list's placeholders.
RAW = """
SELECT ai.hash, a.id, s.name, a.created_at, ar.alert_id IS NOT NULL AS openable
FROM alert_indicators ai
JOIN alerts a ON a.id = ai.alert_id
JOIN schools s ON s.id = a.sender_school_id
LEFT JOIN alert_recipients ar
  ON ar.alert_id = a.id AND ar.school_id = {school} AND ar.tier IN ('all', 'leadership')
  AND NOT EXISTS (SELECT 1 FROM thread_exclusions te
                  WHERE te.alert_id = ar.alert_id AND te.member_id = {reader})
WHERE ai.hash IN {hashes} AND ai.alert_id NOT IN ({alert}, {forwarded_from})
  AND (a.forwarded_from_id IS NULL OR a.forwarded_from_id != {alert})
  AND a.status != 'shredded'
ORDER BY a.created_at DESC
"""
_NAMED = {n: f":{n}" for n in ("school", "reader", "alert", "forwarded_from", "hashes")}


def build(app, rows: int, matches: int) -> tuple[uuid.UUID, str]:
    """The real alert's id and the email of a recipient school's head."""
    settings = app.config["ALERTNET"]
    with own_transaction(app) as session:
        cluster = directory.create_cluster(session, None, "Bench cluster")
        heads = []
        for number in range(3):
            school = directory.admit_school(
                session, None, cluster, f"School {number}", f"{800000 + number}", ""
            )
            invited = invitations.invite(
                session, None, Role.HEAD, f"head{number}@bench.example.org", school=school
            )
            invitations.accept_invitation(
                session,
                invited.token,
                f"Head {number}",
                PASSWORD,
                PASSWORD,
                settings.password_params,
            )
            heads.append((f"head{number}@bench.example.org", school.id))
        member, credential = accounts.authenticate(session, heads[0][0], PASSWORD, FAST_FOR_TESTS)
        keys = keyring.unlock_for_member(session, member, credential)
        draft = posting.AlertDraft(
            "harassment",
            "high",
            "facebook",
            "AMBER",
            AlertContent(
                "Gossip page",
                links=(Link("https://facebook.example.com/groups/gossip?utm_source=x"),),
                accounts=("@riverside_gossip",),
                groups=("Riverside parents chat",),
            ),
            "schools",
            (heads[1][1], heads[2][1]),
        )
        real = posting.post_alert(session, member, keys, draft).alert
        real_hashes = indicators.stored_hashes(session, real.id)
        cluster_id, sender_member = cluster.id, member.id
    school_ids = [school for _, school in heads]
    n_alerts = rows // PER_ALERT
    print(f"writing {n_alerts:,} alerts with {rows:,} indicator rows ...", flush=True)
    start = time.perf_counter()
    rng = random.Random(21)
    base = datetime.now(UTC) - timedelta(days=365)
    matching = set(rng.sample(range(n_alerts), matches))
    for first in range(0, n_alerts, BATCH):
        alerts, copies, hashes = [], [], []
        for number in range(first, min(first + BATCH, n_alerts)):
            alert_id = uuid.uuid4()
            sender = rng.choice(school_ids)
            created = base + timedelta(seconds=number * 30)
            alerts.append(
                {
                    "id": alert_id,
                    "cluster_id": cluster_id,
                    "sender_school_id": sender,
                    "sender_member_id": sender_member,
                    "sender_generation": 1,
                    "category": "harassment",
                    "severity": "medium",
                    "platform": "facebook",
                    "tlp": "AMBER",
                    "status": "open",
                    "created_at": created,
                    "expires_at": created + timedelta(days=3650),
                    "recipient_count": 1,
                    "attachment_count": 0,
                    "size": 1000,
                    "envelope_hash": b"\0" * 32,
                }
            )
            recipient = rng.choice([s for s in school_ids if s != sender])
            for school, is_sender in ((sender, True), (recipient, False)):
                copies.append(
                    {
                        "alert_id": alert_id,
                        "school_id": school,
                        "is_sender": is_sender,
                        "created_at": created,
                        "cluster_id": cluster_id,
                        "severity": "medium",
                    }
                )
            digests = {os.urandom(32) for _ in range(PER_ALERT)}
            if number in matching:
                digests = {*list(digests)[: PER_ALERT - 1], rng.choice(real_hashes)}
            hashes += [{"alert_id": alert_id, "hash": h, "generation": 1} for h in digests]
        with own_transaction(app) as session:
            session.execute(insert(Alert), alerts)
            session.execute(insert(AlertRecipient), copies)
            session.execute(insert(AlertIndicator), hashes)
    print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
    with own_transaction(app) as session:
        session.execute(text("ANALYZE"))
    return real.id, heads[1][0]


def _built(app) -> tuple[uuid.UUID, str]:
    """The real alert of a database ``build`` made (the only one with an
    envelope hash) and its reader."""
    with own_transaction(app) as session:
        alert_id = session.execute(
            text("SELECT id FROM alerts WHERE envelope_hash != :zero"), {"zero": b"\0" * 32}
        ).scalar_one()
    return uuid.UUID(str(alert_id)), "head1@bench.example.org"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--matches", type=int, default=40)
    parser.add_argument("--repetitions", type=int, default=21)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database a previous run built (--database-url), without rebuilding it",
    )
    args = parser.parse_args()
    if args.reuse:
        app = make_app(args.database_url)
        alert_id, reader_email = _built(app)
    else:
        app = make_app(fresh_database(args.database_url))
        alert_id, reader_email = build(app, args.rows, args.matches)

    with own_transaction(app) as session:
        count = session.execute(text("SELECT count(*) FROM alert_indicators")).scalar()
        member, credential = accounts.authenticate(session, reader_email, PASSWORD, FAST_FOR_TESTS)
        keys = keyring.unlock_for_member(session, member, credential)
        school = member.school
        assert school is not None
        alert = session.get(Alert, alert_id)
        assert alert is not None
        content = AlertContent(
            "Gossip page",
            links=(Link("https://facebook.example.com/groups/gossip"),),
            accounts=("riverside_gossip",),
            groups=("riverside parents chat",),
        )
        # The page passes the reader (network/alerts/reading.py): their tiers
        # (a head: "all" and "leadership") and their withdrawals count.
        keychain = Keychain(session, school.id, keys)
        found = indicators.correlations(
            session, school, keychain.for_generation, alert, content, member
        )
        matched = sum(len(c.matches) for c in found)
        # The reader's browser session: its row seals the keys it opens once.
        signed = accounts.start_session(session, member, credential)
        held = accounts.session_keys(signed.login, signed.vault_key)
        assert held is not None

        def in_session() -> list[indicators.Correlation]:
            return indicators.correlations(
                session,
                school,
                Keychain(session, school.id, held).for_generation,
                alert,
                content,
                member,
                kept=SessionCorrelation(signed.login, signed.vault_key),
            )

        assert in_session() == found  # the first opens the wraps and seals them
        session.flush()
        assert signed.login.correlation_vault is not None

        def service() -> object:
            return indicators.correlations(
                session,
                school,
                Keychain(session, school.id, keys).for_generation,
                alert,
                content,
                member,
            )

        hashes = indicators.stored_hashes(session, alert_id)
        values = {
            "hashes": hashes,
            "school": school.id,
            "reader": member.id,
            "alert": alert_id,
            "forwarded_from": alert_id,
        }
        uuids = {name: Uuid() for name in ("school", "reader", "alert", "forwarded_from")}
        raw = text(RAW.format(**_NAMED)).bindparams(
            bindparam("hashes", expanding=True),
            *(bindparam(name, type_=kind) for name, kind in uuids.items()),
        )
        # The same raw SQL, its columns typed as the hub needs them: a UUID and
        # an aware UTC datetime per row (on SQLite the driver returns strings;
        # the page and the API need the values), made by the same processors.
        typed = raw.columns(
            hash=LargeBinary, id=Uuid, name=String, created_at=UTCDateTime, openable=Boolean
        )
        connection = session.connection()
        driver_sql, driver_values = _driver_form(connection, values)
        sqlite = connection.dialect.name == "sqlite"

        def baseline() -> object:
            return session.execute(raw, values).all()

        def typed_baseline() -> object:
            return session.execute(typed, values).all()

        def driver_baseline() -> object:
            rows = connection.exec_driver_sql(driver_sql, driver_values).cursor.fetchall()
            if not sqlite:  # PostgreSQL's values are the page's already
                return rows
            return [
                (h, uuid.UUID(i), n, datetime.fromisoformat(t + "+00:00"), bool(o))
                for h, i, n, t, o in rows
            ]

        wanted = sorted((m.alert_id, m.sent_at) for c in found for m in c.matches)
        for action in (typed_baseline, driver_baseline):
            rows = action()
            assert sorted((r[1], r[3]) for r in rows) == wanted  # type: ignore[attr-defined]
        assert len(baseline()) == matched == args.matches, (len(baseline()), matched)  # type: ignore[arg-type]

        measured = (
            ("1. raw text() (the issue's raw query)", baseline),
            ("2. raw text(), typed", typed_baseline),
            ("3. raw, driver SQL, page's values (floor)", driver_baseline),
            ("correlations, session's keys (one statement)", in_session),
            ("correlations, wraps unwrapped (API token)", service),
        )
        # Rounds taken in turn, so that neither side gets the quieter moments
        # of a shared machine.
        samples: dict[str, list[float]] = {name: [] for name, _ in measured}
        cpu: dict[str, list[float]] = {name: [] for name, _ in measured}
        for _ in range(ROUNDS):
            for name, action in measured:
                samples[name] += timings(action, args.repetitions)
                cpu[name] += _cpu_times(action, args.repetitions)
        results = {name: median_p95_ms(values) for name, values in samples.items()}
        cpu_ms = {name: median_p95_ms(values)[0] for name, values in cpu.items()}
    bases = [results[name][0] for name, _ in measured[:3]]
    cpu_bases = [cpu_ms[name] for name, _ in measured[:3]]
    print(
        f"\n{count:,} indicator rows on {app.config['ALERTNET'].database_url.split(':')[0]}; "
        f"{matched} alerts share an indicator with the one opened; "
        f"load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}\n"
        "ratios: to 1 (raw SQL by text(), the driver's values), 2 (the same typed: "
        "UUIDs and aware UTC dates), 3 (the same SQL by exec_driver_sql as the hub "
        "runs its own, the page's values: the floor)\n"
    )
    print(
        table(
            ["measured", "median ms", "p95 ms", "to 1", "to 2", "to 3", "CPU ms"]
            + [f"CPU to {n}" for n in (1, 2, 3)],
            [
                [name, med, p95, *(med / b for b in bases), cpu_ms[name]]
                + [cpu_ms[name] / b for b in cpu_bases]
                for name, (med, p95) in results.items()
            ],
        )
    )


def _driver_form(connection, values: dict) -> tuple[str, object]:
    """RAW in the driver's own placeholders (pyformat on PostgreSQL, qmark on
    SQLite) with its values as the driver takes them (SQLite: UUIDs as hex)."""
    hashes = values["hashes"]
    if connection.dialect.paramstyle == "pyformat":
        listed = "(" + ", ".join(f"%(h{n})s" for n in range(len(hashes))) + ")"
        names = {n: f"%({n})s::uuid" for n in _NAMED if n != "hashes"}
        sql = RAW.format(hashes=listed, **names)
        return sql, {**values, **{f"h{n}": h for n, h in enumerate(hashes)}}
    order: list[str] = []

    def place(match: re.Match[str]) -> str:
        order.append(match[1])
        return "(" + ", ".join("?" * len(hashes)) + ")" if match[1] == "hashes" else "?"

    sql = re.sub(r"\{(\w+)\}", place, RAW)
    made: list[object] = []
    for name in order:
        made += hashes if name == "hashes" else [values[name].hex]
    return sql, tuple(made)


def _cpu_times(action, repetitions: int) -> list[float]:
    """This process's CPU time per call: the client side's own work (building
    the statement, converting rows, crypto), which other jobs on a shared
    machine do not inflate; the database server's time is not in it."""
    samples = []
    for _ in range(repetitions):
        start = time.process_time()
        action()
        samples.append(time.process_time() - start)
    return samples


if __name__ == "__main__":
    main()
