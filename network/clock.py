"""Times as people read them: in the hub's time zone (ALERTNET_TIME_ZONE,
Europe/London by default), always with the zone's name, so "14:05 BST" and
"14:05 GMT" are never confused. Stored times stay timezone-aware UTC.

Pages use the one Jinja filter ``local`` (``{{ alert.created_at|local }}``);
emails and other plain text use ``shown``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from flask import current_app
from markupsafe import Markup

if TYPE_CHECKING:
    from flask import Flask

Style = Literal["datetime", "date", "time", "seconds", "long"]

_FORMATS: dict[str, str] = {
    "datetime": "%-d %b %Y, %H:%M %Z",
    "seconds": "%-d %b %Y, %H:%M:%S %Z",
    "long": "%-d %B %Y at %H:%M %Z",
    "time": "%H:%M %Z",
    "date": "%-d %b %Y",
}


def hub_zone() -> ZoneInfo:
    """The zone of the application in context (settings are checked at startup)."""
    return ZoneInfo(current_app.config["ALERTNET"].timezone)


def shown(moment: datetime, tz: ZoneInfo, style: Style = "datetime") -> str:
    """``moment`` as text in ``tz``: "5 Dec 2026, 08:26 GMT"."""
    if moment.tzinfo is None:
        raise ValueError("a time shown to people must be timezone-aware")
    return moment.astimezone(tz).strftime(_FORMATS[style])


def local(moment: datetime | date | None, style: Style = "datetime") -> Markup:
    """The filter: a time element (<time>) whose machine-readable value is UTC and whose
    text is the hub's local time with its zone's name. A bare date (a day
    people chose, like a report's period) is shown as it is."""
    if moment is None:
        return Markup("")
    if not isinstance(moment, datetime):
        return Markup('<time datetime="{}">{}</time>').format(
            moment.isoformat(), moment.strftime(_FORMATS["date"])
        )
    text = shown(moment, hub_zone(), style)
    utc = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    # "%" escapes both, as format would, at a fraction of its cost (lists show dozens).
    return Markup('<time datetime="%s">%s</time>') % (utc, text)


def zone_name() -> str:
    """The zone's key, like Europe/London, for labels such as "From (Europe/London)"."""
    return str(current_app.config["ALERTNET"].timezone)


def init_app(app: Flask) -> None:
    app.add_template_filter(local, "local")
    app.add_template_global(zone_name, "hub_zone_name")
