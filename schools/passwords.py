"""Password rules a head can follow on a phone: long rather than complex (NCSC
"three random words"), not a well-known password, not the person's own name."""

from __future__ import annotations

import unicodedata

from schools.errors import InvalidInput, Problems

MIN_LENGTH = 12
MAX_LENGTH = 256

# The commonest passwords that meet the length rule; a longer list would live
# in a data file, but length does most of the work.
_COMMON = frozenset(
    {
        "password1234",
        "123456789012",
        "qwertyuiopas",
        "passwordpassword",
        "iloveyou1234",
        "welcome12345",
        "letmein12345",
        "administrator",
        "qwerty123456",
        "1234567890ab",
        "abcdefghijkl",
        "schoolschool",
        "teacher12345",
        "headteacher1",
        "password123!",
        "changeme1234",
        "aaaaaaaaaaaa",
        "111111111111",
        "000000000000",
    }
)


def check_new_password(password: str, confirm: str, *, email: str = "", name: str = "") -> str:
    """Return the NFKC-normalised password or raise InvalidInput naming the
    field; a weak password and a confirmation that does not match are both said."""
    password = unicodedata.normalize("NFKC", password)
    problems = Problems()
    problems.check(None, lambda: _check_strength(password, email, name))
    if password and unicodedata.normalize("NFKC", confirm) != password:
        problems.add(InvalidInput("The two passwords do not match.", field="confirm"))
    problems.raise_any()
    return password


def _check_strength(password: str, email: str, name: str) -> None:
    if not password:
        raise InvalidInput("Enter a password.", field="password")
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"Use at least {MIN_LENGTH} characters; three random words work well.",
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"Use at most {MAX_LENGTH} characters.", field="password")
    lowered = password.lower()
    if lowered in _COMMON or len(set(lowered)) < 4:
        raise InvalidInput("That password is too easy to guess; choose another.", field="password")
    local_part = email.split("@", 1)[0].lower()
    if (local_part and len(local_part) >= 4 and local_part in lowered) or (
        name and name.lower().replace(" ", "") in lowered.replace(" ", "")
    ):
        raise InvalidInput(
            "Do not use your name or email address in the password.", field="password"
        )
