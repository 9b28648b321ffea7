"""A suspended merchant gets a notice instead of a turn; quiet hours ride along in the turn's metadata."""
from __future__ import annotations

import pytest

from kit.clock import local_now
from tests.channel.test_whatsapp_channel import form, post

pytestmark = pytest.mark.asyncio


def around_now() -> dict:
    """Quiet hours from an hour ago to an hour from now, Nairobi time (may cross midnight)."""
    hour = local_now("Africa/Nairobi").hour
    return {"start": f"{(hour - 1) % 24:02d}:00", "end": f"{(hour + 2) % 24:02d}:00"}


async def test_suspended_merchant_gets_a_notice_and_no_turn(channel_server, backend):
    backend.tenant_extra = {"status": "suspended"}
    status, _ = await post(channel_server["url"], form("hi, do you sell shoes?"))
    assert status == 200 and channel_server["received"] == []
    [batch] = backend.outbound
    assert batch["messages"][0]["body"].startswith("Sorry, Shop can't take orders")
    assert len(backend.inbound) == 1  # the message itself is kept for the merchant


async def test_quiet_hours_run_the_turn_and_say_until_when(channel_server, backend):
    quiet = around_now()
    backend.tenant_extra = {"quiet_hours": quiet, "timezone": "Africa/Nairobi"}
    await post(channel_server["url"], form("habari, mnauza viatu?"))
    [message] = channel_server["received"]
    assert message.metadata["quiet_until"] == quiet["end"]


async def test_outside_quiet_hours_the_turn_runs(channel_server, backend):
    backend.tenant_extra = {"quiet_hours": None, "status": "active"}
    await post(channel_server["url"], form("habari"))
    [message] = channel_server["received"]
    assert message.metadata["quiet_until"] is None
