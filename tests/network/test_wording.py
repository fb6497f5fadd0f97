"""Words people read: "an urgent alert", never "a urgent alert".

Three nets: every notification (subject, headline, email text and HTML) for
every kind and severity; the pages a head and a coordinator visit, rendered;
and the template and Python sources, for an article written before a word or
a value that the other two cannot reach with every value.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from network.alerts import vocab
from network.notifications import render
from network.text import indefinite
from schools.models import Role
from tests.conftest import sign_in
from tests.network.alerts_helpers import make_head

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = re.compile(r"\b(a|an|A|An)\s+([A-Za-z][\w-]*)")
TAG = re.compile(r"<[^>]+>")


def wrong_articles(text: str) -> list[str]:
    """Each "a"/"an" followed by a word it does not fit by sound. Acronyms of
    more than one letter are left alone (say "a TLP label", "an MIS")."""
    plain = html.unescape(TAG.sub(" ", text))
    wrong = []
    for article, word in ARTICLE.findall(plain):
        if len(word) > 1 and word.isupper():
            continue
        if indefinite(word).split()[0] != article.lower():
            wrong.append(f"{article} {word}")
    return wrong


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("urgent", "an urgent"),
        ("alert", "an alert"),
        ("email", "an email"),
        ("info", "an info"),
        ("hour", "an hour"),
        ("high", "a high"),
        ("unique", "a unique"),
        ("user", "a user"),
        ("one-off", "a one-off"),
        ("medium", "a medium"),
    ],
)
def test_the_article_follows_the_sound_of_the_word(word: str, expected: str) -> None:
    assert indefinite(word) == expected


def test_the_checker_finds_a_before_a_vowel_sound() -> None:
    assert wrong_articles("Ash sent <b>a</b> urgent alert and a email") == ["a urgent", "a email"]
    assert wrong_articles("An alert, a unique link, an hour, a TLP label") == []


def _ref(severity: str) -> dict[str, object]:
    return {
        "id": "0" * 32,
        "category": "defamation",
        "category_label": vocab.label(vocab.CATEGORIES, "defamation"),
        "severity": severity,
        "severity_label": vocab.label(vocab.SEVERITIES, severity),
        "platform": "tiktok",
        "platform_label": "TikTok",
        "sender_school": {"id": "1", "name": "Oakfield Primary"},
        "created_at": "2026-10-25T00:30:00+00:00",
        "path": "/alerts/1",
    }


KINDS = [
    "alert.received",
    "alert.acknowledgement_due",
    "alert.acknowledgement_overdue",
    "referral.follow_up_due",
    "alert.replied",
    "alert.action_recorded",
    "alert.attachment_added",
    "alert.acknowledged",
    "alert.resolved",
    "alert.forwarded",
]


@pytest.mark.parametrize("severity", [t.code for t in vocab.SEVERITIES])
def test_every_notification_uses_the_right_article(app, severity: str) -> None:
    tz = ZoneInfo("Europe/London")
    payloads: list[dict[str, object]] = [
        {"type": "test", "school": {"id": "1", "name": "Ash"}, "requested_by": "Priya Shah"},
        {"type": "alert.digest", "alerts": [_ref(severity)], "school": None},
    ]
    for kind in KINDS:
        payloads.append(
            {
                "type": kind,
                "alert": _ref(severity),
                "school": {"id": "2", "name": "Ash Academy"},
                "by": {"id": "3", "name": "Elm School"},
                "deadline": "2026-10-26T09:00:00+00:00",
                "item": {"action_label": "Reported to the platform"},
                "schools": 2,
                "path": "/alerts/1",
            }
        )
    with app.app_context():
        for payload in payloads:
            message = render.email(
                notification_id="n1",
                payload=payload,  # type: ignore[arg-type]
                to="head@ash.example.org",
                subscription_id=None,
                subscription_name="",
                base="https://hub.example.org",
                mail_from="alertnet <alerts@hub.example.org>",
                tz=tz,
            )
            texts = [str(message["Subject"])]
            for part in message.walk():
                if part.get_content_maintype() == "text":
                    texts.append(part.get_content())
            for text in texts:
                assert wrong_articles(text) == [], (payload["type"], text)


# Pages a head and a coordinator visit, each rendered with real data.
HEAD_PAGES = [
    "/alerts",
    "/alerts/sent",
    "/alerts/new",
    "/school",
    "/school/dashboard",
    "/notifications",
    "/notifications/subscriptions",
    "/notifications/subscriptions/new",
    "/notifications/deliveries",
    "/notifications/watching",
    "/account",
    "/audit",
    "/account/tokens",
]
COORDINATOR_PAGES = [
    "/alerts",
    "/cluster/schools",
    "/cluster/alerts",
    "/cluster/settings",
    "/cluster/dashboard",
    "/cluster/report",
    "/notifications",
    "/audit",
    "/account",
]


def test_pages_people_visit_use_the_right_article(app, world) -> None:
    cluster = world.cluster()
    ash = make_head(app, world, cluster, "Ash")
    elm = make_head(app, world, cluster, "Elm")
    coordinator = world.person(Role.COORDINATOR, "coord@north.example.org", cluster=cluster)
    assert ash.post_alert([elm.school], severity="urgent").status_code == 303
    (alert_id,) = ash.alert_ids("/alerts/sent")
    visits = [
        (
            ash.person.email,
            [*HEAD_PAGES, f"/alerts/{alert_id}", f"/audit/objects/alert/{alert_id}"],
        ),
        (elm.person.email, ["/alerts", f"/alerts/{alert_id}"]),
        (coordinator.email, [*COORDINATOR_PAGES, f"/audit/objects/alert/{alert_id}"]),
    ]
    for email, pages in visits:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"127.0.9.{len(email) % 200}"
        assert sign_in(client, email).status_code == 302
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, (email, page, response.status_code)
            assert wrong_articles(response.get_data(as_text=True)) == [], (email, page)


# "a {{ value }}" and "a %s" in a source cannot know the value's first sound.
DYNAMIC_ARTICLE = re.compile(r"(?<![\w.])[aA] (\{\{|\{[a-z_]|%s)")


def _sources() -> list[Path]:
    files = list((ROOT / "templates").rglob("*.html")) + list((ROOT / "templates").rglob("*.txt"))
    for package in ("network", "schools"):
        files += list((ROOT / package).rglob("*.py"))
    return files


def test_no_source_writes_a_fixed_article_before_a_value_or_a_vowel_sound() -> None:
    problems = []
    for path in _sources():
        text = path.read_text()
        # Only what people read: string literals and template text, roughly.
        for number, line in enumerate(text.splitlines(), 1):
            if path.suffix == ".py" and '"' not in line and "'" not in line:
                continue
            for match in DYNAMIC_ARTICLE.finditer(line):
                problems.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
            for wrong in wrong_articles(re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " x ", line)):
                problems.append(f"{path.relative_to(ROOT)}:{number}: {wrong}")
    assert problems == []
