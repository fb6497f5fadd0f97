"""The social platforms alerts are filed under: their minimum ages and where
to report to them. The hub admin adds, edits and retires them (the platforms
page and `alertnet platform`); a retired platform is no longer offered for
new alerts, and alerts already filed under it keep it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from network.alerts.content import MAX_URL, parse_link
from network.alerts.models import Platform
from network.text import unstorable
from schools import audit
from schools.db import utcnow
from schools.errors import Conflict, InvalidInput, NotFound, Problems
from schools.models import Member

MAX_AGE = 21
MAX_NAME = 100
# "other" sits last whatever is added after it.
LAST_POSITION = 99
_CODE = re.compile(r"[a-z0-9][a-z0-9_]{0,31}")


@dataclass(frozen=True)
class PlatformDetails:
    """What the hub admin says about a platform."""

    name: str
    minimum_age: int
    reporting_url: str = ""
    underage_reporting_url: str = ""


_ORDER = (Platform.position, Platform.name)


def platforms(session: Session, include_retired: bool = False) -> list[Platform]:
    """The platforms offered for new alerts, or (``include_retired``) every
    platform an alert may be filed under, for filters and names."""
    query = select(Platform).order_by(*_ORDER)
    if not include_retired:
        query = query.where(Platform.retired_at.is_(None))
    return list(session.scalars(query))


def names(session: Session) -> tuple[tuple[str, str], ...]:
    """Every platform's code and name, retired ones too, in ``platforms``'
    order: what a filter offers, as plain values (no rows loaded)."""
    named = select(Platform.code, Platform.name).order_by(*_ORDER)
    return tuple((code, name) for code, name in session.connection().execute(named))


def offered(session: Session, code: str) -> Platform | None:
    """The platform a new alert may be filed under, or None (unknown or retired)."""
    platform = session.get(Platform, code) if code else None
    return platform if platform is not None and not platform.retired else None


def _check_url(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        return ""
    if len(value) > MAX_URL:
        raise InvalidInput("That web address is too long.", field=field)
    try:
        parse_link(value, None, utcnow().date())
    except InvalidInput as error:
        raise InvalidInput(error.message, field=field) from None
    return value


def _check_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise InvalidInput("Enter the platform's name.", field="name")
    if (refused := unstorable(name)) is not None:
        raise InvalidInput(f"The name must not contain {refused}.", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"The name must be at most {MAX_NAME} characters.", field="name")
    return name


def _check_age(age: int) -> int:
    if not 0 <= age <= MAX_AGE:
        raise InvalidInput(
            f"Enter an age from 0 to {MAX_AGE} (0 if the platform sets none).",
            field="minimum_age",
        )
    return age


def check_details(details: PlatformDetails, problems: Problems | None = None) -> PlatformDetails:
    """The details, cleaned; every problem names its field, all reported together."""
    found = problems or Problems()
    cleaned = PlatformDetails(
        found.check("", lambda: _check_name(details.name)),
        found.check(0, lambda: _check_age(details.minimum_age)),
        found.check("", lambda: _check_url(details.reporting_url, "reporting_url")),
        found.check(
            "", lambda: _check_url(details.underage_reporting_url, "underage_reporting_url")
        ),
    )
    if problems is None:
        found.raise_any()
    return cleaned


def check_new(code: str, details: PlatformDetails) -> tuple[str, PlatformDetails]:
    """A new platform's code and details, cleaned; every problem reported together."""
    code = code.strip().lower()
    problems = Problems()
    if not _CODE.fullmatch(code):
        problems.add(
            InvalidInput(
                "Enter a code of up to 32 lower-case letters, digits and underscores, "
                "starting with a letter or digit, e.g. bereal.",
                field="code",
            )
        )
    details = check_details(details, problems)
    problems.raise_any()
    return code, details


def _described(platform: Platform) -> dict[str, object]:
    return {
        "name": platform.name,
        "minimum_age": platform.minimum_age,
        "reporting_url": platform.reporting_url,
        "underage_reporting_url": platform.underage_reporting_url,
    }


