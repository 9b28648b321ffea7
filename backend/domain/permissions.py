"""Scopes and the built-in staff roles: what a caller may do on a tenant.

A scope is "<area>:<verb>" (e.g. "catalog:write"). A role is a named set of scopes; tenants may
add custom roles. A caller's effective scopes are its role's scopes, plus per-user overrides that
allow a scope, minus those that deny one (deny wins). API keys carry scopes of their own. The
service token (the assistant and the platform's own processes) is not scope-limited.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

SCOPES: Mapping[str, str] = MappingProxyType({
    "catalog:read": "See products, variants and services",
    "catalog:write": "Create, change and delete products, variants, services and stock",
    "orders:read": "See orders and carts",
    "orders:write": "Place, change, ship, cancel and refund orders",
    "bookings:read": "See appointments and availability",
    "bookings:write": "Book, reschedule, cancel appointments and mark no-shows",
    "customers:read": "See customers",
    "customers:write": "Change customers (tags, consent, erasure)",
    "customers:export": "Export customers' personal data",
    "conversations:read": "Read conversations and handoffs",
    "conversations:reply": "Reply to customers, take over and resume the assistant",
    "knowledge:read": "See knowledge-base documents and FAQ answers",
    "knowledge:write": "Change the knowledge base",
    "payments:settings": "Change payment providers and their credentials",
    "wallet:read": "See the wallet, its transactions and withdrawals",
    "wallet:withdraw": "Request withdrawals",
    "wallet:approve": "Approve another user's withdrawal",
    "campaigns:read": "See campaigns, templates and their reports",
    "campaigns:write": "Create, schedule, send and cancel campaigns and templates",
    "analytics:read": "See analytics, usage and the audit log",
    "integrations:write": "Connect and sync stores (WooCommerce, Shopify)",
    "users:manage": "Invite and remove members, change roles, overrides and API keys",
    "settings:read": "See the tenant's settings (opening hours, languages, features), tier limits "
                     "and usage",
    "settings:write": "Change the tenant's settings",
    "simulator:use": "Talk to the assistant in the simulator (sandbox mode), see its debug view and "
                     "save conversations as test stories",
    "nlu:review": "Review the customer messages the assistant was unsure of (masked): assign "
                  "intents and entities, discard, write them as candidate training data",
})
ALL_SCOPES = frozenset(SCOPES)


def _reads() -> frozenset[str]:
    return frozenset(s for s in SCOPES if s.endswith(":read"))


BUILT_IN_ROLES: Mapping[str, frozenset[str]] = MappingProxyType({
    "owner": ALL_SCOPES,
    "admin": ALL_SCOPES - {"wallet:withdraw", "wallet:approve", "payments:settings"},
    "finance": _reads() | {"wallet:withdraw", "wallet:approve", "payments:settings",
                           "orders:write", "customers:export"},
    "catalog_manager": _reads() - {"wallet:read"} | {"catalog:write", "knowledge:write",
                                                     "integrations:write"},
    "support_agent": frozenset({"catalog:read", "orders:read", "orders:write", "bookings:read",
                                "bookings:write", "customers:read", "conversations:read",
                                "conversations:reply", "knowledge:read", "settings:read"}),
    "viewer": _reads() - {"wallet:read", "analytics:read"},
    # Conversation designers: the simulator, and what the assistant talks about (read only).
    "designer": frozenset({"simulator:use", "catalog:read", "bookings:read", "knowledge:read",
                           "conversations:read", "settings:read"}),
    # The data team (the NLU review loop): what customers said and how it was classified.
    "data": frozenset({"conversations:read", "analytics:read", "knowledge:read", "catalog:read",
                       "settings:read", "nlu:review"}),
})
ROLE_NAMES = tuple(BUILT_IN_ROLES)


def effective_scopes(role_scopes: frozenset[str], allow: frozenset[str] = frozenset(),
                     deny: frozenset[str] = frozenset()) -> frozenset[str]:
    """A member's scopes: the role's, plus allowed overrides, minus denied ones (deny wins)."""
    return (role_scopes | allow) - deny


def unknown_scopes(scopes: frozenset[str] | set[str] | list[str]) -> list[str]:
    """The names among `scopes` that are not scopes, sorted (for 422 messages)."""
    return sorted(set(scopes) - ALL_SCOPES)
