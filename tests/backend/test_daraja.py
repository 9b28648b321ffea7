"""The Daraja client against the simulator: one shared OAuth token per credential set, STK push
validated as Daraja does (Password, Timestamp, lengths, amounts), query while pending, and the
phone and amount rules of the domain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests

from backend.wiring import Context
from backend.domain.errors import InvalidInput
from backend.domain.payments import (
    NotKenyanMobile,
    kenyan_mobile,
    mask_phone,
    order_id_from_reference,
    order_reference,
    stk_amount_shillings,
)
from backend.providers import daraja
from backend.providers.daraja import NAIROBI, SANDBOX_PASSKEY, DarajaClient, DarajaError
from tests.backend.conftest import service_headers
from tests.backend.payment_helpers import scalar

CALLBACK = "http://127.0.0.1:9/callback"  # nothing listens: the callback is not the point


@pytest.fixture
def simulator(live_server) -> Iterator[tuple[str, Context]]:
    server = live_server()
    ctx: Context = server.app.extensions["backend"]
    daraja.TOKENS._tokens.clear()
    yield f"{ctx.settings.payments_sandbox_url}/daraja", ctx
    daraja.TOKENS._tokens.clear()


def push(client: DarajaClient, **overrides) -> daraja.StkPushResult:
    values = {"shortcode": "174379", "passkey": SANDBOX_PASSKEY, "party_b": "174379",
              "phone": "254708374149", "amount_shillings": 10, "callback_url": CALLBACK,
              "account_reference": "ORD1", "description": "Order payment"}
    values.update(overrides)
    return client.stk_push(**values)


def test_one_token_is_shared_by_every_client_of_a_credential_set(simulator) -> None:
    url, ctx = simulator
    first, second = DarajaClient(url, "key-1", "secret-1"), DarajaClient(url, "key-1", "secret-1")
    assert first.token() == second.token()
    push(first)
    push(second)
    assert scalar(ctx, "SELECT count(*) FROM sandbox_payment_records WHERE provider = "
                       "'daraja-token'") == 1
    with pytest.raises(DarajaError) as refused:
        DarajaClient(url, "key-1", "another-secret").token()
    assert refused.value.status == 400


def test_a_revoked_token_is_renewed_once(simulator) -> None:
    url, ctx = simulator
    client = DarajaClient(url, "key-2", "secret-2")
    daraja.TOKENS.put(client._cache_key, "not-a-token", 3599)
    assert push(client).checkout_request_id.startswith("ws_CO_")
    assert daraja.TOKENS.get(client._cache_key) not in (None, "not-a-token")


@pytest.mark.parametrize("overrides, field", [
    ({"passkey": "wrong"}, "Password"),
    ({"now": datetime.now(NAIROBI) - timedelta(hours=2)}, "Timestamp"),
    ({"amount_shillings": 0}, "Amount"),
    ({"amount_shillings": 250_001}, "Amount"),
    ({"phone": "254208374149"}, "PartyA"),
    ({"shortcode": "999999"}, "BusinessShortCode"),
    ({"callback_url": "ftp://x"}, "CallBackURL"),
])
def test_stk_push_is_validated_like_daraja(simulator, overrides, field) -> None:
    url, _ = simulator
    with pytest.raises(DarajaError) as refused:
        push(DarajaClient(url, "key-3", "secret-3"), **overrides)
    assert refused.value.status == 400 and refused.value.code == "400.002.02"
    assert field in str(refused.value)


def test_field_lengths_are_enforced(simulator) -> None:
    url, _ = simulator
    client = DarajaClient(url, "key-4", "secret-4")
    token = client.token()
    stamp = daraja.timestamp()
    body = {"BusinessShortCode": "174379", "Password": daraja.password("174379", SANDBOX_PASSKEY,
                                                                         stamp),
            "Timestamp": stamp, "TransactionType": "CustomerPayBillOnline", "Amount": 1,
            "PartyA": "254708374149", "PartyB": "174379", "PhoneNumber": "254708374149",
            "CallBackURL": CALLBACK, "AccountReference": "A" * 13, "TransactionDesc": "x"}
    answer = requests.post(f"{url}/mpesa/stkpush/v1/processrequest", json=body, timeout=5,
                           headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400 and "AccountReference" in answer.json()["errorMessage"]
    body.update(AccountReference="A" * 12, TransactionDesc="B" * 14)
    answer = requests.post(f"{url}/mpesa/stkpush/v1/processrequest", json=body, timeout=5,
                           headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400 and "TransactionDesc" in answer.json()["errorMessage"]
    # The client keeps within the limits itself.
    assert push(client, account_reference="ORD123456789012", description="A long description")


def test_query_answers_pending_while_processing_and_checks_the_password(simulator) -> None:
    url, _ = simulator
    client = DarajaClient(url, "key-5", "secret-5")
    requests.post(f"{url}/scenarios", headers=service_headers(),
                  json={"phone": "254708374149", "result": "1032", "delay_ms": 600_000},
                  timeout=5)
    pushed = push(client)
    pending = client.stk_query(shortcode="174379", passkey=SANDBOX_PASSKEY,
                               checkout_request_id=pushed.checkout_request_id)
    assert pending.pending and pending.result_code is None
    with pytest.raises(DarajaError):
        client.stk_query(shortcode="174379", passkey="wrong",
                         checkout_request_id=pushed.checkout_request_id)


def test_stk_callbacks_are_read_by_item_name() -> None:
    parsed = daraja.parse_stk_callback({"Body": {"stkCallback": {
        "MerchantRequestID": "m", "CheckoutRequestID": "c", "ResultCode": 0, "ResultDesc": "ok",
        "CallbackMetadata": {"Item": [{"Name": "Balance"}, {"Name": "PhoneNumber",
                                                            "Value": 254708374149},
                                      {"Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV"},
                                      {"Name": "Amount", "Value": 1.0}]}}}})
    assert (parsed.result_code, parsed.amount_minor, parsed.receipt, parsed.phone) == (
        "0", 100, "NLJ7RT61SV", "254708374149")
    failed = daraja.parse_stk_callback({"Body": {"stkCallback": {
        "CheckoutRequestID": "c", "ResultCode": 1032, "ResultDesc": "Request cancelled by user"}}})
    assert failed.result_code == "1032" and failed.amount_minor is None


def test_password_is_base64_of_shortcode_passkey_and_timestamp() -> None:
    assert daraja.password("174379", "pk", "20240101120000") == "MTc0Mzc5cGsyMDI0MDEwMTEyMDAwMA=="
    stamp = daraja.timestamp(datetime(2024, 1, 1, 9, 0, tzinfo=NAIROBI) - timedelta(hours=3))
    assert stamp == "20240101060000"


def test_phone_and_amount_rules() -> None:
    for spelled in ("0712345678", "712345678", "254712345678", "+254 712 345 678", "0112345678"):
        assert kenyan_mobile(spelled).startswith("+254")
    for bad in ("0202345678", "+255712345678", "12345", "phone"):
        with pytest.raises(NotKenyanMobile):
            kenyan_mobile(bad)
    assert mask_phone("+254712345678") == "+254712***678"
    assert stk_amount_shillings(250050) == 2501 and stk_amount_shillings(100) == 1
    with pytest.raises(InvalidInput):
        stk_amount_shillings(25_000_001)
    assert order_id_from_reference(order_reference(42)) == 42
    assert order_id_from_reference("ord42 ") == 42 and order_id_from_reference("X42") is None
