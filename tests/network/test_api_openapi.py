"""The OpenAPI document describes exactly the API there is, and schemathesis
drives every operation with generated requests (valid and invalid): no server
error, and every response (problems included) matches the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from network.api import openapi
from network.db import engine
from network.notifications import webhooks
from tests.conftest import World
from tests.network.alerts_helpers import make_head
from tests.network.api_helpers import app_with, issue_token

API = "/api/v1"


def _documented(document):
    return {
        (f"{API}{path}", method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }


def _routed(app):
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(f"{API}/") or rule.endpoint == "api.unknown":
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<uuid:{name}>", f"{{{name}}}").replace(f"<{name}>", f"{{{name}}}")
        found |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_api_route_is_documented_and_nothing_else(app, client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert _documented(document) == _routed(app)
    # Every operation says which scope a token needs, and what its refusals look like.
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation["security"]:
                assert "x-alertnet-scope" in operation, (method, path)
                assert "401" in operation["responses"], (method, path)
    platforms = document["components"]["schemas"]["NewAlert"]["properties"]["platform"]["enum"]
    assert "facebook" in platforms


def _declared_scopes(app):
    """The token scope each routed API view declares (gate.operation, gate.scoped)."""
    declared = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(f"{API}/") or rule.endpoint == "api.unknown":
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<uuid:{name}>", f"{{{name}}}").replace(f"<{name}>", f"{{{name}}}")
        view = app.view_functions[rule.endpoint]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            declared[(path, method)] = getattr(view, "_alertnet_scope", None)
    return declared


def test_the_documented_scope_of_every_operation_is_the_one_its_view_declares(app, client):
    document = client.get(f"{API}/openapi.json").get_json()
    declared = _declared_scopes(app)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            scope = declared[(f"{API}{path}", method.upper())]
            if operation["security"]:
                assert operation["x-alertnet-scope"] == str(scope), (method, path)
            else:
                assert "x-alertnet-scope" not in operation, (method, path)


# The platforms migration 0003 seeds: the document served by a fresh hub is
# exactly this one (checked by the fixture below), so the generated requests
# are the served document's.
SEEDED_PLATFORMS = [
    "facebook",
    "whatsapp",
    "instagram",
    "tiktok",
    "snapchat",
    "x",
    "youtube",
    "other",
]
schema = schemathesis.openapi.from_dict(openapi.document(SEEDED_PLATFORMS))


class _ThisTestsHub:
    """The WSGI app schemathesis calls: each test's own hub, set by the fixture
    (the schema is loaded once, at collection, before any hub exists)."""

    app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


_hub = _ThisTestsHub()
schema.app = _hub
schema.config.generation.update(max_examples=4)
# Schema-valid bodies can still name schools outside the caller's cluster or
# alerts that do not exist: the hub's answer then is a documented 404 or 422,
# not an acceptance, so "valid data should be accepted" does not apply here.
schema.config.checks.update(excluded_check_names=["positive_data_acceptance"])
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])


@pytest.fixture
def hub(database_url, tmp_path, monkeypatch):
    """A hub with a cluster of three schools and a token with every scope. The
    rate limit is lifted (one token makes every call); webhook addresses are
    never resolved (no DNS lookups for generated host names)."""
    app = app_with(
        database_url,
        tmp_path,
        ratelimit_api="100000 per minute",
        ratelimit_sign_in="100000 per minute",
    )

    def refuse(host, port):
        raise webhooks.TargetRefused(f"cannot resolve {host}")

    monkeypatch.setattr(webhooks, "_resolve", refuse)
    world = World(app)
    cluster = world.cluster("Riverside")
    heads = [make_head(app, world, cluster, name) for name in ("Ash", "Beech", "Cedar")]
    served = app.test_client().get(f"{API}/openapi.json").get_json()
    assert served == openapi.document(SEEDED_PLATFORMS)
    _hub.app = app
    schema.config.update(
        headers={"Authorization": f"Bearer {issue_token(app, heads[0].person.email)}"}
    )
    yield app
    _hub.app = None
    engine(app).dispose()


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_conforms_to_the_document(case, hub):
    case.call_and_validate()
