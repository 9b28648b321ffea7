"""Issue 19's salon story through the real stack: a customer books a service that asks a deposit
(the demo salon's Knotless Braids, 30 %), the slot is held pending payment, the deposit is paid
by M-Pesa (the Daraja simulator), and the booking is confirmed."""
from __future__ import annotations

import re
import time

import requests

from tests.e2e.conftest import new_phone
from tests.e2e.test_conversation import SALON_NUMBER, SALON_TOKEN
from tests.e2e.test_flows import wait_for

HELD = re.compile(r"Nafasi imeshikwa ⏳ #(\d+).*\(oda #(\d+)\)", re.S)


def salon_say(stack, phone: str, text: str) -> str:
    after = stack.last_id(phone)
    response = stack.post(phone, text, token=SALON_TOKEN, to=SALON_NUMBER)
    assert response.status_code == 200, response.text
    return "\n".join(stack.replies(phone, after))


def salon_get(stack, path: str) -> dict:
    r = requests.get(stack.backend + path, timeout=10, headers={
        "Authorization": f"Bearer {stack.service_token}", "X-TENANT-ID": "demo-salon"})
    r.raise_for_status()
    return r.json()


def test_a_salon_customer_pays_a_deposit_to_book(stack):
    phone = new_phone()
    reply = salon_say(stack, phone,
                      "nataka kuweka miadi ya knotless braids jumamosi saa tatu asubuhi")
    if "Ungependa *Knotless Braids* ipi?" in reply:
        reply = salon_say(stack, phone, "ya kwanza")
    if "Nafasi zilizo karibu" in reply:  # that hour is taken or past: the nearest free one
        reply = salon_say(stack, phone, "1")
    assert "Miadi yako:" in reply and "Knotless Braids" in reply, reply
    held = salon_say(stack, phone, "ndiyo")
    found = HELD.search(held)
    assert found, held
    appointment_id, order_id = found.groups()
    # 30 % of the Medium variant's KES 3,500.
    assert "Lipa amana ya KES 1,050" in held and "1. M-Pesa" in held, held
    appointment = salon_get(stack, f"/v1/appointments/{appointment_id}")
    assert appointment["status"] == "pending_payment"
    assert appointment["deposit_minor"] == 105000
    after = stack.last_id(phone)
    sent = salon_say(stack, phone, "1")
    assert "Angalia simu yako" in sent, sent
    receipt = wait_for(stack, phone, after, r"Malipo yamepokelewa")
    assert f"#{order_id}" in receipt and "KES 1,050" in receipt, receipt
    deadline = time.monotonic() + 30
    while salon_get(stack, f"/v1/appointments/{appointment_id}")["status"] != "booked":
        assert time.monotonic() < deadline, "the paid deposit did not confirm the booking"
        time.sleep(0.3)
    order = salon_get(stack, f"/v1/orders/{order_id}")
    assert order["status"] == "paid" and order["total_minor"] == 105000
    assert [line["kind"] for line in order["lines"]] == ["deposit"]
