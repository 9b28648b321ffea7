"""The operator onboards a new merchant on the running stack: creates the tenant through the REST
API, tests its Twilio account against the sandbox simulator, and a customer's signed WhatsApp
message to the new number is answered by the real Rasa stack from that number. A tenant suspended
before its first message gets the channel's notice instead of a turn."""
from __future__ import annotations

from typing import Any, Dict

import requests

from tests.e2e.conftest import new_phone

TOKEN = "onboarded-twilio-token"


def operator(stack, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{stack.backend}/v1/platform{path}", timeout=30,
                            headers={"Authorization": f"Bearer {stack.service_token}"}, **kwargs)


def onboard(stack, slug: str, number: str, sid: str) -> Dict[str, Any]:
    created = operator(stack, "POST", "/tenants", json={
        "name": f"{slug.title()} Stores", "slug": slug, "whatsapp_number": number,
        "twilio_account_sid": sid, "twilio_auth_token": TOKEN, "sandbox": True,
        "primary_language": "en", "languages": ["sw"], "tier": "starter",
        "owner_email": f"owner@{slug}.example"})
    assert created.status_code == 201, created.text
    assert TOKEN not in created.text
    return created.json()


def test_an_onboarded_tenant_answers_on_its_number(stack):
    number = "+254711555101"
    made = onboard(stack, "kibanda-e2e", number, "AC" + "5" * 32)
    # Stored for the owner's invitation; accounts' invite sends it once wired (then "sent").
    assert made["owner_invitation"] == "sent" and "token=" in made["owner_invitation_link"]
    tested = operator(stack, "POST", "/tenants/kibanda-e2e/twilio-test")
    assert tested.status_code == 200 and tested.json()["ok"] is True, tested.text
    wrong = operator(stack, "POST", "/twilio-tests", json={
        "twilio_account_sid": "AC" + "5" * 32, "twilio_auth_token": "wrong"})
    assert wrong.json()["ok"] is False and "20003" in wrong.json()["error"]

    phone = new_phone()
    after = stack.last_id(phone)
    response = stack.post(phone, "hi", token=TOKEN, to=number)
    assert response.status_code == 200, response.text
    replies = stack.replies(phone, after)
    assert replies, "the new tenant's customer got no answer"
    sent = stack.recorded(phone, after)
    assert {m["tenant_id"] for m in sent} == {"kibanda-e2e"}
    assert {m["from"] for m in sent} == {f"whatsapp:{number}"}
    assert not any("can't take orders" in reply for reply in replies)
    # Twilio's signature with another token is refused: the tenant's own token signs its webhook.
    forged = stack.post(new_phone(), "hi", token="not-" + TOKEN, to=number)
    assert forged.status_code in (401, 403), forged.status_code

    suspended_number = "+254711555102"
    onboard(stack, "closed-e2e", suspended_number, "AC" + "6" * 32)
    paused = operator(stack, "POST", "/tenants/closed-e2e/suspension",
                      json={"reason": "Unpaid setup fee"})
    assert paused.status_code == 200 and paused.json()["status"] == "suspended"
    other = new_phone()
    after = stack.last_id(other)
    response = stack.post(other, "hi", token=TOKEN, to=suspended_number)
    assert response.status_code == 200, response.text
    answered = stack.replies(other, after)
    assert answered and "can't take orders" in answered[0], answered
