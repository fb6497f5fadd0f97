"""Lists written in Python rather than in templates (network/alerts/inbox_page.py,
network/dashboard/rendered.py) write what the template loops they replaced
wrote, whatever the names hold: each is compared here with that loop,
rendered by the hub's own Jinja environment (autoescaping, its filters)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

from markupsafe import Markup

from network.alerts import vocab
from network.alerts.inbox import InboxRow
from network.alerts.inbox_page import row_name, select_options, severity_badge, tlp_badge
from network.alerts.listing import ListedAlert, ListedCopy, ListedSchool
from network.dashboard import charts
from network.dashboard.figures import ResponseTimes
from network.dashboard.health import OverdueSchool
from network.dashboard.rendered import bar_elements, overdue_school_rows, response_rows

NAMES = [
    "Ash",
    'St Mary & St John\'s "Primary" <Academy>',
    "A school whose name runs well past the thirty-five characters a bar keeps",
    "x" * 35,
    "y" * 36,
]


def _same(app, template: str, written: Markup, **context) -> None:
    def flat(html: str) -> str:
        return re.sub(r">\s+<", "><", str(html)).strip()

    expected = app.jinja_env.from_string(template).render(**context)
    assert flat(written) == flat(expected)


def test_the_dashboards_bars_and_rows_are_the_template_loops(app):
    with app.test_request_context():
        _dashboard_lists(app)


def _dashboard_lists(app):
    chart = charts.horizontal_bars(
        [(name, 3.25 * n, charts.format_hours(3.25 * n)) for n, name in enumerate(NAMES)],
        colour=charts.PALETTE[2],
    )
    _same(
        app,
        """{% for bar in chart.bars %}
      <text x="{{ chart.label_width - 6 }}" y="{{ bar.y + 15 }}" text-anchor="end" font-size="12" fill="#1b1f23">{{ bar.label|truncate(30, true) }}</text>
      <rect x="{{ chart.label_width }}" y="{{ bar.y + 3 }}" width="{{ '%.1f'|format(bar.width) }}" height="16" fill="{{ chart.colour }}"/>
      <text x="{{ '%.1f'|format(chart.label_width + bar.width + 4) }}" y="{{ bar.y + 15 }}" font-size="12" fill="#1b1f23">{{ bar.text }}</text>
    {% endfor %}""",  # noqa: E501
        bar_elements(chart),
        chart=chart,
    )
    rows = [
        ResponseTimes(name, 10 * n, n, None if n == 1 else 0.5 * n, 30.0 * n)
        for n, name in enumerate(NAMES)
    ]
    severities = [ResponseTimes(code, 5, 2, 1.0, None) for code in ("urgent", "info", "odd")]
    loop = """{% for r in rows %}
    <tr><th scope="row">{{ vocab.label(vocab.SEVERITIES, r.key) if vocab else r.key }}</th><td class="num" data-label="Received">{{ r.received }}</td><td class="num" data-label="Acknowledged">{{ r.acknowledged }}</td><td class="num" data-label="Median">{{ format_hours(r.median_hours) }}</td><td class="num" data-label="90th percentile">{{ format_hours(r.p90_hours) }}</td></tr>
  {% endfor %}"""  # noqa: E501
    _same(app, loop, response_rows(rows), rows=rows, vocab=None)
    _same(app, loop, response_rows(severities, True), rows=severities, vocab=vocab)
    since = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the day the clocks go forward
    overdue = [OverdueSchool(name, n == 0, n + 1, since) for n, name in enumerate(NAMES)]
    _same(
        app,
        """{% for s in schools %}
        <tr><th scope="row">{{ s.school }}</th><td class="num" data-label="Overdue">{{ s.count }}</td><td data-label="Oldest overdue since">{{ s.since|local }}</td></tr>
      {% endfor %}""",  # noqa: E501
        overdue_school_rows(overdue),
        schools=overdue,
    )


def test_the_inboxs_options_badges_and_hidden_names_are_the_template_loops(app):
    with app.test_request_context():
        _inbox_lists(app)


def _inbox_lists(app):
    choices = [("", "Any school"), *((str(uuid.uuid4()), name) for name in NAMES)]
    for chosen in (None, "", choices[2][0], "no such value"):
        _same(
            app,
            """{% for value, label in choices %}<option value="{{ value }}"{% if value == chosen %} selected{% endif %}>{{ label }}</option>{% endfor %}""",  # noqa: E501
            select_options(choices, chosen),
            choices=choices,
            chosen=chosen,
        )
    for code in ("info", "urgent", "unknown"):
        _same(
            app,
            """<span class="badge severity severity--{{ code }}">{{ vocab.label(vocab.SEVERITIES, code) }}</span>""",  # noqa: E501
            severity_badge(code),
            code=code,
            vocab=vocab,
        )
    for code in ("AMBER+STRICT", "RED", "CLEAR"):
        _same(
            app,
            """<span class="badge tlp tlp--{{ code|lower|replace('+', '-') }}">TLP:{{ code }}</span>""",  # noqa: E501
            tlp_badge(code),
            code=code,
        )
    for title in ("", 'A "quoted" <b>title</b> & more'):
        for sender in NAMES[:2]:
            school = ListedSchool(uuid.uuid4(), sender)
            alert = ListedAlert(
                uuid.uuid4(), uuid.uuid4(), school.id, uuid.uuid4(), 1, "other", "high",
                "x", "AMBER", "open", datetime(2026, 7, 1, 12, tzinfo=UTC), None, 1, 0,
                b"", None, school,
            )  # fmt: skip
            copy = ListedCopy(
                alert.id, uuid.uuid4(), False, "all", alert.created_at, None, None, None
            )
            row = InboxRow(copy, alert, title=title)
            _same(
                app,
                """{{ row.title if row.title else "the alert from " ~ row.alert.sender_school.name ~ ", " ~ row.alert.created_at|local }}""",  # noqa: E501
                row_name(row),
                row=row,
            )
