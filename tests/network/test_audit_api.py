"""The audit log's JSON API: proofs that verify against signed checkpoints,
scoped entries, RFC 9457 problems for every refusal, and O(log n) reads."""

from __future__ import annotations

import base64
import hashlib
from functools import partial

import pytest
from sqlalchemy import select

from crypto import merkle
from crypto.checkpoint import NoteVerifier, open_checkpoint
from network.api.audit_contract import AuditLeaves
from network.audit import signer
from network.audit.receipts import receipt_for
from network.audit.search import EntryFilter, entries_page
from network.cli import main
from network.db import engine, own_transaction
from schools import audit
from schools.audit import leaf, tree, verify
from schools.audit.models import AuditEvent
from schools.policy import AuditScope
from tests.factories import client_for
from tests.network.api_helpers import assert_problem as assert_api_problem
from tests.schools.test_audit import build_large_log, counting_statements, tamper

PROBLEM_KEYS = {"type", "title", "status", "detail"}


def b64(text: str) -> bytes:
    return base64.b64decode(text)


def pinned(client) -> tuple[NoteVerifier, str]:
    key = client.get("/api/v1/audit/key").get_json()
    return NoteVerifier.from_vkey(key["vkey"]), key["origin"]


# The audit API's problems carry these keys and no others.
assert_problem = partial(assert_api_problem, keys=PROBLEM_KEYS)


def test_the_key_is_public_and_pins_the_checkpoints(app, client, riverside):
    verifier, origin = pinned(client)
    assert origin == "127.0.0.1:5000/audit"
    head = client_for(app, riverside.head)
    checkpoint = head.get("/api/v1/audit/checkpoint").get_json()
    signed = open_checkpoint(checkpoint["note"].encode(), verifier, origin)
    with own_transaction(app) as session:
        size = tree.tree_size(session)
    assert (signed.size, base64.b64encode(signed.root).decode()) == (size, checkpoint["root"])
    assert checkpoint["size"] == size
    assert checkpoint["origin"] == origin


def test_every_entry_a_head_sees_has_an_inclusion_proof_against_the_signed_checkpoint(
    app, riverside
):
    client = client_for(app, riverside.head)
    verifier, origin = pinned(client)
    listing = client.get("/api/v1/audit/entries").get_json()
    assert listing["entries"]
    for entry in listing["entries"]:
        leaf = merkle.leaf_hash(entry["leaf"].encode())
        assert base64.b64encode(leaf).decode() == entry["leaf_hash"]
        proof = client.get(f"/api/v1/audit/proofs/inclusion?seq={entry['seq']}").get_json()
        signed = open_checkpoint(proof["checkpoint"]["note"].encode(), verifier, origin)
        assert proof["tree_size"] == signed.size
        merkle.verify_inclusion(
            leaf, entry["seq"], signed.size, [b64(h) for h in proof["proof"]], signed.root
        )


def test_an_inclusion_proof_against_an_older_tree_size(app, riverside):
    client = client_for(app, riverside.head)
    entry = client.get("/api/v1/audit/entries?limit=1").get_json()["entries"][0]
    size = entry["seq"] + 1
    proof = client.get(f"/api/v1/audit/proofs/inclusion?seq={entry['seq']}&size={size}").get_json()
    merkle.verify_inclusion(
        b64(entry["leaf_hash"]),
        entry["seq"],
        size,
        [b64(h) for h in proof["proof"]],
        b64(proof["root"]),
    )


def test_a_saved_checkpoint_is_proved_consistent_with_a_later_one(app, riverside, runner):
    client = client_for(app, riverside.head)
    verifier, origin = pinned(client)
    kept = open_checkpoint(
        client.get("/api/v1/audit/checkpoint").get_json()["note"].encode(), verifier, origin
    )
    with own_transaction(app) as session:
        for n in range(9):
            audit.record(session, "test.later", school_id=riverside.oak.id, n=n)
    assert runner.invoke(main, args=["audit", "checkpoint"]).exit_code == 0
    response = client.get(f"/api/v1/audit/proofs/consistency?from={kept.size}").get_json()
    latest = open_checkpoint(response["checkpoint"]["note"].encode(), verifier, origin)
    assert latest.size == kept.size + 9
    merkle.verify_consistency(
        kept.size, latest.size, kept.root, latest.root, [b64(h) for h in response["proof"]]
    )
    explicit = client.get(f"/api/v1/audit/proofs/consistency?from=1&to={kept.size}").get_json()
    merkle.verify_consistency(
        1, kept.size, b64(explicit["from_root"]), kept.root, [b64(h) for h in explicit["proof"]]
    )


