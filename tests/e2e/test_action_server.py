"""The running action server (issue 13 item 1): only rasa, with the shared secret, gets an action run.

Before: `POST :5055/webhook` with next_action=action_order_status and any sender id returned that
customer's orders, from any address (0.0.0.0).
"""
from __future__ import annotations

from pathlib import Path

import requests

from tests.e2e.conftest import new_phone
from _webhook import read_env_file

LISTEN = "0A"  # TCP state in /proc/net/tcp


def order_status_call(sender: str) -> dict:
    return {
        "next_action": "action_order_status", "sender_id": sender, "version": "3.6.21",
        "domain": {"responses": {}, "slots": {}},
        "tracker": {"sender_id": sender, "slots": {"language": "en"}, "events": [],
                    "latest_message": {"text": "my orders", "intent": {"name": "check_order_status"},
                                       "entities": []},
                    "paused": False, "followup_action": None, "active_loop": {},
                    "latest_action_name": "action_listen"},
    }


def listening_addresses(port: int) -> set:
    """Local IPv4 addresses with a listening socket on `port` ("7F000001" is 127.0.0.1)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hex_port = local.partition(":")
        if state == LISTEN and int(hex_port, 16) == port:
            found.add(bytes.fromhex(address)[::-1].hex().upper())
    return found


def test_only_callers_with_rasas_token_get_a_customers_orders(stack):
    url = f"http://127.0.0.1:{stack.env['ACTIONS_PORT']}/webhook"
    phone = new_phone()
    assert stack.say(phone, "hi")  # a real customer of the demo shop
    call = order_status_call(f"demo-shop:{phone}")
    token = read_env_file(Path(stack.env["VAR_DIR"]) / "secrets.env")["ACTIONS_TOKEN"]

    for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": f"Bearer {token[:-1]}"}):
        r = requests.post(url, json=call, headers=headers, timeout=10)
        assert r.status_code == 401, (headers, r.status_code, r.text[:200])
        assert set(r.json()) == {"code", "message", "description"}
    r = requests.post(url, json=call, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200 and r.json()["responses"]


def test_the_action_server_listens_on_loopback_only_and_health_is_open(stack):
    port = int(stack.env["ACTIONS_PORT"])
    assert listening_addresses(port) == {"7F000001"}
    assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).ok


def test_the_conversation_still_reaches_the_actions(stack):
    """An answer only action_order_status gives comes through rasa, which sends the token."""
    phone = new_phone()
    stack.say(phone, "hi")
    assert "I can't find any orders from this number yet." in stack.say(phone, "where is my order")
