"""The password rule for staff accounts (checked before hashing; 422 names the rule).

A password has at least MIN_LENGTH and at most MAX_LENGTH characters, and is not a common
password: neither one of the bundled list (common_passwords.txt: the most used passwords and
base words of leaked lists, plus local ones) nor such a word with only digits and symbols
around it ("Password123!", "2024nairobi"), nor the email's name part, nor one repeated character.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

MIN_LENGTH = 10
MAX_LENGTH = 128
RULE = (f"at least {MIN_LENGTH} characters, not a common password or a common word with only "
        "digits and symbols added, not the email's name part")
_DECORATION = re.compile(r"^[\W\d_]*(.*?)[\W\d_]*$", re.DOTALL)


@functools.cache
def common_passwords() -> frozenset[str]:
    text = (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def password_problem(password: str, email: str = "") -> str | None:
    """Why `password` breaks the rule, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"The password needs at least {MIN_LENGTH} characters ({RULE})"
    if len(password) > MAX_LENGTH:
        return f"The password may have at most {MAX_LENGTH} characters"
    lowered = password.lower()
    match = _DECORATION.match(lowered)
    core = match.group(1) if match else lowered
    common = common_passwords()
    if lowered in common or core in common or len(set(lowered)) == 1 or not core:
        return f"The password is too common ({RULE})"
    local = email.lower().partition("@")[0]
    if local and len(local) >= 3 and core in {local, local.replace(".", "")}:
        return f"The password must not be the email's name part ({RULE})"
    return None
