"""Each fixture and each shared helper has one home under tests/.

A fixture copied into a second module drifts from the first, and one that
shadows a conftest's changes what a test gets without its name saying so.
Shared fixtures live in tests/conftest.py (databases, the hub), the factories
plugin tests/factories.py (clusters, schools, people, signed-in clients) and
tests/network/conftest.py (the network tests' cast and test servers)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent

# Fixtures private to their modules that happen to share a name while meaning
# different things. Each is to be renamed once the tests now being written
# against these names have landed; no other name may join this list, and a
# name leaves it as soon as it is defined only once.
HOMONYMS = {
    "heads": {"network/conftest.py", "schools/test_tokens.py"},
    "hub": {"crypto/test_checkpoint.py", "network/test_api_openapi.py"},
    "keys": {"crypto/test_envelope_v2.py", "crypto/test_keys.py"},
    "live": {"network/test_client.py", "network/test_dashboard_health.py"},
    "people": {"network/test_access.py", "schools/test_invitations.py"},
    "riverside": {"network/conftest.py", "network/test_client.py"},
    "story": {"network/test_dashboard_health.py", "network/test_integrity.py"},
}

# Modules whose top-level functions are the shared helpers.
HELPER_HOMES = [
    "conftest.py",
    "factories.py",
    "network/conftest.py",
    "schools/conftest.py",
    "network/alerts_helpers.py",
    "network/api_helpers.py",
    "network/notify_helpers.py",
    "network/live_hub.py",
]


def _modules() -> dict[str, ast.Module]:
    return {
        path.relative_to(TESTS).as_posix(): ast.parse(path.read_text(), str(path))
        for path in sorted(TESTS.rglob("*.py"))
    }


def _fixture_name(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    for decorator in function.decorator_list:
        call = decorator if isinstance(decorator, ast.Call) else None
        target = call.func if call else decorator
        if ast.unparse(target) in ("pytest.fixture", "fixture"):
            for keyword in call.keywords if call else []:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
            return function.name
    return None


def _functions(module: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in module.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def fixture_homes(modules: dict[str, ast.Module]) -> dict[str, set[str]]:
    homes: dict[str, set[str]] = defaultdict(set)
    for path, module in modules.items():
        for function in _functions(module):
            name = _fixture_name(function)
            if name is not None:
                homes[name].add(path)
    return homes


def test_every_fixture_is_defined_once():
    homes = fixture_homes(_modules())
    twice = {name: paths for name, paths in homes.items() if len(paths) > 1}
    assert {n: p for n, p in twice.items() if HOMONYMS.get(n) != p} == {}
    assert set(HOMONYMS) - set(twice) == set(), "defined once now: take it off HOMONYMS"


def test_no_module_redefines_a_shared_helper():
    modules = _modules()
    shared = {
        function.name: home
        for home in HELPER_HOMES
        for function in _functions(modules[home])
        if _fixture_name(function) is None and not function.name.startswith("pytest_")
    }
    copies = [
        f"{path}: {function.name} (its home is {shared[function.name]})"
        for path, module in modules.items()
        for function in _functions(module)
        if _fixture_name(function) is None and shared.get(function.name, path) != path
    ]
    assert copies == []


def test_the_check_finds_a_copied_fixture():
    copied = ast.parse("import pytest\n\n@pytest.fixture\ndef cluster(world):\n    pass\n")
    named = ast.parse("@pytest.fixture(name='cluster')\ndef _cluster(world):\n    pass\n")
    homes = fixture_homes({"a.py": copied, "b.py": named, **_modules()})
    assert homes["cluster"] == {"a.py", "b.py", "network/conftest.py"}
