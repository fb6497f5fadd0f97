"""What lists of alerts render in Python rather than in templates: parts a
page repeats per row or per school, whose Jinja macros and loops cost more
than the page's query (an inbox page of 25 rows; the sender filter's options,
one per school of the cluster, 500 at a large one). Each writes exactly what
the template did (templates/alerts/_badges.html and _bulk.html call them too)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from typing import Any

from flask import url_for
from markupsafe import Markup, escape

from network.alerts import vocab
from network.alerts.inbox_choices import InboxChoices
from network.clock import local

# markupsafe.escape's replacements, applied without a Markup object per value.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "'": "&#39;", '"': "&#34;"})


def escaped(text: str) -> str:
    """``text`` escaped for HTML exactly as markupsafe.escape does."""
    return text.translate(_ESCAPES)


def select_options(choices: Iterable[tuple[str, str]], selected: str | None) -> Markup:
    """The ``<option>`` elements of a select, one per (value, label), the one
    whose value is ``selected`` marked so: what a template loop writes."""
    return Markup(  # noqa: S704 - every value and label escaped as markupsafe does
        "".join(
            f'<option value="{escaped(value)}"{" selected" if value == selected else ""}>'
            f"{escaped(label)}</option>"
            for value, label in choices
        )
    )


def filter_options(form: Any, choices: InboxChoices) -> dict[str, Markup]:
    """The options of the inbox's filters (InboxFilterForm), by field name,
    the one chosen marked as WTForms marks it; the platforms and schools are
    the page's ``choices``."""

    def of(field: Any, values: Iterable[tuple[str, str]]) -> Markup:
        return select_options(values, field.data)

    return {
        "status": of(form.status, ((c.value, c.label) for c in form.status.choices)),
        "category": of(form.category, ((c.value, c.label) for c in form.category.choices)),
        "severity": of(form.severity, ((c.value, c.label) for c in form.severity.choices)),
        "platform": of(form.platform, [("", "All"), *choices.platforms]),
        "sender": _chosen(_sender_options(choices.senders), form.sender.data),
    }


@functools.lru_cache(maxsize=64)
def _sender_options(senders: tuple[tuple[Any, str], ...]) -> str:
    """The sender filter's options, none chosen: made once for each list of
    schools (the list itself is the key, so a school renamed, admitted or
    removed makes a new one). Ids are written as str(UUID) writes them."""
    # Plain text: Markup's replace (in _chosen) would escape what it puts in.
    return str(
        select_options(
            [("", "Any school"), *((str(uuid.UUID(str(i))), name) for i, name in senders)], None
        )
    )


def _chosen(options: str, value: str | None) -> Markup:
    """``options`` with the one whose value is ``value`` marked chosen: a
    school's id as str(UUID) writes it, however the address spelt it (the
    filter itself reads it as a UUID)."""
    if value:
        try:
            value = str(uuid.UUID(value))
        except ValueError:
            value = None
    if value is not None:
        found = f'<option value="{escaped(value)}">'
        options = options.replace(found, f'<option value="{escaped(value)}" selected>', 1)
    return Markup(options)  # noqa: S704 - made by select_options, which escapes


@functools.cache
def severity_badge(code: str) -> Markup:
    """A severity's badge (one per code of a small vocabulary: made once)."""
    return Markup('<span class="badge severity severity--{}">{}</span>').format(
        code, vocab.label(vocab.SEVERITIES, code)
    )


@functools.cache
def tlp_badge(code: str) -> Markup:
    """A TLP marking's badge, its class the code in lower case, "+" as "-"."""
    return Markup('<span class="badge tlp tlp--{}">TLP:{}</span>').format(
        code.lower().replace("+", "-"), code
    )


@functools.cache
def category_label(code: str) -> str:
    return vocab.label(vocab.CATEGORIES, code)


def row_name(row: Any) -> Markup:
    """What a hidden label calls a listed row: its title, or (when it has none
    to show) its sender and time."""
    if row.title:
        return escape(row.title)
    alert = row.alert
    return Markup("the alert from %s, %s") % (alert.sender_school.name, local(alert.created_at))


class AlertUrl:
    """The address of an alert's page or action, made once per page from
    ``url_for`` and then per row by putting the alert's id in (url_for per
    row cost more than the row's other work)."""

    _PLACEHOLDER = str(uuid.UUID(int=0))

    def __init__(self, endpoint: str) -> None:
        made = url_for(endpoint, alert_id=self._PLACEHOLDER)
        self._before, found, self._after = made.partition(self._PLACEHOLDER)
        assert found, made

    def __call__(self, alert_id: uuid.UUID) -> str:
        return f"{self._before}{alert_id}{self._after}"
