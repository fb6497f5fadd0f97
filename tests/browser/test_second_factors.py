"""Second factors in a real browser: an authenticator app set up with a code
computed here, and a real passkey made and used through Chromium's virtual
authenticator (WebAuthn over the DevTools protocol).

WebAuthn needs a host name for its relying party (never an IP address), so
this hub is served at http://localhost:PORT and told so before it starts."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from network.db import engine
from schools.models import Role
from tests.browser.conftest import Visitor, stop_serving
from tests.conftest import PASSWORD, World, app_with
from tests.network.factor_helpers import totp

HEAD = "head@ash.example.org"


@pytest.fixture
def localhost_hub(tmp_path: Path, database_url: str) -> Iterator[Any]:
    served: list[Any] = []
    server = make_server("127.0.0.1", 0, lambda env, start: served[0](env, start), threaded=True)
    server.daemon_threads = False  # its request threads are joined at teardown
    base = f"http://localhost:{server.server_port}"
    app = app_with(database_url, tmp_path, public_url=base)
    served.append(app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = base
    yield app
    stop_serving(server, thread)
    engine(app).dispose()


@pytest.fixture
def head_in_browser(browser: Any, localhost_hub: Any, request: Any) -> Iterator[Visitor]:
    world = World(localhost_hub)
    cluster = world.cluster("Riverside", second_factors=True)
    school = world.school(cluster, "Ash Primary")
    world.person(Role.HEAD, HEAD, school=school, name="Amara Okafor")
    person = Visitor(browser, localhost_hub.config["LIVE_URL"], "head", request)
    yield person
    person.context.close()


def test_a_head_sets_up_an_authenticator_app_with_a_code(head_in_browser: Visitor) -> None:
    page = head_in_browser.page
    head_in_browser.sign_in(HEAD, PASSWORD)
    assert page.url.endswith("/account/second-factors")
    assert page.get_by_text("Set one up now to continue").is_visible()
    page.get_by_role("link", name="An authenticator app on your phone").click()
    page.wait_for_load_state()
    assert page.locator(".qr-code svg").is_visible()
    head_in_browser.snap("qr-code")
    head_in_browser.assert_accessible()
    key = page.locator("code.setup-key").inner_text().replace(" ", "")
    secret = __import__("base64").b32decode(key + "=" * (-len(key) % 8))
    page.get_by_label("Code from your authenticator app").fill(totp(secret))
    page.get_by_role("button", name="Check the code and finish").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your second factor is set up").is_visible()
    codes = re.findall(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", page.content())
    assert len(set(codes)) == 8
    head_in_browser.snap("backup-codes")
    page.get_by_role("link", name="I have stored the codes safely — continue").click()
    page.wait_for_load_state()
    # A head's home: what needs their attention.
    assert page.url.endswith("/home")
    assert page.get_by_role("heading", name="Needs your attention Ash Primary").is_visible()


def test_a_head_registers_a_passkey_and_signs_in_with_it(head_in_browser: Visitor) -> None:
    page = head_in_browser.page
    cdp = head_in_browser.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    head_in_browser.sign_in(HEAD, PASSWORD)
    assert page.url.endswith("/account/second-factors")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url("**/account/second-factors/new-backup-codes")
    assert page.get_by_role("heading", name="Your second factor is set up").is_visible()
    head_in_browser.assert_accessible()
    page.get_by_role("button", name="Make my backup codes").click()
    page.wait_for_load_state()
    codes = re.findall(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", page.content())
    assert len(set(codes)) == 8
    head_in_browser.snap("passkey-added")
    page.get_by_role("link", name="I have stored the codes safely — continue").click()
    page.wait_for_url("**/home")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()

    head_in_browser.sign_in(HEAD, PASSWORD)
    assert "/sign-in/second-factor" in page.url
    head_in_browser.assert_accessible()
    head_in_browser.snap("second-factor")
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url("**/home")
    assert page.get_by_role("heading", name="Needs your attention Ash Primary").is_visible()
