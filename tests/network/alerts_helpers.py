"""A small cluster with signed-in heads, for the alert tests."""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from schools.models import Role, School
from tests.conftest import PASSWORD, Person, csrf_token, sign_in

ALERT_LINK = re.compile(r'href="/alerts/([0-9a-f-]{36})"')


@dataclass
class Head:
    person: Person
    school: School
    client: FlaskClient

    def post(self, url: str, data: dict[str, Any], page: str | None = None, **kw: Any) -> Any:
        token = csrf_token(self.client, page or url)
        data = {**data, "csrf_token": token}
        if kw.get("content_type") == "multipart/form-data":
            # Encoded here, in memory: the test client spools a large body to a
            # temporary file that it never closes.
            boundary, body = encode_multipart(MultiDict(_fields(data)))
            kw["content_type"] = f"multipart/form-data; boundary={boundary}"
            return self.client.post(url, data=body, **kw)
        return self.client.post(url, data=data, **kw)

    def post_alert(
        self, recipients: list[School], title: str = "Fake account naming staff", **fields: Any
    ) -> Any:
        data = {
            "category": "staff_named",
            "severity": "high",
            "platform": "facebook",
            "tlp": "AMBER",
            "title": title,
            "description": "A page names two teachers.",
            "links": "https://facebook.example.com/p/1 2026-11-20",
            "recommended_action": "Report the page.",
            "audience": "schools",
            "schools": [str(s.id) for s in recipients],
        }
        data.update(fields)
        return self.post("/alerts/new", data, content_type="multipart/form-data")

    def alert_ids(self, page: str = "/alerts") -> list[str]:
        return ALERT_LINK.findall(self.client.get(page).get_data(as_text=True))


def _fields(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """Form fields as (name, value) pairs; files given as (stream, name, type)."""
    pairs: list[tuple[str, Any]] = []
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                stream, filename, content_type = item
                item = FileStorage(stream, filename, name, content_type)
            pairs.append((name, item))
    return pairs


def make_head(app: Any, world: Any, cluster: Any, name: str) -> Head:
    school = world.school(cluster, name)
    email = f"head@{name.lower().replace(' ', '')}.example.org"
    person = world.person(Role.HEAD, email, school=school, name=f"Head of {name}")
    client = app.test_client()
    # An address of its own: sign-in limits kept in Redis are shared by every
    # test run on this machine, and a head must never meet another's count.
    client.environ_base["REMOTE_ADDR"] = "127.{}.{}.{}".format(*os.urandom(3))
    assert sign_in(client, email).status_code == 302
    return Head(person, school, client)


def colleague_of(app: Any, head: Head, role: str, email: str) -> FlaskClient:
    """A member the head invites through the school page, signed in: the
    invitation carries the school's keys, so they open its alerts at once."""
    response = head.post(
        "/school/invite", {"name": "Colleague", "email": email, "role": role}, page="/school"
    )
    assert response.status_code == 201
    link = re.search(r"/invitations/([A-Za-z0-9_-]+)", response.get_data(as_text=True))
    assert link is not None
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "127.{}.{}.{}".format(*os.urandom(3))
    accepted = client.post(
        link.group(0),
        data={
            "name": "Colleague",
            "password": PASSWORD,
            "confirm": PASSWORD,
            "csrf_token": csrf_token(client, link.group(0)),
        },
    )
    assert accepted.status_code == 302
    return client


def png_bytes(size: tuple[int, int] = (8, 8), exif: bytes | None = None) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    if exif is not None:
        image.save(out, format="JPEG", exif=exif)
    else:
        image.save(out, format="PNG")
    return out.getvalue()


def nov(day: int, hour: int, minute: int = 0) -> datetime:
    """November 2026 (GMT, so London time is UTC): the 16th is a Monday."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def keys_of(session: Any, email: str) -> tuple[Any, Any]:
    """A member and their unlocked school keys, as at sign-in."""
    from crypto.custody import FAST_FOR_TESTS
    from schools import accounts, keyring
    from tests.conftest import PASSWORD

    member, credential = accounts.authenticate(session, email, PASSWORD, FAST_FOR_TESTS)
    return member, keyring.unlock_for_member(session, member, credential)


def post_as(
    session: Any,
    email: str,
    recipients: Any,
    posted: Any,
    severity: str = "high",
    category: str = "harassment",
    platform: str = "instagram",
    coordinator: bool = False,
) -> Any:
    """Post an alert at a chosen time, without the web layer (known histories)."""
    from network.alerts import posting
    from network.alerts.content import AlertContent

    member, keys = keys_of(session, email)
    draft = posting.AlertDraft(
        category,
        severity,
        platform,
        "AMBER",
        AlertContent("t"),
        "schools",
        tuple(recipients),
        include_coordinator=coordinator,
    )
    return posting.post_alert(session, member, keys, draft, now=posted).alert


def acknowledge_as(session: Any, email: str, alert_id: Any, at: Any) -> None:
    from network.alerts import thread

    member, keys = keys_of(session, email)
    thread.acknowledge(session, member, keys, alert_id, now=at)


PHONE_MAKE = "PhoneMaker X1"


def phone_photo(min_bytes: int = 8 * 1024 * 1024) -> bytes:
    """A JPEG the size a phone camera makes (3264 x 2448, 8 megapixels) with the
    camera's make and a GPS position in its EXIF. Noise, so it does not compress."""
    import os

    from PIL import Image

    width, height = 3264, 2448
    image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    exif = Image.Exif()
    exif[0x010F] = PHONE_MAKE  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 7.0), 3: "W", 4: (0.0, 7.0, 39.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=94, exif=exif.tobytes())
    photo = out.getvalue()
    assert len(photo) >= min_bytes, len(photo)
    return photo


def large_png(min_bytes: int = 9 * 1024 * 1024) -> bytes:
    """A PNG screenshot of at least ``min_bytes`` (noise does not compress) with a
    text chunk naming its author, which must not survive."""
    import math
    import os

    from PIL import Image, PngImagePlugin

    side = math.ceil(math.sqrt(min_bytes / 3)) + 8
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", PHONE_MAKE)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info, compress_level=1)
    data = out.getvalue()
    assert len(data) >= min_bytes, len(data)
    return data


def integrate_queued_reads(app: Any) -> int:
    """Run the audit log's sequencer as the worker would: queued read events
    (openings, listings, downloads) join the log."""
    from network.db import own_transaction
    from schools.audit import queue

    with own_transaction(app) as session:
        return queue.integrate_all(session)


def count_rows(app: Any, model: Any, *where: Any) -> int:
    """How many rows of ``model`` (a mapped class or table) match ``where``."""
    from sqlalchemy import func, select

    from network.db import own_transaction

    with own_transaction(app) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def audit_entries(app: Any, action: str) -> list[Any]:
    """The audit log's entries of one action, in sequence, after the sequencer
    has integrated the queued reads (as the worker would)."""
    from sqlalchemy import select

    from network.db import own_transaction
    from schools.audit.models import AuditEvent

    integrate_queued_reads(app)
    with own_transaction(app) as session:
        rows = list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )
        session.expunge_all()
    return rows