@pytest.mark.parametrize(
    ("url", "status", "fragment"),
    [
        ("/api/v1/audit/proofs/inclusion", 400, "'seq' is required"),
        ("/api/v1/audit/proofs/inclusion?seq=abc", 400, "whole number"),
        ("/api/v1/audit/proofs/inclusion?seq=-3", 400, "whole number"),
        ("/api/v1/audit/proofs/inclusion?seq=99999", 404, "There is no entry 99999"),
        ("/api/v1/audit/proofs/inclusion?seq=5&size=5", 400, "more than 5"),
        ("/api/v1/audit/proofs/inclusion?seq=1&size=99999", 400, "at most"),
        ("/api/v1/audit/proofs/inclusion?seq=1&size=0", 400, "at least 1"),
        ("/api/v1/audit/proofs/consistency?from=0", 400, "at least 1"),
        ("/api/v1/audit/proofs/consistency?from=3&to=2", 400, "1 <= old <= new"),
        ("/api/v1/audit/proofs/consistency?from=3&to=99999", 400, "1 <= old <= new"),
        ("/api/v1/audit/proofs/consistency?from=99999999999999999999", 400, "whole number"),
        ("/api/v1/audit/entries?limit=5000", 400, "at most 1000"),
        ("/api/v1/audit/entries?limit=0", 400, "at least 1"),
        ("/api/v1/audit/entries?start=x", 400, "whole number"),
        ("/api/v1/audit/entries?since=tomorrow", 400, "a date like"),
        ("/api/v1/audit/entries?school=not-a-uuid", 400, "must be an id"),
        ("/api/v1/audit/entries/abc", 400, "whole number"),
        ("/api/v1/audit/entries/99999", 404, "no entry 99999"),
        ("/api/v1/audit/leaves?limit=10001", 400, "at most 10000"),
        ("/api/v1/audit/leaves?limit=0", 400, "at least 1"),
        ("/api/v1/audit/leaves?end=-1", 400, "whole number"),
        ("/api/v1/audit/nothing-here", 404, "no audit API endpoint"),
    ],
)
def test_bad_requests_get_problem_documents_never_html(app, riverside, url, status, fragment):
    assert_problem(client_for(app, riverside.head).get(url), status, fragment)


def test_unsafe_methods_get_a_405_problem(app, riverside):
    client = client_for(app, riverside.head)
    response = client.post("/api/v1/audit/checkpoint")
    assert_problem(response, 405, "only answers GET")
    assert response.headers["Allow"] == "GET, HEAD"
    assert_problem(client.delete("/api/v1/audit/entries/1"), 405)


def test_signed_out_callers_get_a_401_problem_not_a_redirect(client, riverside):
    for url in (
        "/api/v1/audit/checkpoint",
        "/api/v1/audit/entries",
        "/api/v1/audit/leaves",
        "/api/v1/audit/x",
    ):
        assert_problem(client.get(url), 401)


def test_staff_get_proofs_but_not_entries(app, riverside):
    client = client_for(app, riverside.staff)
    assert client.get("/api/v1/audit/checkpoint").status_code == 200
    assert client.get("/api/v1/audit/proofs/inclusion?seq=0").status_code == 200
    assert_problem(client.get("/api/v1/audit/entries"), 403)
    assert_problem(client.get("/api/v1/audit/entries/0"), 403)


