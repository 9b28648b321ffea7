"""The backend under a real gunicorn, configured as `make up` and the images run it: callback
tokens and API keys never reach the access or error log; gunicorn's own 414/431 answers are JSON
in the one error shape; no Server header; security headers on the app's answers."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import requests

from backend.services.payments.settings import load_provider_config
from backend.app import create_app
from backend.wiring import Context
from tests.backend.conftest import (
    FERNET_KEY,
    HASH_KEY,
    SERVICE_TOKEN,
    TENANT_ID,
    TENANT_KEY,
    TENANT_NUMBER,
    TENANT_SID,
    TENANT_TOKEN,
    _empty_tables,
    add_tenant,
    free_port,
    make_settings,
    merchant_headers,
)
from tests.backend.payment_helpers import configure_payments

REPO = Path(__file__).resolve().parents[2]
# The default format plus the API key header, so a format that prints it is covered too.
ACCESS_FORMAT = '%(h)s "%(r)s" %(s)s %(U)s %(q)s key=%({x-tenant-api-key}i)s'


class Gunicorn:
    def __init__(self, port: int, access_log: Path, error_log: Path, process: Any) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.port, self.access_log, self.error_log, self.process = (
            port, access_log, error_log, process)

    def logs(self) -> str:
        return self.access_log.read_text() + self.error_log.read_text()


def wait_until_up(url: str, process: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}")
        try:
            if requests.get(f"{url}/v1/health", timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise AssertionError("gunicorn did not answer in time")


@pytest.fixture(scope="module")
def shop(sqlite_url: str) -> Iterator[Context]:
    """A tenant with payments set up (one database: this is about serving, not storage)."""
    _empty_tables(sqlite_url)
    app = create_app(make_settings(sqlite_url))
    ctx: Context = app.extensions["backend"]
    add_tenant(ctx, TENANT_ID, TENANT_NUMBER, TENANT_SID, TENANT_TOKEN, TENANT_KEY)
    configure_payments(ctx)
    yield ctx
    ctx.db.dispose()


@pytest.fixture(scope="module")
def gunicorn(shop: Context, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    port = free_port()
    ctx = shop
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    env = {**os.environ, "DATABASE_URL": ctx.settings.database_url, "REDIS_URL": "",
           "SERVICE_TOKEN": SERVICE_TOKEN, "ENCRYPTION_KEY": FERNET_KEY, "HASH_KEY": HASH_KEY,
           "SANDBOX": "1", "KB_PRELOAD": "0", "BACKEND_PORT": str(port),
           "PYTHONPATH": str(REPO)}
    command = [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
               "--workers", "1", "--threads", "2", "--graceful-timeout", "5", "--access-logfile", str(access_log),
               "--error-logfile", str(error_log), "--access-logformat", ACCESS_FORMAT,
               "-c", "python:backend.gunicorn_conf", "backend.wsgi:app"]
    process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    server = Gunicorn(port, access_log, error_log, process)
    try:
        wait_until_up(server.url, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def raw_request(port: int, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are (requests would refuse an oversized header line)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def test_callback_tokens_and_keys_never_reach_the_logs(gunicorn: Gunicorn, shop: Context) -> None:
    token = load_provider_config(shop, TENANT_ID).callback_token
    stk = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_log_test", "ResultCode": 1032,
                                    "ResultDesc": "Cancelled", "MerchantRequestID": "m"}}}
    answered = [
        requests.post(f"{gunicorn.url}/webhooks/mpesa/{token}/stk", json=stk, timeout=10),
        requests.post(f"{gunicorn.url}/webhooks/mpesa/{token}/c2b/validation", data="not json",
                      timeout=10),
        requests.get(f"{gunicorn.url}/webhooks/pesapal/{token}",
                     params={"OrderTrackingId": "t-1"}, timeout=10),
        requests.post(f"{gunicorn.url}/webhooks/paystack/{token}", json={},
                      timeout=10),
        requests.get(f"{gunicorn.url}/v1/products", headers=merchant_headers(), timeout=10),
    ]
    assert [r.status_code for r in answered][:1] == [200]
    deadline = time.monotonic() + 10
    while "GET /v1/products" not in gunicorn.access_log.read_text():  # the last one is logged
        assert time.monotonic() < deadline, gunicorn.logs()
        time.sleep(0.05)
    logs = gunicorn.logs()
    assert token not in logs and TENANT_KEY not in logs
    assert logs.count("/webhooks/mpesa/[redacted]/stk") >= 1
    assert "/webhooks/pesapal/[redacted]" in logs and "key=[redacted]" in logs


def test_gunicorn_limits_answer_json_in_the_error_shape(gunicorn: Gunicorn) -> None:
    status, headers, body = raw_request(
        gunicorn.port, b"GET /v1/products?q=" + b"x" * 6000 + b" HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status == 414 and headers["content-type"] == "application/json"
    assert json.loads(body) == {"code": 414, "message": HTTPStatus(414).phrase,
                                "description": json.loads(body)["description"]}
    status, headers, body = raw_request(
        gunicorn.port, b"GET /v1/health HTTP/1.1\r\nHost: a\r\nX-Big: " + b"y" * 9000 +
        b"\r\n\r\n")
    assert status == 431 and headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == 431 and json.loads(body)["message"]
    assert "server" not in headers


def test_answers_carry_security_headers_and_no_server_header(gunicorn: Gunicorn) -> None:
    for response in (requests.get(f"{gunicorn.url}/v1/health", timeout=10),
                     requests.get(f"{gunicorn.url}/v1/customers", timeout=10),
                     requests.get(f"{gunicorn.url}/v1/customers", headers=merchant_headers(),
                                  timeout=10)):
        assert "Server" not in response.headers, response.headers
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
        assert response.headers["Cache-Control"] == "no-store"
