"""Which tier of each recipient school an alert is sealed to (design.md,
"Audience tiers"): all its staff (the school bundle) or its leadership (the
head and safeguarding leads: schools/leadership.py).

Without a choice, an alert about staff ("Staff named or discussed") and every
TLP:RED alert go to each school's leadership; everything else to all staff.
The sender may mark one recipient school as the school of the person the
alert is about: that school receives it at its leadership tier whatever the
rest. The sender's own copy (its Sent box) is at the tier chosen, so a member
outside their school's leadership cannot send at the leadership tier. The
coordinators' office has one tier: all its members are coordinators.
"""

from __future__ import annotations

import uuid

from crypto.header import TIER_ALL, TIER_LEADERSHIP
from network.alerts.named_models import TIER_NAMED
from network.alerts.sealing import Audience
from schools.errors import InvalidInput
from schools.leadership import in_leadership
from schools.models import Member

# The choices a sender has ("" leaves it to the default).
TIERS = (TIER_ALL, TIER_LEADERSHIP, TIER_NAMED)
LEADERSHIP_BY_DEFAULT = frozenset({"staff_named"})


def default_tier(category: str, tlp: str) -> str:
    """Leadership for alerts about staff and for TLP:RED, all staff otherwise."""
    return TIER_LEADERSHIP if category in LEADERSHIP_BY_DEFAULT or tlp == "RED" else TIER_ALL


def assign_tiers(
    actor: Member,
    audience: Audience,
    chosen: str,
    category: str,
    tlp: str,
    subject_school_id: uuid.UUID | None,
) -> Audience:
    """The audience with each school's tier; InvalidInput (nothing written)
    for a tier a school has no keys of, or that the sender is not in."""
    if chosen and chosen not in TIERS:
        raise InvalidInput("Choose all staff, leadership or named people.", field="tier")
    tier = chosen or default_tier(category, tlp)
    if tier == TIER_NAMED:
        # Stricter than leadership, the subject's school included: the named
        # people are chosen by the sender (network/alerts/named.py).
        return audience
    own, *others = audience.schools
    if subject_school_id is not None and subject_school_id not in {s.id for s in others}:
        raise InvalidInput(
            "The school of the person this is about must be one of the schools you send to.",
            field="subject_school",
        )
    tiers = {
        s.id: TIER_ALL if s.is_office else (TIER_LEADERSHIP if s.id == subject_school_id else tier)
        for s in audience.schools
    }
    if tiers[own.id] == TIER_LEADERSHIP and not in_leadership(actor):
        raise InvalidInput(
            "An alert for schools' leadership is for your own school's leadership too, and "
            "you are not in it: ask your head or a safeguarding lead to send it, or send it "
            "to all staff.",
            field="tier",
        )
    lacking = [
        s.name for s in audience.schools if tiers[s.id] != TIER_ALL and not s.leadership_generation
    ]
    if lacking:
        raise InvalidInput(
            f"{', '.join(lacking)} {'has' if len(lacking) == 1 else 'have'} no leadership keys "
            "yet, so cannot receive an alert for leadership only. A school's leadership keys "
            "are made when its head next signs in: ask its head to sign in, or send to all "
            "staff, or leave the school out.",
            field="tier",
        )
    return Audience(audience.schools, tiers)
