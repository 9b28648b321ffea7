"""Invitations accepted at the same moment: one membership whatever the interleaving.

Each accept is a request of its own thread (its own test client and database connection). On
PostgreSQL the test holds every insert into memberships (a table lock that still lets reads
through) until all the accepts are blocked inside their transactions, so the race really
happens every run; SQLite (one writer at a time) is held to the same results.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, Iterator

from flask import Flask
from sqlalchemy import func, select, text, update

from backend.models import Invitation, Membership, User
from backend.wiring import Context
from tests.backend.accounts_helpers import make_user
from tests.backend.conftest import TENANT_ID, service_headers

STRONG = "a-long-and-unusual-passphrase"
WAIT_SECONDS = 30


@contextmanager
def memberships_held(ctx: Context) -> Iterator[Callable[[int], None]]:
    """On PostgreSQL: no membership can be inserted until release(n) sees n sessions waiting
    on a lock. On SQLite release does nothing (its writers take turns anyway)."""
    if ctx.db.engine.dialect.name != "postgresql":
        yield lambda _: None
        return
    with ctx.db.engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("LOCK TABLE memberships IN EXCLUSIVE MODE"))

        def release(waiting: int) -> None:
            deadline = time.monotonic() + WAIT_SECONDS
            while True:
                # (the activity view is a snapshot held for the transaction: take a new one)
                connection.execute(text("SELECT pg_stat_clear_snapshot()"))
                blocked = connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar_one()
                if blocked >= waiting:
                    break
                if time.monotonic() >= deadline:
                    rows = connection.execute(text(
                        "SELECT datname, state, wait_event_type, wait_event, left(query, 80) "
                        "FROM pg_stat_activity")).all()
                    raise AssertionError(f"only {blocked} of {waiting} accepts waiting: {rows}")
                time.sleep(0.02)
            transaction.commit()

        try:
            yield release
        finally:
            if transaction.is_active:
                transaction.rollback()


def accept_together(app: Flask, bodies: list[dict[str, Any]]) -> list[int]:
    """POST every body to /v1/invitations/accept at once; the answers' statuses, sorted."""
    ctx: Context = app.extensions["backend"]
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(body: dict[str, Any]) -> None:
        client = app.test_client()
        barrier.wait()
        status = client.post("/v1/invitations/accept", json=body).status_code
        with lock:
            statuses.append(status)

    with memberships_held(ctx) as release:
        threads = [threading.Thread(target=worker, args=(body,)) for body in bodies]
        for thread in threads:
            thread.start()
        release(len(bodies))
        for thread in threads:
            thread.join(timeout=WAIT_SECONDS)
    assert len(statuses) == len(bodies), "an accept did not answer"
    return sorted(statuses)


def invite(app: Flask, email: str, role: str = "viewer") -> dict[str, Any]:
    response = app.test_client().post("/v1/invitations", json={"email": email, "role": role},
                                      headers=service_headers(TENANT_ID))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def two_open_invitations(app: Flask, email: str) -> tuple[str, str]:
    """Two pending invitations of one email (as two invites racing would leave them)."""
    first, second = invite(app, email), invite(app, email, "support_agent")
    ctx: Context = app.extensions["backend"]
    with ctx.db.transaction() as session:  # the second invite withdrew the first: undo that
        session.execute(update(Invitation).where(Invitation.id == first["id"])
                        .values(revoked_at=None))
    return first["token"], second["token"]


def memberships_of(ctx: Context, email: str) -> int:
    with ctx.db.transaction() as session:
        return int(session.scalar(select(func.count(Membership.id)).join(
            User, User.id == Membership.user_id).where(
            User.email == email, Membership.tenant_id == TENANT_ID)) or 0)


def test_one_invitation_accepted_twice_at_once_makes_one_member(app, tenants) -> None:
    token = invite(app, "twice@example.com")["token"]
    statuses = accept_together(app, [{"token": token, "password": STRONG}] * 2)
    assert statuses == [201, 410]  # the second finds it used
    assert memberships_of(tenants, "twice@example.com") == 1


def test_two_invitations_of_an_existing_user_accepted_at_once_make_one_member(
        app, tenants) -> None:
    make_user(tenants, "known@example.com", role=None)
    tokens = two_open_invitations(app, "known@example.com")
    statuses = accept_together(app, [{"token": token} for token in tokens])
    assert statuses == [201, 201]  # as one after the other: the second finds the membership
    assert memberships_of(tenants, "known@example.com") == 1


def test_two_invitations_of_a_new_email_accepted_at_once_make_one_account(app, tenants) -> None:
    tokens = two_open_invitations(app, "fresh@example.com")
    statuses = accept_together(app, [{"token": token, "password": STRONG} for token in tokens])
    if tenants.db.engine.dialect.name == "postgresql":
        # Both were past "no such user" when the first created it: the other is told to log in.
        assert statuses == [201, 409]
    else:
        assert statuses == [201, 201]  # SQLite: one after the other
    assert memberships_of(tenants, "fresh@example.com") == 1
    with tenants.db.transaction() as session:
        assert session.scalar(select(func.count(User.id)).where(
            User.email == "fresh@example.com")) == 1
