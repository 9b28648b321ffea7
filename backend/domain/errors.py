"""Domain errors with one common base; backend/errors.py maps each kind to an HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected failure of a use case."""

    def __init__(self, description: str, field_errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(description)
        self.description = description
        self.field_errors = field_errors


class NotFound(DomainError):
    """The thing asked for does not exist (or belongs to another tenant)."""


class InvalidInput(DomainError):
    """The request is well-formed but a value cannot be used."""


class Unprocessable(DomainError):
    """Well-formed, but breaking a rule (e.g. an Idempotency-Key reused for another body): 422."""


class Unauthenticated(DomainError):
    """Missing or wrong credentials."""


class Forbidden(DomainError):
    """Authenticated, but the caller's scopes do not include what the route needs: 403."""


class Gone(DomainError):
    """The thing existed but can no longer be used (an expired or used invitation): 410."""


class LimitExceeded(DomainError):
    """The tenant's subscription tier does not allow this (e.g. more products than the tier holds)."""


class Conflict(DomainError):
    """The change clashes with data that already exists."""


class Unavailable(DomainError):
    """A dependency (queue, database) cannot do its part right now."""


class TooManyAttempts(DomainError):
    """Too many failed attempts (a locked account after wrong passwords): 429."""