def platform_named(session: Session, code: str) -> Platform:
    platform = session.get(Platform, code) if code else None
    if platform is None:
        raise NotFound(f"There is no platform {code!r}.", field="code")
    return platform


def add_platform(
    session: Session, actor: Member | None, code: str, details: PlatformDetails
) -> Platform:
    code, details = check_new(code, details)
    if session.get(Platform, code) is not None:
        raise Conflict(f"There is already a platform {code!r}.", field="code")
    last = session.scalar(
        select(func.max(Platform.position)).where(Platform.position < LAST_POSITION)
    )
    platform = Platform(
        code=code,
        name=details.name,
        minimum_age=details.minimum_age,
        position=min((last or 0) + 1, LAST_POSITION - 1),
        reporting_url=details.reporting_url,
        underage_reporting_url=details.underage_reporting_url,
    )
    session.add(platform)
    session.flush()
    audit.record(
        session,
        "platform.added",
        actor=actor,
        object_type="platform",
        object_id=code,
        after=_described(platform),
    )
    return platform


def edit_platform(
    session: Session, actor: Member | None, code: str, details: PlatformDetails
) -> Platform:
    """Platforms change their terms; the hub admin keeps them current."""
    platform = platform_named(session, code)
    details = check_details(details)
    before = _described(platform)
    platform.name = details.name
    platform.minimum_age = details.minimum_age
    platform.reporting_url = details.reporting_url
    platform.underage_reporting_url = details.underage_reporting_url
    session.flush()
    audit.record(
        session,
        "platform.edited",
        actor=actor,
        object_type="platform",
        object_id=code,
        before=before,
        after=_described(platform),
    )
    return platform


def retire_platform(session: Session, actor: Member | None, code: str) -> Platform:
    platform = platform_named(session, code)
    if platform.retired:
        raise Conflict(f"{platform.name} is already retired.", field="code")
    platform.retired_at = utcnow()
    session.flush()
    audit.record(session, "platform.retired", actor=actor, object_type="platform", object_id=code)
    return platform


# --- year groups -----------------------------------------------------------------------

# Reception, then Years 1 to 13 (England and Wales numbering). A year group,
# never a pupil's name, is what an under-age alert records about who.
YEAR_GROUPS = ("R", *(str(n) for n in range(1, 14)))


def year_group_label(code: str) -> str:
    return "Reception" if code == "R" else f"Year {code}"


def check_year_group(value: str | None, category: str) -> str:
    """A year group from the list, given only for under-age use; "" for none."""
    value = (value or "").strip()
    if not value:
        return ""
    if value not in YEAR_GROUPS:
        raise InvalidInput("Choose Reception or a year from 1 to 13.", field="year_group")
    if category != "under_age":
        raise InvalidInput(
            "A year group is recorded only for under-age use of a platform.",
            field="year_group",
        )
    return value


def ages_in(year_group: str) -> tuple[int, int]:
    """The ages of pupils in a year group during the school year: Reception
    pupils are 4 or 5, Year n pupils n+4 or n+5."""
    n = 0 if year_group == "R" else int(year_group)
    return n + 4, n + 5


def under_age_warning(year_group: str, platform: Platform | None) -> str:
    """What to warn when pupils of the year group are below the platform's
    minimum age; "" when none is (or either is unknown)."""
    if not year_group or platform is None or not platform.minimum_age:
        return ""
    youngest, oldest = ages_in(year_group)
    label = year_group_label(year_group)
    if oldest < platform.minimum_age:
        return (
            f"Every pupil in {label} (aged {youngest} to {oldest}) is under "
            f"{platform.name}'s minimum age of {platform.minimum_age}."
        )
    if youngest < platform.minimum_age:
        return (
            f"Some pupils in {label} (aged {youngest} to {oldest}) are under "
            f"{platform.name}'s minimum age of {platform.minimum_age}."
        )
    return ""
