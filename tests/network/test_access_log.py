"""The access log keeps no invitation token (a bearer secret until accepted)."""

from __future__ import annotations

import logging
from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from network.access_log import RedactingLogger, redact

TOKEN = "s3cr3t-invitation-token-value"


def test_the_request_line_path_and_referer_lose_the_token():
    logger = RedactingLogger(Config())
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/invitations/{TOKEN}?x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": f"/invitations/{TOKEN}",
        "QUERY_STRING": "x=1",
        "HTTP_REFERER": f"https://hub.example.org/invitations/{TOKEN}",
        "REMOTE_ADDR": "127.0.0.1",
    }
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    assert TOKEN not in repr(atoms)
    assert atoms["r"] == "POST /invitations/…?x=1 HTTP/1.1"
    assert atoms["U"] == "/invitations/…"
    assert atoms["f"] == "https://hub.example.org/invitations/…"


def test_other_paths_are_logged_as_they_are():
    assert redact("GET /alerts/123 HTTP/1.1") == "GET /alerts/123 HTTP/1.1"


def test_a_crash_under_an_invitation_path_logs_the_route_not_the_token(app, caplog):
    from network import auth

    @auth.public
    def boom(token: str) -> str:
        raise RuntimeError("boom")

    app.add_url_rule("/invitations/<token>/boom", "boom", boom)
    app.testing = False
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get(f"/invitations/{TOKEN}/boom")
    assert response.status_code == 500
    assert TOKEN not in caplog.text
    assert "/invitations/<token>/boom" in caplog.text


def test_the_words_of_an_inbox_search_are_not_logged():
    logger = RedactingLogger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/alerts?status=unread&q=caretaker+named&sender=",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/alerts",
        "QUERY_STRING": "q=caretaker+named&sender=",
        "HTTP_REFERER": "https://hub.example.org/alerts?q=caretaker",
        "REMOTE_ADDR": "127.0.0.1",
    }
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(response, request, environ, timedelta(milliseconds=5))
    assert "caretaker" not in repr(atoms)
    assert atoms["r"] == "GET /alerts?status=unread&q=…&sender= HTTP/1.1"
    assert atoms["f"] == "https://hub.example.org/alerts?q=…"
    assert atoms["q"] == "q=…&sender="
    assert redact("GET /login?next=%2Falerts%3Fq%3Dcaretaker HTTP/1.1") == (
        "GET /login?next=%2Falerts%3Fq%3D… HTTP/1.1"
    )
    assert redact("GET /alerts?freq=3 HTTP/1.1") == "GET /alerts?freq=3 HTTP/1.1"
