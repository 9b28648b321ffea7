"""A suspended merchant and quiet hours replace the turn with a notice in the customer's language."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.channels import availability
from tests.channel.test_whatsapp_channel import form, post

pytestmark = pytest.mark.asyncio



def around_now() -> dict:
    """Quiet hours from an hour ago to an hour from now, Nairobi time (may cross midnight)."""
    hour = availability.local_now("Africa/Nairobi").hour
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


@pytest.mark.parametrize("quiet, hour, expected", [
    ({"start": "21:00", "end": "07:00"}, 22, True), ({"start": "21:00", "end": "07:00"}, 6, True),
    ({"start": "21:00", "end": "07:00"}, 7, False), ({"start": "21:00", "end": "07:00"}, 12, False),
    ({"start": "13:00", "end": "14:00"}, 13, True), (None, 3, False)])
async def test_quiet_hours_window(quiet, hour, expected):
    local = availability.local_now("Africa/Nairobi", datetime(2026, 11, 22, hour, 30,
                                                              tzinfo=timezone.utc))
    local = local.replace(hour=hour)
    assert availability.in_quiet_hours(quiet, local) is expected


async def test_quiet_until_is_the_end_while_quiet():
    quiet = {"start": "21:00", "end": "07:00"}
    night = datetime(2026, 11, 22, 20, 0, tzinfo=timezone.utc)  # 23:00 in Nairobi
    noon = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
    assert availability.quiet_until(quiet, "Africa/Nairobi", night) == "07:00"
    assert availability.quiet_until(quiet, "Africa/Nairobi", noon) is None
