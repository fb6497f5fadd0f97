"""A live hub on 127.0.0.1 and Debian's Chromium driven by Playwright.

Every browser test runs on both databases (SQLite, and PostgreSQL when
ALERTNET_TEST_DATABASE_URL is set, as in CI): what a person sees and does must
not depend on which one the hub uses.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from network.db import engine
from tests.conftest import World, app_with

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        message = "Debian's chromium is not installed (make test installs it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_app(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """The hub served on 127.0.0.1, on the test's database (both, by ``database_url``)."""
    app = app_with(database_url, tmp_path)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = False  # its request threads are joined at teardown
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app
    stop_serving(server, thread)
    engine(app).dispose()


def stop_serving(server: Any, thread: threading.Thread) -> None:
    """Stop the live server and wait for the requests it is still answering, so
    that none returns a database connection to an engine already disposed."""
    server.shutdown()
    thread.join(timeout=5)
    for request_thread in list(getattr(server, "_threads", None) or []):
        request_thread.join(timeout=5)
    server.block_on_close = False  # joined above, each for at most 5 s
    server.server_close()


@pytest.fixture
def live_world(live_app: Any) -> World:
    return World(live_app)


class Visitor:
    """One person in their own browser context (their own cookies)."""

    def __init__(self, browser: Any, base: str, name: str, request: Any) -> None:
        self.context = browser.new_context(viewport={"width": 390, "height": 844})
        self.page = self.context.new_page()
        self.base = base
        self.name = name
        self.shots = ARTIFACTS / request.node.name
        self.shots.mkdir(parents=True, exist_ok=True)
        self._n = 0

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def sign_in(self, email: str, password: str) -> None:
        self.goto("/sign-in")
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def snap(self, label: str) -> Path:
        self._n += 1
        path = self.shots / f"{self._n:02d}-{self.name}-{label}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def assert_fits(self, width: int, height: int = 900) -> None:
        """At this window size the page does not scroll sideways."""
        self.page.set_viewport_size({"width": width, "height": height})
        scroll = self.page.evaluate("document.scrollingElement.scrollWidth")
        assert self.page.evaluate("window.innerWidth") == width
        assert scroll <= width, f"{self.page.url} scrolls sideways at {width} px ({scroll} px wide)"

    def assert_accessible(self) -> None:
        """axe-core: no serious or critical violation (WCAG 2.2 AA)."""
        from axe_playwright_python.sync_playwright import Axe

        # A click may have started a navigation: check the page it lands on.
        self.page.wait_for_load_state()
        results = Axe().run(
            self.page,
            options={
                "runOnly": {
                    "type": "tag",
                    "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"],
                }
            },
        )
        bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, f"{self.page.url}: " + results.generate_report()


@pytest.fixture
def visitor(browser: Any, live_app: Any, request: Any) -> Any:
    created: list[Visitor] = []

    def make(name: str) -> Visitor:
        person = Visitor(browser, live_app.config["LIVE_URL"], name, request)
        created.append(person)
        return person

    yield make
    for person in created:
        person.context.close()
