"""What the sending school did before posting, as the cluster's guidance asks
(referrals made, their reference numbers, the DSL named): sealed inside the
alert's content (network/alerts/content.py), never stored in clear.

The agencies are codes; the reference numbers and the DSL's name are text only
the alert's recipients read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from network.alerts import vocab
from network.text import unstorable
from schools.errors import InvalidInput

# One vocabulary with the referral tracker (vocab.ACTIONS): what the sender did
# before posting uses the codes and words a referral recorded later does, so a
# governors' count can put the two side by side.
AGENCIES = vocab.ACTIONS
AGENCY_CODES = vocab.codes(AGENCIES)
# Codes an alert sealed before the vocabulary was shared may carry: read as
# today's (the signed content is not changed, only how it is shown).
_EARLIER_CODES = {
    "childrens_social_care": "social_services",
    "platform": "reported_platform",
    "report_harmful_content": "reported_rhc",
}
MAX_REFERENCES = 300
MAX_DSL = 200


def agency_label(code: str) -> str:
    return vocab.label(AGENCIES, _EARLIER_CODES.get(code, code))


@dataclass(frozen=True)
class StepsTaken:
    """Referrals or reports made (``agencies``), their reference numbers, when,
    and the designated safeguarding lead named. Empty: nothing recorded."""

    agencies: tuple[str, ...] = ()
    references: str = ""
    referred_on: date | None = None
    dsl: str = ""

    def __bool__(self) -> bool:
        return bool(self.agencies or self.references or self.referred_on or self.dsl)

    def to_value(self) -> dict[str, object]:
        return {
            "agencies": list(self.agencies),
            "references": self.references,
            "referred_on": self.referred_on.isoformat() if self.referred_on else None,
            "dsl": self.dsl,
        }

    @classmethod
    def from_value(cls, value: dict[str, object] | None) -> StepsTaken:
        if not value:
            return cls()
        referred_on = value.get("referred_on")
        agencies = value.get("agencies") or []
        return cls(
            agencies=tuple(str(a) for a in agencies) if isinstance(agencies, list) else (),
            references=str(value.get("references") or ""),
            referred_on=date.fromisoformat(referred_on) if isinstance(referred_on, str) else None,
            dsl=str(value.get("dsl") or ""),
        )

    @property
    def agency_labels(self) -> list[str]:
        return [agency_label(code) for code in self.agencies]


def _text(value: str | None, field: str, label: str, limit: int) -> str:
    text = " ".join((value or "").split())
    refused = unstorable(text)
    if refused is not None:
        raise InvalidInput(f"The {label} must not contain {refused}.", field=field)
    if len(text) > limit:
        raise InvalidInput(
            f"The {label} must be at most {limit:,} characters (it has {len(text):,}).",
            field=field,
        )
    return text


def check_steps(
    agencies: list[str] | tuple[str, ...],
    references: str | None,
    referred_on: date | None,
    dsl: str | None,
    today: date,
) -> StepsTaken:
    """The steps, checked; a problem names its field. A reference number or a
    date needs the agency it belongs to."""
    chosen = tuple(dict.fromkeys(a for a in agencies if a))
    if any(a not in AGENCY_CODES for a in chosen):
        raise InvalidInput("Choose from the list.", field="referred_to")
    refs = _text(references, "references", "reference numbers", MAX_REFERENCES)
    named = _text(dsl, "dsl_name", "safeguarding lead's name", MAX_DSL)
    if refs and not chosen:
        raise InvalidInput(
            "Tick the referral or step the reference number belongs to.",
            field="references",
        )
    if referred_on is not None and not chosen:
        raise InvalidInput("Tick the referral or step taken on that day.", field="referred_on")
    if referred_on is not None and referred_on > today:
        raise InvalidInput("The day of the referral is in the future.", field="referred_on")
    return StepsTaken(chosen, refs, referred_on, named)
