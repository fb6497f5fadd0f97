"""What is sealed inside envelopes, and its validation.

Only this module knows the plaintext layouts; the hub stores their ciphertext.
Validation happens before sealing, so bad input never reaches the database.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from crypto.indicators import normalise_account, normalise_group, normalise_link
from network.alerts.steps import StepsTaken
from network.text import unstorable
from schools.errors import InvalidInput

MAX_TITLE = 200
MAX_DESCRIPTION = 10_000
MAX_NOTE = 5_000
MAX_LINKS = 20


@dataclass(frozen=True)
class Link:
    url: str
    seen_on: date | None = None


@dataclass(frozen=True)
class AlertContent:
    title: str
    description: str = ""
    links: tuple[Link, ...] = ()
    recommended_action: str = ""
    forwarded_note: str = ""
    # A forward's: the original envelope's content key, so that the forward's
    # readers open the original and check its sender's signatures themselves.
    original_key: bytes = field(default=b"", repr=False)
    # How many files the sender attached: the hub cannot drop one unseen.
    attachments: int | None = None
    # Accounts (handles) and groups or pages the alert is about, on its platform.
    accounts: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    # Under-age use: the pupils' year group ("R", "1" to "13"), never a name.
    year_group: str = ""
    # What the sender did before posting, as the cluster's guidance asks
    # (referrals and their reference numbers, the DSL named): sealed here only.
    steps: StepsTaken = field(default_factory=StepsTaken)

    def to_bytes(self) -> bytes:
        value: dict[str, object] = {
            "v": 1,
            "title": self.title,
            "description": self.description,
            "links": [
                {"url": link.url, "seen_on": link.seen_on.isoformat() if link.seen_on else None}
                for link in self.links
            ],
            "recommended_action": self.recommended_action,
            "forwarded_note": self.forwarded_note,
        }
        if self.original_key:
            value["original_key"] = base64.b64encode(self.original_key).decode("ascii")
        if self.attachments is not None:
            value["attachments"] = self.attachments
        # Left out when empty, so alerts without them seal the bytes they always did.
        if self.accounts:
            value["accounts"] = list(self.accounts)
        if self.groups:
            value["groups"] = list(self.groups)
        if self.year_group:
            value["year_group"] = self.year_group
        if self.steps:
            value["done"] = self.steps.to_value()
        return _json(value)

    def same_report_as(self, other: AlertContent) -> bool:
        """Whether two alerts say the same (a forward and its original)."""
        return (
            self.title,
            self.description,
            self.links,
            self.recommended_action,
            self.accounts,
            self.groups,
            self.year_group,
        ) == (
            other.title,
            other.description,
            other.links,
            other.recommended_action,
            other.accounts,
            other.groups,
            other.year_group,
        )

    def summary(self) -> bytes:
        """What a list shows, sealed apart from the rest (the envelope's summary)."""
        return _json({"v": 1, "title": self.title})

    @staticmethod
    def title_of(summary: bytes) -> str:
        """The title a summary (``summary()``'s bytes) carries."""
        title = json.loads(summary)["title"]
        if not isinstance(title, str):
            raise ValueError("a summary's title is text")
        return title

    @classmethod
    def from_bytes(cls, data: bytes) -> AlertContent:
        value = json.loads(data)
        return cls(
            title=value["title"],
            description=value["description"],
            links=tuple(
                Link(item["url"], date.fromisoformat(item["seen_on"]) if item["seen_on"] else None)
                for item in value["links"]
            ),
            recommended_action=value["recommended_action"],
            forwarded_note=value.get("forwarded_note", ""),
            original_key=base64.b64decode(value.get("original_key", "")),
            attachments=value.get("attachments"),
            accounts=tuple(value.get("accounts", ())),
            groups=tuple(value.get("groups", ())),
            year_group=value.get("year_group", ""),
            steps=StepsTaken.from_value(value.get("done")),
        )


@dataclass(frozen=True)
class Note:
    """The sealed text of a reply, an acknowledgement comment or an action."""

    text: str

    def to_bytes(self) -> bytes:
        return _json({"v": 1, "text": self.text})

    @classmethod
    def from_bytes(cls, data: bytes) -> Note:
        return cls(json.loads(data)["text"])


@dataclass(frozen=True)
class Sighting:
    """The sealed part of "We've seen this too": when and where (both optional)."""

    seen_on: date | None = None
    where: str = ""

    def to_bytes(self) -> bytes:
        seen_on = self.seen_on.isoformat() if self.seen_on else None
        return _json({"v": 1, "seen_on": seen_on, "where": self.where})

    @classmethod
    def from_bytes(cls, data: bytes) -> Sighting:
        value = json.loads(data)
        seen_on = date.fromisoformat(value["seen_on"]) if value["seen_on"] else None
        return cls(seen_on, value["where"])


@dataclass(frozen=True)
class Evidence:
    """An attachment: its name and type are sealed along with its bytes."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)

    def to_bytes(self) -> bytes:
        meta = _json({"v": 1, "filename": self.filename, "content_type": self.content_type})
        return struct.pack(">I", len(meta)) + meta + self.data

    @classmethod
    def from_bytes(cls, data: bytes) -> Evidence:
        (length,) = struct.unpack(">I", data[:4])
        meta = json.loads(data[4 : 4 + length])
        return cls(meta["filename"], meta["content_type"], data[4 + length :])


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def clean_text(
    value: str | None, field_name: str, label: str, limit: int, required: bool = False
) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    refused = unstorable(text)
    if refused is not None:
        raise InvalidInput(f"The {label} must not contain {refused}.", field=field_name)
    if required and not text:
        raise InvalidInput(f"Enter the {label}.", field=field_name)
    if len(text) > limit:
        raise InvalidInput(
            f"The {label} must be at most {limit:,} characters (it has {len(text):,}).",
            field=field_name,
        )
    return text


MAX_URL = 2000


def parse_link(url: str, seen_on: date | None, today: date) -> Link:
    """One link: an http or https address and, optionally, the day it was seen.
    A problem names the part it is about (``url`` or ``seen_on``)."""
    if any(c.isspace() for c in url):
        raise InvalidInput("A web address has no spaces.", field="url")
    try:
        parsed = urlsplit(url)
    except ValueError:  # an unclosed or invalid [IPv6] host, like http://[::1
        raise InvalidInput(
            "That web address is not valid: check the part after //.", field="url"
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput("Enter a web address starting with https:// (or http://).", field="url")
    if len(url) > MAX_URL:
        raise InvalidInput("That web address is too long.", field="url")
    if normalise_link(url) is None:
        raise InvalidInput(
            "That web address names no site (the part after // is empty), so other "
            "schools' alerts cannot be matched with it.",
            field="url",
        )
    if seen_on is not None and seen_on > today:
        raise InvalidInput("The date seen is in the future.", field="seen_on")
    return Link(url, seen_on)


def parse_links(raw: str | None, today: date) -> tuple[Link, ...]:
    """One link a line, optionally followed by the date it was seen:
    ``https://… 2026-11-20``. Only http and https links are accepted."""
    links = []
    for number, line in enumerate((raw or "").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        try:
            if len(parts) > 2:
                raise InvalidInput(
                    "Enter a web address starting with https:// (or http://), optionally "
                    "followed by the date you saw it, like 2026-11-20."
                )
            seen_on = None
            if len(parts) > 1:
                try:
                    seen_on = date.fromisoformat(parts[1])
                except ValueError:
                    raise InvalidInput("Write the date like 2026-11-20.") from None
            links.append(parse_link(parts[0], seen_on, today))
        except InvalidInput as error:
            message = error.message[:1].lower() + error.message[1:]
            raise InvalidInput(f"Line {number}: {message}", field="links") from None
    if len(links) > MAX_LINKS:
        raise InvalidInput(f"Give at most {MAX_LINKS} links.", field="links")
    return tuple(links)


MAX_ACCOUNTS = 20
MAX_ACCOUNT = 200


def parse_names(raw: str | None, field_name: str, what: str, platform: str) -> tuple[str, ...]:
    """Accounts (``what`` = "account", like ``@name``) or groups and pages, one
    a line. A line that leaves nothing to match once normalised (``@`` alone)
    is refused with its line number."""
    normalise = normalise_account if what == "account" else normalise_group
    article = "an" if what == "account" else "a"
    names = []
    for number, line in enumerate((raw or "").splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        refused = unstorable(name)
        if refused is not None:
            raise InvalidInput(
                f"Line {number}: {article} {what} must not contain {refused}.", field=field_name
            )
        if len(name) > MAX_ACCOUNT:
            raise InvalidInput(
                f"Line {number}: {article} {what} is at most {MAX_ACCOUNT} characters.",
                field=field_name,
            )
        if normalise(name, platform) is None:
            raise InvalidInput(
                f"Line {number}: give the {what}'s name (an @ alone names nobody).",
                field=field_name,
            )
        names.append(name)
    if len(names) > MAX_ACCOUNTS:
        raise InvalidInput(f"Give at most {MAX_ACCOUNTS} of them.", field=field_name)
    return tuple(names)
