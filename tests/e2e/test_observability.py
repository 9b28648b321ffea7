"""One request id followed through the real stack: the Twilio webhook, the channel (rasa), the
action server, the backend and the RQ worker's Twilio send each log it on a JSON line with the
tenant, and no log holds the customer's phone number; both /metrics count that turn."""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Dict, List

import requests

from tests.e2e.conftest import DEMO_NUMBER, DEMO_TOKEN, build_form, new_phone, sign

PROCESSES = ("rasa", "actions", "backend", "worker")


def json_lines(path: Path) -> List[Dict]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


def lines_with(log_dir: Path, request_id: str, timeout: float = 30) -> Dict[str, List[Dict]]:
    """Each process's lines carrying `request_id`, once every process has one (or time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        found = {name: [line for line in json_lines(log_dir / f"{name}.log")
                        if line.get("request_id") == request_id] for name in PROCESSES}
        if all(found.values()) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_one_request_id_from_the_webhook_to_the_twilio_send(stack):
    phone = new_phone()
    request_id = f"e2e-{uuid.uuid4().hex}"
    after = stack.last_id(phone)
    form = build_form(phone, DEMO_NUMBER, "what do you sell?", "Mteja", "AC" + "0" * 32, None)
    response = requests.post(stack.webhook, data=form, timeout=60, headers={
        "X-Twilio-Signature": sign(stack.webhook, form, DEMO_TOKEN), "X-Request-ID": request_id})
    assert response.status_code == 200 and response.headers["X-Request-ID"] == request_id
    assert stack.replies(phone, after), "no reply was sent"

    found = lines_with(Path(stack.env["VAR_DIR"]) / "log", request_id)
    assert all(found.values()), {name: len(lines) for name, lines in found.items()}
    for name, lines in found.items():
        assert {line["service"] for line in lines} == {"backend" if name == "backend" else name}
        assert any(line["tenant"] == "demo-shop" for line in lines), name
    assert any(line["message"] == "webhook answered" for line in found["rasa"])
    assert any(line.get("action") for line in found["actions"])
    assert any(line["message"] == "whatsapp send sent" for line in found["worker"])
    for name in PROCESSES:
        text = (Path(stack.env["VAR_DIR"]) / "log" / f"{name}.log").read_text(errors="replace")
        assert phone not in text and phone[1:] not in text, f"{name}.log holds the phone number"
        assert stack.service_token not in text, f"{name}.log holds the service token"

    auth = {"Authorization": f"Bearer {stack.service_token}"}
    backend = requests.get(f"{stack.backend}/metrics", headers=auth, timeout=10)
    assert backend.status_code == 200
    assert sample(backend.text, 'whatsapp_sends_total{status="sent"}') >= 1  # from the worker
    assert 'job_queue_lag_seconds{queue="messaging"}' in backend.text
    channel = requests.get(stack.webhook.rsplit("/", 1)[0] + "/metrics", headers=auth, timeout=10)
    assert channel.status_code == 200
    assert sample(channel.text, 'whatsapp_webhooks_total{outcome="answered"}') >= 1
    assert sample(channel.text, "whatsapp_turn_seconds_count") >= 1
    assert requests.get(f"{stack.backend}/metrics", timeout=10).status_code == 401
