"""The password policy: long enough, not a common password, not the account's own name.

No composition rules (NIST SP 800-63B): length and a blocklist do more than forced symbols.
The blocklist is the ranked list of the 30,000 most common passwords that the ``zxcvbn``
package ships (``zxcvbn.frequency_lists``, compiled by Dropbox from leaked-password corpora),
checked case-insensitively, also when only decorated with leading/trailing digits and symbols
("Password123!" is "password").
"""

from __future__ import annotations

import re
from functools import lru_cache

MIN_LENGTH = 10
MAX_LENGTH = 1024
TOO_SHORT = f"Password must be at least {MIN_LENGTH} characters."
TOO_LONG = f"Password must be at most {MAX_LENGTH} characters."
TOO_COMMON = "This password is one of the most common passwords. Choose something less guessable."
TOO_PERSONAL = "The password must not contain your email address or name."
TOO_REPETITIVE = "The password must not be one character or a short pattern repeated."
# Words of this app that people reach for when asked for a password here.
_CONTEXT_WORDS = frozenset({"chronos", "chronos-crm", "realestate", "real-estate", "brokerage"})
_DECORATION = re.compile(r"^[\d\W_]+|[\d\W_]+$")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"]) | _CONTEXT_WORDS


def _is_repetitive(password: str) -> bool:
    """One character or a pattern of up to 3 repeated ("aaaaaaaaaa", "abcabcabcabc")."""
    for size in (1, 2, 3):
        unit = password[:size]
        if unit and unit * (len(password) // size) + unit[: len(password) % size] == password:
            return True
    return False


def problem(password: str, *, email: str = "", full_name: str = "") -> str | None:
    """What is wrong with ``password`` for this account, or None when it is acceptable."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    lowered = password.lower()
    if _is_repetitive(lowered):
        return TOO_REPETITIVE
    common = common_passwords()
    stripped = _DECORATION.sub("", lowered)
    if lowered in common or (len(stripped) >= 4 and stripped in common):
        return TOO_COMMON
    personal = {email.strip().lower(), email.strip().lower().partition("@")[0]}
    name = full_name.strip().lower()
    personal.update({name, name.replace(" ", "")})
    personal.update(part for part in name.split() if len(part) >= 4)
    for item in personal:
        if len(item) >= 4 and (item in lowered or (len(stripped) >= 4 and stripped in item)):
            return TOO_PERSONAL
    return None
