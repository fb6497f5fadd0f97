"""``alertnet client`` against a live hub on 127.0.0.1: log in, post, read the
inbox, open, acknowledge, reply, and check the audit log against a checkpoint."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from werkzeug.serving import make_server

from network import create_app
from network.alerts.models import Alert
from network.cli import main
from network.client import hub as client_module
from network.client.commands import client_cli
from network.db import engine, own_transaction
from tests.conftest import World, settings_for_tests
from tests.network.alerts_helpers import make_head, png_bytes
from tests.network.api_helpers import issue_token


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def live(app):
    server, thread, url = _serve(app)
    app.config["LIVE_URL"] = url
    yield app
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def riverside(live):
    world = World(live)
    cluster = world.cluster("Riverside")
    return {name: make_head(live, world, cluster, name) for name in ("Ash", "Beech", "Cedar")}


class Terminal:
    """One person's shell: their own config folder, no ALERTNET_* variables."""

    def __init__(self, home) -> None:
        self.home = home
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, code: int = 0):
        env = {"XDG_CONFIG_HOME": str(self.home), "ALERTNET_HUB": "", "ALERTNET_TOKEN": ""}
        result = self.runner.invoke(main, ["client", *args], input=input, env=env)
        assert result.exit_code == code, (args, result.output, result.exception)
        return result

    def login(self, app, token: str):
        return self("login", "--hub", app.config["LIVE_URL"], "--token-stdin", input=token + "\n")

    @property
    def config(self):
        return self.home / "alertnet" / "client.json"


@pytest.fixture
def terminal(tmp_path):
    def make(name: str) -> Terminal:
        home = tmp_path / name
        home.mkdir()
        return Terminal(home)

    return make


def test_a_head_logs_in_and_the_token_is_saved_for_them_alone(live, riverside, terminal):
    ash = terminal("ash")
    token = issue_token(live, riverside["Ash"].person.email)
    result = ash.login(live, token)
    assert "Logged in" in result.output
    assert "Head of Ash" in result.output
    mode = stat.S_IMODE(os.stat(ash.config).st_mode)
    assert mode == 0o600
    assert stat.S_IMODE(os.stat(ash.config.parent).st_mode) == 0o700
    saved = json.loads(ash.config.read_text())
    assert saved["token"] == token
    assert saved["vkey"].startswith("127.0.0.1:5000/audit+")
    assert "Head of Ash" in ash("whoami").output
    ash("logout")
    assert not ash.config.exists()
    assert "Not logged in" in ash("inbox", code=2).output


def test_a_bad_token_or_an_unreachable_hub_is_refused_clearly(live, riverside, terminal):
    someone = terminal("someone")
    for token in ("0" * 32 + "." + "A" * 43, "nope"):
        refused = someone(
            "login", "--hub", live.config["LIVE_URL"], "--token-stdin", input=token + "\n", code=1
        )
        assert "Refused (401)" in refused.output
    assert not someone.config.exists()
    closed = someone("login", "--hub", "http://127.0.0.1:9", "--token-stdin", input="x.y\n", code=2)
    assert "Cannot reach the hub" in closed.output


