"""The fake shop on loopback for the actions, and trackers built like rasa sends them."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
import pytest_asyncio
from rasa_sdk import Tracker

from actions import backend as backend_module
from tests.actions.fake_shop import FakeShop
from tests.actions.loopback import serve, stop
from tests.contract.contract import assert_conform, watch

SHOP_MODULES = ("actions.catalog", "actions.delivery", "actions.language", "actions.orders", "actions.payments", "actions.support")


@pytest_asyncio.fixture
async def shop(monkeypatch):
    """A FakeShop on loopback, with every shop action module's backend client pointed at it; what
    the actions sent and the fake answered must be what the backend reads and answers."""
    fake = FakeShop()
    app = fake.app()
    exchanges = watch(app)
    runner, client = await serve(app)
    monkeypatch.setattr(backend_module, "backend", client)
    for module in SHOP_MODULES:
        monkeypatch.setattr(f"{module}.backend", client)
    yield fake
    await stop(runner, client)
    assert_conform(exchanges)


@pytest.fixture
def catalog(shop):
    """The catalog tests' name for the shop."""
    return shop


def tracker(intent: str = "browse_products", entities: Optional[List[Dict[str, Any]]] = None,
            slots: Optional[Dict[str, Any]] = None, text: str = "") -> Tracker:
    return Tracker(
        sender_id="shop:c0123456789abcdef01234567", slots={"language": "en", **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9},
                        "entities": entities or []},
        events=[], paused=False, followup_action=None, active_loop={},
        latest_action_name="action_listen")
