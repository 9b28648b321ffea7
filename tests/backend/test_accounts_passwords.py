"""The password rule (length, common passwords with decorations, the email's name part) and
argon2id hashes."""

from __future__ import annotations

import pytest

from backend.domain.passwords import MIN_LENGTH, password_problem
from backend.services.accounts.passwords import hash_password, needs_rehash, verify_password
from backend.settings import Settings


@pytest.mark.parametrize("password", [
    "short1!", "Password123!", "2026nairobi!!", "QWERTYUIOP", "1234567890", "aaaaaaaaaaaa",
    "!!!!2026!!!!", "wanjiku.kamau",
])
def test_weak_passwords_are_refused_naming_the_rule(password: str) -> None:
    problem = password_problem(password, "Wanjiku.Kamau@example.com")
    assert problem is not None and "characters" in problem


@pytest.mark.parametrize("password", ["correct-horse-battery", "Nairobi rains in April 7",
                                      "mpesa-till-4471-dukamoja"])
def test_unusual_passwords_pass(password: str) -> None:
    assert len(password) >= MIN_LENGTH
    assert password_problem(password, "owner@example.com") is None


def test_hashes_are_argon2id_salted_and_verified() -> None:
    settings = Settings()  # the production cost: RFC 9106's low-memory profile
    first = hash_password("correct-horse-battery", settings)
    second = hash_password("correct-horse-battery", settings)
    assert first.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and first != second
    assert not needs_rehash(first, settings)
    assert needs_rehash(first, Settings(password_hash_memory_kib=1024, password_hash_time_cost=1))
    assert verify_password(first, "correct-horse-battery")
    assert not verify_password(first, "correct-horse-batterY")
    assert not verify_password("not a hash", "correct-horse-battery")
