"""Finding entries of the audit log within a reader's scope (network/audit/search.py)."""

from __future__ import annotations

import uuid

from crypto.custody import FAST_FOR_TESTS
from network.audit.search import member_in_scope
from network.db import own_transaction
from schools import directory, invitations
from schools.models import Role
from schools.policy import AuditScope


def test_member_in_scope_matches_the_stored_normalised_address(app):
    with own_transaction(app) as session:
        cluster = directory.create_cluster(session, None, "Cluster")
        school = directory.admit_school(session, None, cluster, "Oakfield", "123456", "")
        invited = invitations.invite(
            session, None, Role.HEAD, " Head@Oak.Example.org", school=school
        )
        password = "a long enough test passphrase"
        head = invitations.accept_invitation(
            session, invited.token, "Amara", password, password, FAST_FOR_TESTS
        ).member
        assert head.email == "head@oak.example.org"
        scope = AuditScope(school_id=school.id, cluster_id=cluster.id)
        assert member_in_scope(session, scope, "  HEAD@oak.example.ORG ") is head
        assert member_in_scope(session, scope, "nobody@oak.example.org") is None
        elsewhere = AuditScope(school_id=uuid.uuid4(), cluster_id=cluster.id)
        assert member_in_scope(session, elsewhere, "head@oak.example.org") is None
