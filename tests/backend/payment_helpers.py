"""Shared set-up for the payment tests: a live backend (its own provider simulators), a
recording stand-in for the Rasa HTTP API, a tenant with sandbox payment settings, waits."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from backend.wiring import Context
from backend.seed.payments import seed_payments
from backend.services.payments.settings import update_payment_settings
from backend.services.platform.tenants import update_settings
from tests.backend.commerce_helpers import PHONE, acting, seed_catalog
from tests.backend.conftest import TENANT_ID, free_port, service_headers


class FakeRasa:
    """Answers POST /conversations/<id>/trigger_intent like Rasa (messages), or fails."""

    def __init__(self, reply: list[dict[str, Any]] | None = None, status: int = 200) -> None:
        self.calls: list[dict[str, Any]] = []
        self.reply = reply if reply is not None else [{"text": "Asante! Tumepokea malipo."}]
        self.status = status
        self.port = free_port()
        self._server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _app(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        body = json.loads(request.get_data() or b"{}")
        self.calls.append({"path": request.path, "token": request.args.get("token"), **body})
        payload = {"messages": self.reply} if self.status == 200 else {"error": "down"}
        return Response(json.dumps(payload), self.status, mimetype="application/json")(
            environ, start_response)

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()


def configure_payments(ctx: Context, tenant_id: str = TENANT_ID, **changes: Any) -> None:
    """The demo's sandbox settings (simulators), card payments on, plus `changes`."""
    seed_payments(ctx, tenant_id)
    if changes:
        update_payment_settings(ctx, tenant_id, changes)


def set_features(ctx: Context, tenant_id: str = TENANT_ID, **features: Any) -> None:
    update_settings(ctx, tenant_id, {"features": features})


def place_order(client: Any, ctx: Context, sku: str = "SNK-WHT-40", quantity: int = 1,
                phone: str = PHONE) -> dict[str, Any]:
    skus = {row[0]: row[1] for row in _variants(ctx)} or seed_catalog(ctx)
    # Customers order in a chat: they wrote just now, so the receipt may be free text.
    wrote = client.post("/internal/v1/messages/inbound", headers=service_headers(), json={
        "tenant_id": TENANT_ID, "from": phone, "message_sid": f"SM{uuid.uuid4().hex}",
        "body": "nataka ku-order"})
    assert wrote.status_code == 201, wrote.get_json()
    response = client.post("/v1/orders", json={"items": [
        {"variant_id": skus[sku], "quantity": quantity}]}, headers=acting(phone=phone))
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def _variants(ctx: Context) -> list[tuple[str, int]]:
    with ctx.db.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(  # type: ignore[misc]
            "SELECT sku, id FROM product_variants WHERE tenant_id = :t"), {"t": TENANT_ID})]


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(every)


def scalar(ctx: Context, sql: str, **params: Any) -> Any:
    with ctx.db.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def rows(ctx: Context, sql: str, **params: Any) -> list[Any]:
    with ctx.db.engine.connect() as connection:
        return list(connection.execute(text(sql), params))


def make_payment(ctx: Context, order_id: int, provider: str, reference: str,
                 amount_minor: int | None = None, method: str | None = None) -> int:
    """A pending payment attempt as the provider's client would have left it."""
    from backend.models import Order, Payment

    with ctx.db.transaction() as session:
        order = session.get(Order, order_id)
        assert order is not None
        payment = Payment(
            tenant_id=order.tenant_id, order_id=order.id, customer_id=order.customer_id,
            method=method or ("mpesa_stk" if provider == "daraja" else "card"),
            provider=provider, status="pending", currency=order.currency,
            amount_minor=amount_minor or order.total_minor, provider_reference=reference)
        session.add(payment)
        session.flush()
        return payment.id


def stk_callback(checkout_request_id: str, result_code: int = 0, amount: float = 1800.0,
                 receipt: str = "NLJ7RT61SV") -> dict[str, Any]:
    callback: dict[str, Any] = {"MerchantRequestID": "29115-34620561-1",
                                "CheckoutRequestID": checkout_request_id,
                                "ResultCode": result_code, "ResultDesc": "done"}
    if result_code == 0:
        callback["CallbackMetadata"] = {"Item": [
            {"Name": "Amount", "Value": amount}, {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "Balance"}, {"Name": "TransactionDate", "Value": 20191219102115},
            {"Name": "PhoneNumber", "Value": 254712000001}]}
    return {"Body": {"stkCallback": callback}}


def settle_jobs(ctx: Context, timeout: float = 30.0) -> None:
    """Wait for in-process jobs, including the jobs they enqueue (notice → delivery)."""
    from backend.queueing.runner import InProcessRunner

    assert isinstance(ctx.jobs, InProcessRunner)
    deadline = time.monotonic() + timeout
    while True:
        ctx.jobs.join(timeout=max(deadline - time.monotonic(), 0.1))
        time.sleep(0.05)
        if not ctx.jobs._futures:  # type: ignore[attr-defined]
            return
        if time.monotonic() > deadline:
            raise AssertionError("jobs still running")


def at_once(run: Callable[[], Any], times: int = 2, timeout: float = 60) -> list[Any]:
    """Calls `run` from `times` threads released together; their results (any order)."""
    barrier = threading.Barrier(times)
    results: list[Any] = []

    def one() -> None:
        barrier.wait()
        results.append(run())

    threads = [threading.Thread(target=one) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results
