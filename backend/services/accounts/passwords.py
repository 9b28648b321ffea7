"""Password hashing (argon2id through argon2-cffi) and the rule.

The cost is RFC 9106's low-memory profile (64 MiB, 3 passes, 4 lanes) unless
PASSWORD_HASH_MEMORY_KIB / PASSWORD_HASH_TIME_COST say otherwise (the tests use a cheap cost);
a hash made with other parameters is redone at the next successful login.
"""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.domain.errors import Unprocessable
from backend.domain.passwords import password_problem
from backend.settings import Settings


@functools.cache
def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost)  # argon2id, 4 lanes


def _configured(settings: Settings) -> PasswordHasher:
    return _hasher(settings.password_hash_memory_kib, settings.password_hash_time_cost)


def check_password_rule(password: str, email: str = "") -> None:
    """422 naming the rule when the password breaks it."""
    problem = password_problem(password, email)
    if problem is not None:
        raise Unprocessable(problem, {"password": [problem]})


def hash_password(password: str, settings: Settings) -> str:
    return _configured(settings).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Checked with the parameters stored in the hash itself."""
    try:
        return _hasher(64, 1).verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, settings: Settings) -> bool:
    """True when the hash was made with other parameters than the configured ones."""
    return _configured(settings).check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash(memory_kib: int, time_cost: int) -> str:
    return _hasher(memory_kib, time_cost).hash("no such user: timing equaliser")


def dummy_hash(settings: Settings) -> str:
    """Verified against when the email is unknown, so both answers take as long."""
    return _dummy_hash(settings.password_hash_memory_kib, settings.password_hash_time_cost)