def test_entries_of_another_cluster_never_reach_a_coordinator(app, riverside):
    client = client_for(app, riverside.far_coordinator)
    seen = []
    url = "/api/v1/audit/entries?limit=7"
    while url:
        page = client.get(url).get_json()
        seen.extend(page["entries"])
        url = f"/api/v1/audit/entries?limit=7&start={page['next']}" if page["next"] else ""
    assert seen
    assert {e["cluster"] for e in seen} == {str(riverside.other.id)}
    with own_transaction(app) as session:
        oak_seq = (
            entries_page(session, AuditScope(school_id=riverside.oak.id), EntryFilter())
            .entries[0]
            .seq
        )
    assert_problem(client.get(f"/api/v1/audit/entries/{oak_seq}"), 404)
    # Proofs are over the whole log: a leaf hash reveals nothing, so they are served.
    assert client.get(f"/api/v1/audit/proofs/inclusion?seq={oak_seq}").status_code == 200


def test_entries_filter_like_the_pages(app, riverside):
    client = client_for(app, riverside.coordinator)
    page = client.get(f"/api/v1/audit/entries?school={riverside.elm.id}&action=member.")
    entries = page.get_json()["entries"]
    assert entries
    assert {e["school"] for e in entries} == {str(riverside.elm.id)}
    assert all(e["action"].startswith("member.") for e in entries)
    actor = client.get(f"/api/v1/audit/entries?actor={riverside.head.member.id}").get_json()
    assert {e["actor"] for e in actor["entries"]} == {str(riverside.head.member.id)}


def test_the_receipt_proves_the_posted_entry_is_in_a_signed_checkpoint(app, riverside):
    with app.app_context(), own_transaction(app) as session:
        head = session.merge(riverside.head.member)
        posted = audit.record(
            session,
            "alert.posted",
            actor=head,
            object_type="alert",
            object_id="f00d",
            envelope_hash=hashlib.sha256(b"e").digest(),
        )
        audit.append_pending(session)
        receipt = receipt_for(session, posted.seq)
        verifier = signer.verifier()
    signed = open_checkpoint(receipt["checkpoint"]["note"].encode(), verifier, verifier.name)
    assert signed.size == posted.seq + 1  # signed in the posting transaction, for it
    merkle.verify_inclusion(
        leaf.entry_leaf_hash(posted),
        posted.seq,
        signed.size,
        [b64(h) for h in receipt["inclusion_proof"]],
        signed.root,
    )
    assert receipt["key"] == verifier.verifier_key()
    with app.app_context():
        assert verify.verify_log(lambda: own_transaction(app), verifier).ok


def test_serving_a_proof_costs_the_same_few_queries_at_any_size(app, riverside):
    client = client_for(app, riverside.head)
    counts = {}
    for size in (1000, (1 << 16) + 321):
        tamper(
            engine(app),
            ("DELETE FROM audit_events", {}),
            ("DELETE FROM audit_subtrees", {}),
            ("DELETE FROM audit_checkpoints", {}),
        )
        store = build_large_log(engine(app), size)
        seq = size // 3
        with counting_statements(engine(app)) as statements:
            response = client.get(f"/api/v1/audit/proofs/inclusion?seq={seq}&size={size}")
        assert response.status_code == 200
        proof = response.get_json()
        merkle.verify_inclusion(
            store.get(0, seq), seq, size, [b64(h) for h in proof["proof"]], store.root()
        )
        counts[size] = len(statements)
    # The request's own reads (the sign-in session, the member) plus the log's
    # size, one query for every subtree the proof needs, and a checkpoint lookup.
    assert counts[1000] == counts[(1 << 16) + 321]
    assert counts[1000] <= 2 * ((1 << 16) + 321).bit_length() + 10


