"""Posting an alert to 1, 30 and 500 schools, beside the cryptography alone.

For each audience size it prints the median and p95 time of
``network.alerts.posting.post_alert`` in its own committed transaction
(validation, sealing, one wrap row and one inbox row per school, the audit
entry, the commit), beside ``crypto.envelope.seal`` to the same schools with
their public keys parsed from bytes as the hub does, and the ratio.

Run: ``python bench/post.py [--database-url postgresql://postgres@127.0.0.1:5432/alertnet_bench]``
(default: SQLite in a temporary folder; a PostgreSQL URL names a database that
is dropped and created afresh).
"""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime

from _support import fresh_database, make_app, median_p95_ms, table, timings
from sqlalchemy import select

from crypto import envelope
from crypto.keys import SchoolKeys, SchoolPublicKeys
from network.alerts import posting
from network.alerts.content import AlertContent
from network.db import engine, own_transaction
from schools import directory, invitations, keyring
from schools.models import Member, Role, School, SchoolKeyGeneration

SIZES = (1, 30, 500)
REPETITIONS = {1: 40, 30: 20, 500: 6}


def build(app, schools: int):
    with own_transaction(app) as session:
        cluster = directory.create_cluster(session, None, "Bench cluster")
        sender_school = directory.admit_school(session, None, cluster, "Sender", "800000", "")
        invited = invitations.invite(
            session, None, Role.HEAD, "head@sender.example.org", school=sender_school
        )
        accepted = invitations.accept_invitation(
            session,
            invited.token,
            "Sender Head",
            "bench passphrase 1234",
            "bench passphrase 1234",
            app.config["ALERTNET"].password_params,
        )
        for number in range(schools):
            school = directory.admit_school(
                session, None, cluster, f"School {number:03d}", f"{810000 + number}", ""
            )
            keyring.publish_generation(session, school, SchoolKeys.generate(1), None, None, "bench")
        return accepted.member.id, accepted.credential, cluster.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = fresh_database(args.database_url)
    app = make_app(url)
    member_id, credential, _ = build(app, max(SIZES))
    with own_transaction(app) as session:
        sender_keys = keyring.unlock_for_member(session, session.get(Member, member_id), credential)
    draft_content = AlertContent("Bench alert", "x" * 1000)
    rows = []
    for size in SIZES:
        with own_transaction(app) as session:
            school_ids = tuple(
                session.scalars(
                    select(School.id)
                    .where(School.name.like("School %"))
                    .order_by(School.name)
                    .limit(size)
                )
            )
            blobs: dict[uuid.UUID, bytes] = dict(
                session.execute(
                    select(SchoolKeyGeneration.school_id, SchoolKeyGeneration.public_keys).where(
                        SchoolKeyGeneration.school_id.in_(school_ids)
                    )
                ).all()
            )

        def post(school_ids: tuple[uuid.UUID, ...] = school_ids) -> None:
            with own_transaction(app) as session:
                member = session.get(Member, member_id)
                keys = keyring.unlock_for_member(session, member, credential)
                draft = posting.AlertDraft(
                    "harassment", "high", "instagram", "AMBER", draft_content, "schools", school_ids
                )
                posting.post_alert(session, member, keys, draft)

        def seal_only(
            school_ids: tuple[uuid.UUID, ...] = school_ids, blobs: dict[uuid.UUID, bytes] = blobs
        ) -> None:
            # Public keys parsed from bytes each time: what a request without the
            # hub's parsed-key cache would pay.
            recipients = {
                envelope.Recipient(str(s), 1): SchoolPublicKeys.from_bytes(blobs[s])
                for s in school_ids
            }
            header = envelope.Header(
                version=1,
                alert_id=envelope.new_alert_id(),
                cluster="c",
                sender_school="s",
                sender_generation=sender_keys.generation,
                sender_member="m",
                created_at=datetime.now(UTC),
                kind="alert",
                parent=None,
                category="harassment",
                severity="high",
                platform="instagram",
                tlp="AMBER",
                recipients=tuple(recipients),
            )
            envelope.seal(header, draft_content.to_bytes(), recipients, sender_keys)

        post_med, post_p95 = median_p95_ms(timings(post, REPETITIONS[size]))
        seal_med, seal_p95 = median_p95_ms(timings(seal_only, REPETITIONS[size]))
        rows.append([size, post_med, post_p95, seal_med, seal_p95, post_med / seal_med])
    engine(app).dispose()
    print(f"post_alert vs seal on {url.split('://')[0]} (ms; same run)")
    print(
        table(["schools", "post median", "post p95", "seal median", "seal p95", "post/seal"], rows)
    )


if __name__ == "__main__":
    main()