def test_post_read_acknowledge_and_reply_from_the_terminal(live, riverside, terminal, tmp_path):
    ash, beech = terminal("ash"), terminal("beech")
    ash.login(live, issue_token(live, riverside["Ash"].person.email))
    beech.login(live, issue_token(live, riverside["Beech"].person.email))
    shot = tmp_path / "shot.png"
    shot.write_bytes(png_bytes())
    description = tmp_path / "what.txt"
    description.write_text("A page names two teachers.\n\nIt appeared on Monday.")
    posted = ash(
        "post",
        "--title",
        "Fake page naming staff",
        "--category",
        "staff_named",
        "--platform",
        "facebook",
        "--severity",
        "high",
        "--to",
        "Beech",
        "--to",
        riverside["Cedar"].school.urn,
        "--description-file",
        str(description),
        "--link",
        "https://facebook.example.com/p/1 2026-11-20",
        "--attach",
        str(shot),
        "--json",
    )
    document = json.loads(posted.output)
    assert {r["name"] for r in document["recipients"]} == {"Beech", "Cedar"}
    alert_id = document["id"]

    inbox = beech("inbox").output
    assert "Fake page naming staff" in inbox
    assert alert_id in inbox
    assert "NEW" in inbox
    listed = json.loads(beech("inbox", "--severity", "high", "--json").output)
    assert [a["id"] for a in listed["alerts"]] == [alert_id]
    assert json.loads(beech("inbox", "--severity", "low", "--json").output)["alerts"] == []

    folder = tmp_path / "evidence"
    opened = beech("read", alert_id, "--save-attachments", str(folder)).output
    assert "Signature verified" in opened
    assert "It appeared on Monday." in opened
    assert "https://facebook.example.com/p/1 (seen 2026-11-20)" in opened
    assert (folder / "shot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert "Acknowledged for Beech" in beech("ack", alert_id, "--comment", "DSL informed").output
    again = beech("ack", alert_id, code=1)
    assert "Refused (409)" in again.output
    assert "Already acknowledged" in again.output
    beech("reply", alert_id, "We saw it too.")
    beech("reply", alert_id, "-", input="And reported it.\n")
    thread = ash("read", alert_id).output
    assert "reply: We saw it too." in thread
    assert "reply: And reported it." in thread
    assert "acknowledgement: DSL informed" in thread
    assert "read" in ash("inbox", "--sent").output


def test_a_retried_post_with_the_same_key_posts_once(live, riverside, terminal):
    ash = terminal("ash")
    ash.login(live, issue_token(live, riverside["Ash"].person.email))
    arguments = (
        "post",
        "--title",
        "Once",
        "--category",
        "other",
        "--platform",
        "x",
        "--cluster",
        "--idempotency-key",
        "client-retry-1",
        "--json",
    )
    first = json.loads(ash(*arguments).output)
    second = json.loads(ash(*arguments).output)
    assert first == second
    with own_transaction(live) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1


def test_the_client_retries_a_timeout_with_the_same_key(live, riverside, monkeypatch):
    """The first attempt reaches the hub but its answer is lost; the retry
    replays the hub's answer instead of posting again."""
    token = issue_token(live, riverside["Ash"].person.email)
    hub = client_module.Hub(live.config["LIVE_URL"], token)
    real = client_module.urllib.request.urlopen
    calls = []

    def lossy(request, timeout):
        calls.append(request.get_header("Idempotency-key"))
        response = real(request, timeout=timeout)
        if len(calls) == 1:
            response.read()
            raise TimeoutError("timed out")
        return response

    monkeypatch.setattr(client_module.urllib.request, "urlopen", lossy)
    monkeypatch.setattr(client_module.time, "sleep", lambda _: None)
    body = {"title": "Lost answer", "category": "other", "platform": "x", "audience": "cluster"}
    posted = hub.json("POST", "/alerts", body, headers={"Idempotency-Key": "k-1"}, retry=True)
    assert len(calls) == 2
    assert calls[0] == calls[1] == "k-1"
    with own_transaction(live) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1
        assert str(session.scalars(select(Alert.id)).one()) == posted["id"]


def test_refusals_name_the_field_and_exit_1(live, riverside, terminal):
    ash = terminal("ash")
    ash.login(live, issue_token(live, riverside["Ash"].person.email))
    result = ash(
        "post", "--title", "x", "--category", "other", "--platform", "myspace", "--cluster", code=1
    )
    assert "Refused (422)" in result.output
    assert "platform:" in result.output
    assert (
        "No single school"
        in ash(
            "post",
            "--title",
            "x",
            "--category",
            "other",
            "--platform",
            "x",
            "--to",
            "Nowhere",
            code=2,
        ).output
    )
    assert (
        "Say who receives it"
        in ash("post", "--title", "x", "--category", "other", "--platform", "x", code=2).output
    )
    assert "not an alert id" in ash("read", "nope", code=2).output


def test_audit_verify_checks_the_log_against_a_saved_checkpoint(
    live, riverside, terminal, tmp_path
):
    ash = terminal("ash")
    ash.login(live, issue_token(live, riverside["Ash"].person.email))
    saved = tmp_path / "riverside.txt"
    assert "Saved the checkpoint" in ash("audit", "checkpoint", "--out", str(saved)).output
    ash("post", "--title", "More history", "--category", "other", "--platform", "x", "--cluster")
    result = ash("audit", "verify", str(saved), "--update")
    assert "hashed here from their leaf text" in result.output
    verdict = json.loads(ash("audit", "verify", str(saved), "--json").output)
    assert verdict["ok"] is True
    assert verdict["recomputed_here"] + verdict["hashes_from_hub"] == verdict["from"]
    assert verdict["from"] == verdict["to"] or verdict["from"] < verdict["to"]
    # A note that was edited no longer carries a valid signature.
    forged = tmp_path / "forged.txt"
    lines = saved.read_text().split("\n")
    lines[1] = str(int(lines[1]) + 1)
    forged.write_text("\n".join(lines))
    assert (
        "not a checkpoint signed by the pinned key"
        in ash("audit", "verify", str(forged), code=2).output
    )


def test_audit_verify_fails_when_history_was_rewritten(tmp_path, sqlite_template, terminal):
    """Two hubs with the same log key and origin but different histories: a
    checkpoint of one cannot be extended by the other's log."""
    apps, servers = [], []
    for name in ("real", "rewritten"):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(sqlite_template, folder / "alertnet.db")
        overrides = {"log_key": apps[0].config["ALERTNET"].log_key} if apps else {}
        app = create_app(
            settings_for_tests(folder, f"sqlite:///{folder / 'alertnet.db'}", **overrides)
        )
        server, thread, url = _serve(app)
        app.config["LIVE_URL"] = url
        apps.append(app)
        servers.append((server, thread))
    try:
        heads = []
        for app, cluster_name in zip(apps, ("Riverside", "Elsewhere"), strict=True):
            world = World(app)
            heads.append(make_head(app, world, world.cluster(cluster_name), "Ash"))
            make_head(app, world, world.cluster(f"{cluster_name} 2"), "Oak")
        ash = terminal("ash")
        ash.login(apps[0], issue_token(apps[0], heads[0].person.email))
        saved = tmp_path / "checkpoint.txt"
        ash("audit", "checkpoint", "--out", str(saved))
        config = json.loads(ash.config.read_text())
        config["hub"] = apps[1].config["LIVE_URL"]
        config["token"] = issue_token(apps[1], heads[1].person.email)
        ash.config.write_text(json.dumps(config))
        result = ash("audit", "verify", str(saved), code=1)
        assert "FAILED" in result.output
    finally:
        for (server, thread), app in zip(servers, apps, strict=True):
            server.shutdown()
            thread.join(timeout=5)
            engine(app).dispose()


def test_every_client_command_has_help(terminal):
    shell = terminal("help")
    for command in (
        (),
        ("login",),
        ("logout",),
        ("whoami",),
        ("schools",),
        ("post",),
        ("inbox",),
        ("read",),
        ("ack",),
        ("reply",),
        ("audit",),
        ("audit", "checkpoint"),
        ("audit", "verify"),
    ):
        result = shell(*command, "--help")
        assert "Usage:" in result.output
    result = CliRunner().invoke(main, ["token", "create", "--help"])
    assert "--password-stdin" in result.output


# Run in a fresh interpreter: the console script `alertnet-client` installs, shows
# its commands, and has loaded neither Flask nor SQLAlchemy by then.
_ENTRY_POINT = """
import sys
from importlib.metadata import entry_points

(script,) = entry_points(group="console_scripts", name="alertnet-client")
try:
    script.load()(["--help"], prog_name="alertnet-client")
except SystemExit as done:
    assert done.code == 0, done.code
heavy = {"flask", "flask_login", "flask_wtf", "werkzeug", "sqlalchemy"}
print("loaded:", sorted(m for m in sys.modules if m.partition(".")[0] in heavy))
"""


def test_alertnet_client_starts_without_flask_or_the_database():
    result = subprocess.run(
        [sys.executable, "-c", _ENTRY_POINT], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: alertnet-client" in result.stdout
    assert "loaded: []" in result.stdout


def test_the_alertnet_client_script_and_alertnet_client_are_one_command():
    assert main.commands["client"] is client_cli


def test_scripts_use_environment_variables_instead_of_the_file(live, riverside):
    token = issue_token(live, riverside["Ash"].person.email)
    result = CliRunner().invoke(
        main,
        ["client", "schools", "--json"],
        env={
            "ALERTNET_HUB": live.config["LIVE_URL"],
            "ALERTNET_TOKEN": token,
            "XDG_CONFIG_HOME": "/nonexistent",
        },
    )
    assert result.exit_code == 0, result.output
    assert {"Ash", "Beech", "Cedar"} <= {s["name"] for s in json.loads(result.output)}
