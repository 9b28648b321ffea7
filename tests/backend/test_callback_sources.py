"""M-Pesa callbacks are accepted only from Safaricom's published addresses unless configured
otherwise (MPESA_CALLBACK_IPS); sandbox mode adds loopback, where the simulators call from."""

from __future__ import annotations

import pytest

from backend.settings import SAFARICOM_CALLBACK_IPS, ConfigurationError, Settings
from tests.backend.conftest import merchant_headers
from tests.backend.payment_helpers import configure_payments

STK = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_source", "MerchantRequestID": "m",
                                "ResultCode": 1032, "ResultDesc": "Cancelled"}}}


def test_production_defaults_to_safaricoms_addresses() -> None:
    production = Settings.from_env({"SANDBOX": "0"})
    assert production.mpesa_callback_ips == SAFARICOM_CALLBACK_IPS
    sandbox = Settings.from_env({"SANDBOX": "1"})
    assert set(sandbox.mpesa_callback_ips) == {*SAFARICOM_CALLBACK_IPS, "127.0.0.0/8", "::1"}
    assert Settings.from_env({"SANDBOX": "0", "MPESA_CALLBACK_IPS": "any"}).mpesa_callback_ips \
        == ()
    mixed = Settings.from_env({"SANDBOX": "0", "MPESA_CALLBACK_IPS": "safaricom, 10.1.0.0/16"})
    assert mixed.mpesa_callback_ips == (*SAFARICOM_CALLBACK_IPS, "10.1.0.0/16")
    with pytest.raises(ConfigurationError, match="MPESA_CALLBACK_IPS"):
        Settings.from_env({"MPESA_CALLBACK_IPS": "safaricom.example"})


def quick_client(make_app, ips: tuple[str, ...]):
    app = make_app(mpesa_callback_ips=ips)
    app.extensions["backend"].jobs._intervals = (0.02, 0.02, 0.02)  # unknown ids: quick retries
    return app.test_client()


def test_production_refuses_callbacks_from_elsewhere(make_app, tenants) -> None:
    configure_payments(tenants)
    ips = Settings.from_env({"SANDBOX": "0"}).mpesa_callback_ips
    client = quick_client(make_app, ips)
    stk = client.get("/v1/payment-settings", headers=merchant_headers()).get_json()[
        "callback_urls"]["mpesa_stk"].split("127.0.0.1:8000", 1)[1]
    assert client.post(stk, json=STK).status_code == 401  # loopback is not Safaricom
    assert client.post(stk, json=STK, environ_base={"REMOTE_ADDR": "203.0.113.9"}
                       ).status_code == 401
    assert client.post(stk, json=STK, environ_base={"REMOTE_ADDR": "196.201.214.200"}
                       ).status_code == 200
    sandbox = quick_client(make_app, Settings.from_env({"SANDBOX": "1"}).mpesa_callback_ips)
    assert sandbox.post(stk, json=STK).status_code == 200  # the demo's simulators on loopback