def test_every_recorded_action_is_a_leaf_of_the_tree(app, client, riverside):
    from sqlalchemy import func, select

    from schools.audit.models import AuditEvent, AuditSubtree
    from tests.conftest import sign_in
    from tests.schools.test_audit import stored_leaves

    assert sign_in(client, riverside.head.email, "not the password").status_code == 401
    assert sign_in(client, riverside.head.email).status_code == 302
    with own_transaction(app) as session:
        actions = set(session.scalars(select(AuditEvent.action)))
        leaves = stored_leaves(session)
        size = tree.tree_size(session)
        level_zero = session.scalar(
            select(func.count()).select_from(AuditSubtree).where(AuditSubtree.level == 0)
        )
        assert size == len(leaves) == level_zero
        assert tree.root_at(session, size) == merkle.reference_root(leaves)
    assert {
        "cluster.created",
        "school.admitted",
        "invitation.created",
        "invitation.accepted",
        "member.joined",
        "school.keys_created",
        "member.signed_in",
        "member.sign_in_failed",
    } <= actions


def test_leaves_give_every_position_with_leaf_text_only_in_the_readers_scope(app, riverside):
    """What ``alertnet client audit verify`` rebuilds a checkpoint from: every
    position, hashes for all, leaf text only of the entries the reader may read."""
    with own_transaction(app) as session:
        audit.record(session, "test.oak", school_id=riverside.oak.id)
        audit.record(session, "test.far", school_id=riverside.far.id)
    readers = {
        "head": (riverside.head, lambda e: e.school_id == riverside.oak.id),
        "coordinator": (riverside.coordinator, lambda e: e.cluster_id == riverside.cluster.id),
        "admin": (riverside.admin, lambda e: True),
        "staff": (riverside.staff, lambda e: False),
    }
    clients = {name: client_for(app, person) for name, (person, _) in readers.items()}
    with own_transaction(app) as session:
        size = tree.tree_size(session)
        events = {e.seq: e for e in session.scalars(select(AuditEvent))}
    for name, (_, readable) in readers.items():
        client = clients[name]
        seen, url = [], "/api/v1/audit/leaves?limit=7"
        while url:
            page = client.get(url).get_json()
            AuditLeaves.model_validate(page)  # the answer is what the contract says
            assert page["tree_size"] == size
            assert page["restorations"] == []
            seen.extend(page["leaves"])
            url = f"/api/v1/audit/leaves?limit=7&start={page['next']}" if page["next"] else ""
        assert [item["seq"] for item in seen] == list(range(size)), name
        for item in seen:
            entry = events[item["seq"]]
            expected = leaf.leaf_bytes(entry)
            assert item["present"] is True
            assert b64(item["leaf_hash"]) == merkle.leaf_hash(expected)
            assert item["stored_leaf_hash"] == item["leaf_hash"]
            assert item["leaf"] == (expected.decode() if readable(entry) else None), name


def test_leaves_show_a_deleted_entry_as_missing_and_a_changed_one_as_recomputed(app, riverside):
    with own_transaction(app) as session:
        size = tree.tree_size(session)
    tamper(
        engine(app),
        ("DELETE FROM audit_events WHERE seq = 1", {}),
        ("UPDATE audit_events SET action = 'test.changed' WHERE seq = 2", {}),
    )
    page = client_for(app, riverside.admin).get(f"/api/v1/audit/leaves?end={size + 2}")
    leaves = page.get_json()["leaves"]
    assert [item["seq"] for item in leaves] == list(range(size + 2))
    gone = leaves[1]
    assert (gone["present"], gone["leaf"], gone["leaf_hash"]) == (False, None, None)
    assert gone["stored_leaf_hash"] is not None
    changed = leaves[2]
    assert "test.changed" in changed["leaf"]
    assert changed["leaf_hash"] != changed["stored_leaf_hash"]
    assert b64(changed["leaf_hash"]) == merkle.leaf_hash(changed["leaf"].encode())
    # Past the log's end nothing is stored either.
    assert leaves[-1] == {
        "seq": size + 1,
        "present": False,
        "leaf": None,
        "leaf_hash": None,
        "stored_leaf_hash": None,
    }


def test_leaves_need_the_audit_read_scope(app, riverside):
    from tests.network.api_helpers import api_for

    reader = api_for(app, riverside.head.email, scopes=("inbox:read",))
    assert_problem(reader.get("/api/v1/audit/leaves"), 403, "audit:read")
    auditor = api_for(app, riverside.head.email, scopes=("audit:read",))
    assert auditor.get("/api/v1/audit/leaves").status_code == 200
