"""The OpenAPI document describes exactly the API there is, and schemathesis
drives every operation with generated requests (valid and invalid), alone and
chained along the document's links (stateful): no server error, and every
response (problems included) matches the document."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.errors import FlakyStrategyDefinition

from network.api import openapi
from network.audit import api as audit_api
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


def test_the_documents_links_lead_to_operations_it_describes(client):
    document = client.get(f"{API}/openapi.json").get_json()
    operations = {
        operation["operationId"]: operation
        for operations in document["paths"].values()
        for operation in operations.values()
    }
    followed = set()
    for operation in operations.values():
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target = operations[link["operationId"]]
                names = {p["name"] for p in target.get("parameters", [])}
                assert set(link["parameters"]) <= names, link
                followed.add(link["operationId"])
    # A posted alert leads to everything done with one; a subscription likewise.
    assert {"readAlert", "acknowledge", "reply", "resolve", "forward"} <= followed
    assert {"getSubscription", "changeSubscription", "deleteSubscription"} <= followed


# The platforms migrations 0003 and 0012 seed: the document served by a fresh hub is
# exactly the one kept in docs/openapi.json (checked below and by the fixture),
# so the generated requests are the served document's.
SEEDED_PLATFORMS = [
    "facebook",
    "whatsapp",
    "instagram",
    "tiktok",
    "snapchat",
    "x",
    "youtube",
    "roblox",
    "discord",
    "telegram",
    "threads",
    "other",
]
KEPT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REWRITE = "ALERTNET_REWRITE_OPENAPI"


def _kept_text(document):
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_served_document_is_the_one_written_from_the_code_and_kept_in_docs(app, client):
    """The hub serves the document openapi.py writes from the views, their models
    and the URL map; docs/openapi.json is that document (so a change to the API
    shows in review as a diff of it); every API route is in it, with its scope."""
    served = client.get(f"{API}/openapi.json").get_json()
    written = openapi.document(app, SEEDED_PLATFORMS)
    assert served == written
    if os.environ.get(REWRITE):
        KEPT.write_text(_kept_text(written), encoding="utf-8")
    assert KEPT.read_text(encoding="utf-8") == _kept_text(written), (
        f"docs/openapi.json is not what the code writes: rewrite it with {REWRITE}=1 "
        "pytest tests/network/test_api_openapi.py -k kept_in_docs, and review its diff"
    )
    declared = _declared_scopes(app)
    assert _documented(served) == set(declared)
    for (path, method), scope in declared.items():
        operation = served["paths"][path.removeprefix(API)][method.lower()]
        if scope is None:  # a public operation
            assert operation["security"] == [], (method, path)
        assert operation.get("x-alertnet-scope") == (scope and str(scope)), (method, path)


def test_the_audit_entries_are_paged_as_the_document_says(client):
    document = client.get(f"{API}/openapi.json").get_json()
    parameters = document["paths"]["/audit/entries"]["get"]["parameters"]
    [limit] = [p for p in parameters if p["name"] == "limit"]
    assert (limit["schema"]["maximum"], limit["schema"]["default"]) == (
        audit_api.MAX_ENTRIES,
        audit_api.DEFAULT_ENTRIES,
    )


schema = schemathesis.openapi.from_dict(json.loads(KEPT.read_text(encoding="utf-8")))


class _ThisTestsHub:
    """The WSGI app schemathesis calls: each test's own hub, with its token and
    the other schools of its cluster, set by the fixture (the schema is loaded
    once, at collection, before any hub exists)."""

    app = None
    token = ""
    recipients: list[str] = []

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


_hub = _ThisTestsHub()
schema.app = _hub


@schema.auth(refresh_interval=None)
class _TheHubsToken:
    """The fixture's token is the one real credential: schemathesis also checks
    that the hub refuses each operation without it, and with a made-up one."""

    def get(self, case, ctx):
        return _hub.token

    def set(self, case, data, ctx):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


_POSTS = frozenset({"POST /alerts", "POST /alerts/{alert_id}/forward"})


@schema.hook("flatmap_case")
def _some_posts_name_this_clusters_schools(context, case):
    """Generated school ids are random, so the hub refuses every post as being
    to schools outside the cluster (a documented 422): no alert would ever be
    posted, and the links after a post would lead nowhere. Half the valid posts
    name the cluster's real schools instead, without the parts the document
    cannot make valid (web addresses, evidence files, the coordinator, who has
    not joined); the other half are fuzzed whole."""
    if (
        context.operation is None
        or context.operation.label not in _POSTS
        or not case.meta.generation.mode.is_positive
        or not isinstance(case.body, dict)
    ):
        return st.just(case)

    def addressed(real: bool):
        if real:
            case.body = {
                **{k: v for k, v in case.body.items() if k not in ("links", "attachments")},
                "schools": list(_hub.recipients),
                "include_coordinator": False,
            }
        return case

    return st.booleans().map(addressed)


# A fixed number of examples per operation and of chained scenarios, generated
# from a fixed seed (derandomize): the same requests every run, about two
# minutes in all on two cores.
EXAMPLES_PER_OPERATION = 50
SCENARIOS = 200
STEPS_PER_SCENARIO = 6
schema.config.generation.update(max_examples=EXAMPLES_PER_OPERATION)
# Schema-valid bodies can still name schools outside the caller's cluster or
# alerts that do not exist: the hub's answer then is a documented 404 or 422,
# not an acceptance, so "valid data should be accepted" does not apply here.
schema.config.checks.update(excluded_check_names=["positive_data_acceptance"])
# A body made invalid by being too long (too many schools, a note past its
# limit) can pass the hub's byte limit first: 413 is then the documented
# refusal, as much a rejection as a 422.
schema.config.checks.negative_data_rejection.expected_statuses = [
    *schema.config.checks.negative_data_rejection.expected_statuses,
    "413",
]
schema.config.phases.update(phases=["examples", "coverage", "fuzzing", "stateful"])


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
    assert served == openapi.document(app, SEEDED_PLATFORMS) == json.loads(KEPT.read_text())
    _hub.app = app
    _hub.token = issue_token(app, heads[0].person.email)
    _hub.recipients = [str(head.school.id) for head in heads[1:]]
    yield app
    _hub.app = None
    engine(app).dispose()


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_conforms_to_the_document(case, hub):
    case.call_and_validate()


@pytest.mark.slow
def test_chains_of_calls_along_the_documents_links_conform(hub):
    """Stateful: each scenario chains calls along the document's links (post an
    alert, then read, acknowledge, reply to, act on, resolve or forward it; make
    a subscription, then read, change or delete it; ...) with the ids the hub
    answered, and checks every answer as the test above does."""
    started = []

    class Chains(schema.as_state_machine()):
        def setup(self) -> None:
            started.append(True)

    for _restart in range(10):
        try:
            Chains.run(
                settings=settings(
                    max_examples=SCENARIOS - len(started),
                    stateful_step_count=STEPS_PER_SCENARIO,
                    derandomize=True,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                )
            )
            break
        except FlakyStrategyDefinition:
            # The hub keeps what earlier scenarios did, so a call Hypothesis
            # replays can answer differently and offer other links; that says
            # nothing about the hub: go on with fresh scenarios.
            if len(started) >= SCENARIOS:
                break
    assert len(started) >= SCENARIOS
