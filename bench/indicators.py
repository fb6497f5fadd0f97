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
- the query alone, as the hub issues it (``matching_alerts``);
- the same query written as raw SQL (the baseline), the rows as the driver
  gives them through SQLAlchemy: on PostgreSQL a UUID and an aware datetime
  per row, on SQLite their text;
- the same raw SQL with its columns typed (``Uuid``, ``UTCDateTime``), so that
  on SQLite too it returns the values the page and the API need: the
  like-for-like baseline (on PostgreSQL it differs from the first only by
  ``UTCDateTime``'s conversion of each date);

and prints median and p95 in milliseconds, each one's ratio to both baselines,
and the median CPU time this process spent on each with its ratio to the
typed baseline's (measured in separate calls: what other jobs on a shared
machine do not inflate).

Run: ``python bench/indicators.py [--database-url postgresql://...] [--rows 1000000]``
(SQLite in a temporary folder without ``--database-url``); ``--reuse`` measures
the database a previous run built. Figures: docs/alerts.md, "Speed".
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

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

RAW = """
SELECT ai.hash, a.id, s.name, a.created_at, ar.alert_id IS NOT NULL AS openable
FROM alert_indicators ai
JOIN alerts a ON a.id = ai.alert_id
JOIN schools s ON s.id = a.sender_school_id
LEFT JOIN alert_recipients ar
  ON ar.alert_id = a.id AND ar.school_id = :school AND ar.tier IN ('all')
WHERE ai.hash IN :hashes AND ai.alert_id NOT IN (:alert)
  AND (a.forwarded_from_id IS NULL OR a.forwarded_from_id != :alert)
  AND a.status != 'shredded'
ORDER BY a.created_at DESC
"""


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
        keychain = Keychain(session, school.id, keys)
        found = indicators.correlations(session, school, keychain.for_generation, alert, content)
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
                kept=SessionCorrelation(signed.login, signed.vault_key),
            )

        assert in_session() == found  # the first opens the wraps and seals them
        session.flush()
        assert signed.login.correlation_vault is not None
        hashes = indicators.stored_hashes(session, alert_id)
        raw = text(RAW).bindparams(
            bindparam("hashes", expanding=True),
            bindparam("school", type_=Uuid()),
            bindparam("alert", type_=Uuid()),
        )
        raw_rows = session.execute(
            raw, {"hashes": hashes, "school": school.id, "alert": alert_id}
        ).all()
        assert len(raw_rows) == matched == args.matches, (len(raw_rows), matched)

        def service() -> object:
            return indicators.correlations(
                session, school, Keychain(session, school.id, keys).for_generation, alert, content
            )

        def query() -> object:
            return indicators.matching_alerts(session, school.id, alert_id, hashes)

        def baseline() -> object:
            return session.execute(
                raw, {"hashes": hashes, "school": school.id, "alert": alert_id}
            ).all()

        # The same raw SQL, its columns typed as the hub needs them: a UUID and
        # an aware UTC datetime per row (on SQLite the driver returns strings;
        # the page and the API need the values), made by the same processors.
        typed = raw.columns(
            hash=LargeBinary, id=Uuid, name=String, created_at=UTCDateTime, openable=Boolean
        )
        typed_rows = session.execute(
            typed, {"hashes": hashes, "school": school.id, "alert": alert_id}
        ).all()
        assert sorted((r[1], r[3]) for r in typed_rows) == sorted(
            (m.alert_id, m.sent_at) for c in found for m in c.matches
        )

        def typed_baseline() -> object:
            return session.execute(
                typed, {"hashes": hashes, "school": school.id, "alert": alert_id}
            ).all()

        measured = (
            ("raw SQL (baseline)", baseline),
            ("raw SQL, typed (like for like)", typed_baseline),
            ("matching_alerts (the query)", query),
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
    base = results["raw SQL (baseline)"][0]
    like = results["raw SQL, typed (like for like)"][0]
    cpu_like = cpu_ms["raw SQL, typed (like for like)"]
    print(
        f"\n{count:,} indicator rows on {app.config['ALERTNET'].database_url.split(':')[0]}; "
        f"{matched} alerts share an indicator with the one opened\n"
    )
    print(
        table(
            [
                "measured",
                "median ms",
                "p95 ms",
                "ratio to raw",
                "ratio to typed",
                "CPU ms (this process)",
                "CPU ratio to typed",
            ],
            [
                [name, med, p95, med / base, med / like, cpu_ms[name], cpu_ms[name] / cpu_like]
                for name, (med, p95) in results.items()
            ],
        )
    )


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
