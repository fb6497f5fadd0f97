"""The dashboard's long repeated parts written in Python rather than Jinja:
at 500 schools its per-school bars and table rows (four lists of 500) cost
more than the rest of the page, in macro calls and filters per row. Each
writes what its template loop wrote (templates/dashboard/_charts.html,
_tables.html and _health.html call them), every value escaped."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

from network.alerts import vocab
from network.clock import local
from network.dashboard.charts import HorizontalBars, format_hours

# Jinja's truncate(30, true) with its default leeway of 5: names up to 35
# characters are kept whole, longer ones cut to 27 and "...".
_TRUNCATE_AT, _LEEWAY, _END = 30, 5, "..."


def truncated(text: str) -> str:
    if len(text) <= _TRUNCATE_AT + _LEEWAY:
        return text
    return text[: _TRUNCATE_AT - len(_END)] + _END


def bar_elements(chart: HorizontalBars) -> Markup:
    """Each bar's label, bar and value, as SVG elements."""
    at, colour = chart.label_width, escape(chart.colour)
    parts = [
        f'<text x="{at - 6}" y="{bar.y + 15}" text-anchor="end" font-size="12" '
        f'fill="#1b1f23">{escape(truncated(bar.label))}</text>\n'
        f'<rect x="{at}" y="{bar.y + 3}" width="{bar.width:.1f}" height="16" '
        f'fill="{colour}"/>\n'
        f'<text x="{at + bar.width + 4:.1f}" y="{bar.y + 15}" font-size="12" '
        f'fill="#1b1f23">{escape(bar.text)}</text>\n'
        for bar in chart.bars
    ]
    return Markup("".join(parts))  # noqa: S704 - every value escaped above


def response_rows(rows: Iterable[Any], severities: bool = False) -> Markup:
    """A table's rows of response times (figures.ResponseTimes); ``severities``:
    the first column names a severity by its label."""
    parts = []
    for r in rows:
        key = vocab.label(vocab.SEVERITIES, r.key) if severities else r.key
        parts.append(
            f'<tr><th scope="row">{escape(key)}</th>'
            f'<td class="num" data-label="Received">{escape(r.received)}</td>'
            f'<td class="num" data-label="Acknowledged">{escape(r.acknowledged)}</td>'
            f'<td class="num" data-label="Median">{escape(format_hours(r.median_hours))}</td>'
            f'<td class="num" data-label="90th percentile">{escape(format_hours(r.p90_hours))}</td>'
            "</tr>\n"
        )
    return Markup("".join(parts))  # noqa: S704 - every value escaped above


def overdue_school_rows(schools: Iterable[Any]) -> Markup:
    """The overdue table's rows, one per school (health.OverdueSchool)."""
    parts = [
        f'<tr><th scope="row">{escape(s.school)}</th>'
        f'<td class="num" data-label="Overdue">{escape(s.count)}</td>'
        f'<td data-label="Oldest overdue since">{local(s.since)}</td></tr>\n'
        for s in schools
    ]
    return Markup("".join(parts))  # noqa: S704 - every value escaped above (local escapes)
