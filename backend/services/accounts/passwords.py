"""Password hashing (argon2id through argon2-cffi, its recommended parameters) and the rule."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backend.domain.errors import Unprocessable
from backend.domain.passwords import password_problem


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106's low-memory profile


def check_password_rule(password: str, email: str = "") -> None:
    """422 naming the rule when the password breaks it."""
    problem = password_problem(password, email)
    if problem is not None:
        raise Unprocessable(problem, {"password": [problem]})


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with older parameters (rehashed at the next login)."""
    return _hasher().check_needs_rehash(password_hash)


@functools.cache
def dummy_hash() -> str:
    """Verified against when the email is unknown, so both answers take as long."""
    return hash_password("no such user: timing equaliser")
