"""Tests of scripts/_webhook.py (Twilio signing, phones, reply polling), and chat.py and bench.py on a fake stack."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import _webhook as wh  # noqa: E402
import bench  # noqa: E402

URL = "http://127.0.0.1:5005/webhooks/whatsapp/webhook"
TOKEN = wh.DEMO_AUTH_TOKEN
SERVICE_TOKEN = "test-service-token"
RASA_TOKEN = "test-rasa-token"


def signed_form(body: str = "mnauza nini?") -> tuple[dict, str]:
    form = wh.build_form("+254711000111", "+254700000001", body, "Wanjiku", wh.new_sid("AC"))
    return form, wh.sign(URL, form, TOKEN)


# ---------------------------------------------------------------- signing

def test_a_signed_form_validates_with_the_tenants_token():
    form, signature = signed_form()
    assert RequestValidator(TOKEN).validate(URL, form, signature)


def test_a_wrong_token_fails_validation():
    form, signature = signed_form()
    assert not RequestValidator("another-tenants-token").validate(URL, form, signature)


def test_a_tampered_body_fails_validation():
    form, signature = signed_form("nataka viatu 2")
    assert not RequestValidator(TOKEN).validate(URL, {**form, "Body": "nataka viatu 20"}, signature)


def test_a_signature_for_another_url_fails_validation():
    form, signature = signed_form()
    assert not RequestValidator(TOKEN).validate(URL.replace("5005", "5006"), form, signature)


def test_the_signature_survives_form_encoding_of_awkward_text():
    form, signature = signed_form("Bei? 1+1 = 2 & 50% off 👟 \"ndula\"\nline two")
    wire = requests.Request("POST", URL, data=form).prepare().body
    received = dict(parse_qsl(wire, keep_blank_values=True))
    assert received == form
    assert RequestValidator(TOKEN).validate(URL, received, signature)


def test_the_form_looks_like_twilios_inbound_whatsapp_message():
    form, _ = signed_form()
    assert form["From"] == "whatsapp:+254711000111"
    assert form["To"] == "whatsapp:+254700000001"
    assert form["WaId"] == "254711000111"
    assert form["NumMedia"] == "0" and form["ProfileName"] == "Wanjiku"
    assert re.fullmatch(r"SM[0-9a-f]{32}", form["MessageSid"])
    assert re.fullmatch(r"AC[0-9a-f]{32}", form["AccountSid"])
    assert form["SmsMessageSid"] == form["MessageSid"]


def test_every_message_gets_a_new_sid():
    sids = {signed_form()[0]["MessageSid"] for _ in range(50)}
    assert len(sids) == 50


# ---------------------------------------------------------------- phones

@pytest.mark.parametrize("raw", [
    "0711000111", "254711000111", "+254711000111", "+254 711 000 111", "0711-000-111",
    "711000111", "whatsapp:+254711000111", "00254711000111", " (0711) 000111 ",
])
def test_kenyan_numbers_in_every_usual_form_become_e164(raw):
    assert wh.normalise_phone(raw) == "+254711000111"


@pytest.mark.parametrize("raw, expected", [
    ("0110123456", "+254110123456"),
    ("+447911123456", "+447911123456"),
])
def test_other_prefixes_and_countries(raw, expected):
    assert wh.normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "123", "07110001", "07110001112", "+2547110001112", "07ll000111", "hello", "+1"])
def test_bad_numbers_are_rejected(raw):
    with pytest.raises(ValueError):
        wh.normalise_phone(raw)


# ---------------------------------------------------------------- reply polling

class ScriptedClient(wh.WebhookClient):
    """fetch_messages serves messages that 'arrive' at given times of a fake clock."""

    def __init__(self, arrivals: list[tuple[float, int]]):
        super().__init__(wh.Settings("http://rasa", "http://backend", SERVICE_TOKEN, RASA_TOKEN))
        self.arrivals = arrivals
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def fetch_messages(self, phone, after=None):
        return [{"id": i, "body": f"m{i}"} for at, i in self.arrivals
                if at <= self.now and (after is None or i > after)]


def test_polling_collects_a_burst_and_stops_after_the_quiet_period():
    client = ScriptedClient([(1.0, 7), (1.2, 8), (1.3, 9), (5.0, 10)])
    replies = client.wait_for_replies("+254711000111", after=6, quiet=0.4, poll=0.1,
                                      clock=client.clock, sleep=client.sleep)
    assert [m["id"] for m in replies.messages] == [7, 8, 9]
    assert replies.last_id == 9
    assert client.now < 2.0


def test_polling_skips_messages_up_to_after():
    client = ScriptedClient([(0.0, 1), (0.0, 2), (0.5, 3)])
    replies = client.wait_for_replies("+254711000111", after=2, clock=client.clock, sleep=client.sleep)
    assert [m["id"] for m in replies.messages] == [3]


def test_polling_gives_up_when_no_reply_comes():
    client = ScriptedClient([])
    replies = client.wait_for_replies("+254711000111", after=4, first_timeout=15, poll=0.5,
                                      clock=client.clock, sleep=client.sleep)
    assert replies.messages == [] and replies.last_id == 4
    assert 15 <= client.now < 16


def test_created_at_is_read_as_utc():
    assert wh.parse_timestamp("2025-01-02T03:04:05.250000") == 1735787045.25
    assert wh.parse_timestamp("2025-01-02T03:04:05.250000+00:00") == 1735787045.25
    assert wh.parse_timestamp("2025-01-02T06:04:05.25+03:00") == 1735787045.25


def test_settings_come_from_flags_then_environment_then_secrets_file(tmp_path):
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# made by make up\nSERVICE_TOKEN=from-file\nexport RASA_TOKEN='rasa-file'\nRASA_PORT=6005\n")
    settings = wh.Settings.load(secrets_file=secrets, env={"SERVICE_TOKEN": "from-env", "BACKEND_PORT": "9000"})
    assert settings == wh.Settings("http://127.0.0.1:6005", "http://127.0.0.1:9000", "from-env", "rasa-file")
    env = {"RASA_URL": "http://rasa.local:7005", "BACKEND_URL": "http://b.local:9001/", "BACKEND_PORT": "9000"}
    settings = wh.Settings.load(secrets_file=secrets, env=env)
    assert (settings.rasa_url, settings.backend_url) == ("http://rasa.local:7005", "http://b.local:9001")
    assert wh.Settings.load("http://r:1/", "http://b:2", secrets, env=env).rasa_url == "http://r:1"


def test_secrets_are_read_from_the_stacks_var_dir(tmp_path):
    (tmp_path / "secrets.env").write_text("SERVICE_TOKEN=svc\nRASA_TOKEN=rt\n")
    settings = wh.Settings.load(env={"VAR_DIR": str(tmp_path)})
    assert (settings.service_token, settings.rasa_token) == ("svc", "rt")


# ---------------------------------------------------------------- a fake stack on loopback

class FakeStack(ThreadingHTTPServer):
    """Rasa's webhook (checks the signature like the channel: URL rebuilt from Host), /model/parse and the
    backend's sandbox message list; each accepted message gets two replies recorded shortly after."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.lock = threading.Lock()
        self.records: list[dict] = []
        self.inbound: list[dict] = []

    def record(self, to: str, body: str) -> None:
        with self.lock:
            self.records.append({
                "id": len(self.records) + 1, "sid": wh.new_sid("SM"), "tenant_id": "demo-shop",
                "from": "whatsapp:+254700000001", "to": "whatsapp:" + to, "body": body, "media_url": None,
                "created_at": datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds"),
            })


class FakeHandler(BaseHTTPRequestHandler):
    server: FakeStack

    def log_message(self, *args):  # keep pytest output clean
        pass

    def send(self, status: int, body: str, content_type: str = "application/json") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, status: int, description: str) -> None:
        self.send(status, json.dumps({"code": status, "message": "error", "description": description}))

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/":
            return self.send(200, "Hello from Rasa: 3.6.21", "text/plain")
        if url.path != "/v1/sandbox/messages":
            return self.error(404, "no such page")
        if self.headers.get("Authorization") != f"Bearer {SERVICE_TOKEN}":
            return self.error(401, "bad service token")
        after = int(query.get("after", 0))
        with self.server.lock:
            found = [r for r in self.server.records if r["to"] == "whatsapp:" + query["to"] and r["id"] > after]
        self.send(200, json.dumps({"results": found[:3]}))  # small pages, as a capped API might

    def do_POST(self):
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        if url.path == "/model/parse":
            if parse_qs(url.query).get("token") != [RASA_TOKEN]:
                return self.error(401, "bad token")
            text = json.loads(raw)["text"]
            return self.send(200, json.dumps({"text": text, "intent": {"name": "greet", "confidence": 0.9}}))
        if url.path != wh.WEBHOOK_PATH:
            return self.error(404, "no such webhook")
        form = dict(parse_qsl(raw, keep_blank_values=True))
        public_url = f"http://{self.headers['Host']}{self.path}"
        if not RequestValidator(TOKEN).validate(public_url, form, self.headers.get("X-Twilio-Signature", "")):
            return self.error(403, "invalid Twilio signature")
        self.server.inbound.append(form)
        phone = form["From"].removeprefix("whatsapp:")
        replies = [f"You said: {form['Body']}", "Pick one:\n1. Shoes\n2. Bags"]
        threading.Timer(0.05, lambda: [self.server.record(phone, r) for r in replies]).start()
        self.send(200, wh.EMPTY_TWIML, "text/xml")


@pytest.fixture
def stack():
    server = FakeStack()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def client_for(stack: FakeStack, token: str = TOKEN, **kwargs) -> wh.WebhookClient:
    settings = wh.Settings(stack.url, stack.url, SERVICE_TOKEN, RASA_TOKEN)
    return wh.WebhookClient(settings, token, **kwargs)


def test_a_post_is_accepted_by_a_channel_that_validates_like_twilio(stack):
    client = client_for(stack)
    result = client.post_message("+254711000111", "niaje", "Wanjiku")
    assert result.ok and result.status == 200 and result.elapsed > 0
    assert stack.inbound[0]["MessageSid"] == result.message_sid
    replies = client.wait_for_replies("+254711000111", None, first_timeout=5)
    assert [m["body"] for m in replies.messages] == ["You said: niaje", "Pick one:\n1. Shoes\n2. Bags"]


def test_a_post_signed_with_the_wrong_token_is_refused_with_the_reason(stack):
    result = client_for(stack, token="wrong").post_message("+254711000111", "niaje", "Wanjiku")
    assert not result.ok and result.status == 403
    assert "invalid Twilio signature" in result.error


def test_a_signature_over_another_public_url_is_refused(stack):
    client = client_for(stack, public_url="https://bot.example.com/")
    assert client.signed_url == "https://bot.example.com" + wh.WEBHOOK_PATH
    assert client.post_message("+254711000111", "niaje", "").status == 403


def test_the_last_id_is_found_across_pages(stack):
    for i in range(7):
        stack.record("+254711000111", f"old {i}")
    stack.record("+254722000222", "someone else")
    assert client_for(stack).last_message_id("+254711000111") == 7
    assert client_for(stack).last_message_id("+254733000333") is None


def test_a_stack_that_is_down_gives_a_clear_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = wh.WebhookClient(wh.Settings(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}", "s", "r"))
    with pytest.raises(wh.StackError, match=r"rasa is not reachable on http://127.0.0.1:\d+: run `make up`"):
        client.post_message("+254711000111", "hi", "")
    with pytest.raises(wh.StackError, match=r"the backend is not reachable"):
        client.last_message_id("+254711000111")


def test_a_refused_service_token_is_explained(stack):
    client = wh.WebhookClient(wh.Settings(stack.url, stack.url, "wrong", RASA_TOKEN))
    with pytest.raises(wh.StackError, match="refused the service token"):
        client.fetch_messages("+254711000111")


# ---------------------------------------------------------------- chat.py and bench.py end to end

def run_script(stack: FakeStack, script: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("WHATSAPP_PUBLIC_URL", "VAR_DIR")}
    env.update(SERVICE_TOKEN=SERVICE_TOKEN, RASA_TOKEN=RASA_TOKEN)
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), "--rasa-url", stack.url, "--backend-url", stack.url, *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_chat_message_prints_the_replies_and_not_the_history(stack):
    first = run_script(stack, "chat.py", "--phone", "0722000333", "--message", "habari")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["bot> You said: habari", "bot> Pick one:", "     1. Shoes", "     2. Bags"]
    second = run_script(stack, "chat.py", "--phone", "254722000333", "-m", "ya pili")
    assert "habari" not in second.stdout and "bot> You said: ya pili" in second.stdout
    assert stack.inbound[1]["From"] == "whatsapp:+254722000333"


def test_chat_reports_a_refused_signature_and_fails(stack):
    done = run_script(stack, "chat.py", "--token", "wrong", "-m", "hi")
    assert done.returncode == 1
    assert "webhook answered 403" in done.stderr and "--token" in done.stderr


def test_chat_interactive_until_quit(stack):
    done = run_script(stack, "chat.py", "--name", "Otieno", stdin="hello\n\n/quit\nnot sent\n")
    assert done.returncode == 0, done.stderr
    assert "you> bot> You said: hello" in done.stdout
    assert [f["Body"] for f in stack.inbound] == ["hello"] and stack.inbound[0]["ProfileName"] == "Otieno"


def test_chat_ends_cleanly_at_end_of_input(stack):
    done = run_script(stack, "chat.py", stdin="hi\n")
    assert done.returncode == 0 and "Traceback" not in done.stderr


def test_bench_writes_its_results(stack, tmp_path):
    pid_dir = tmp_path / "run"
    pid_dir.mkdir()
    (pid_dir / "rasa.pid").write_text(f"{os.getpid()}\n")
    (pid_dir / "worker.pid").write_text("999999999\n")
    done = run_script(stack, "bench.py", "--turns", "6", "--conversations", "3", "--warmup", "2",
                      "--parse-calls", "5", "--quiet-ms", "150", "--poll-ms", "50",
                      "--out", str(tmp_path / "results"), "--pid-dir", str(pid_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = (tmp_path / "results").glob("*.json")
    result = json.loads(path.read_text())
    assert (result["turns"], result["conversations"], result["errors"]) == (6, 3, 0)
    assert result["reply_ms"]["n"] == 6 and result["reply_ms"]["p50"] >= result["webhook_ms"]["p50"] > 0
    assert result["parse_ms"]["n"] == 5
    assert result["memory"]["rasa"]["rss_kb"] > 0 and result["memory"]["worker"]["running"] is False
    assert result["memory"]["total"]["rss_kb"] == result["memory"]["rasa"]["rss_kb"]
    assert {s["replies"] for s in result["samples"]} == {2}
    phones = {f["From"] for f in stack.inbound}
    assert len(phones) == 3 + 2  # every conversation, warm-up ones too, is a new customer
    assert "webhook POST -> first reply" in done.stdout


def test_bench_fails_when_turns_fail(stack, tmp_path):
    done = run_script(stack, "bench.py", "--token", "wrong", "--turns", "2", "--conversations", "2",
                      "--warmup", "0", "--parse-calls", "0", "--out", str(tmp_path), "--pid-dir", str(tmp_path))
    assert done.returncode == 1
    assert json.loads(next(tmp_path.glob("*.json")).read_text())["errors"] == 2


def test_memory_sums_a_process_tree(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "backend.pid").write_text(str(os.getpid()))
        report = bench.memory_report(tmp_path)
        own = bench.read_kb(Path(f"/proc/{os.getpid()}/status"), "VmRSS")
        assert report["backend"]["processes"] >= 2
        assert report["backend"]["rss_kb"] > own
    finally:
        child.kill()
        child.wait()


def test_percentiles_interpolate():
    assert bench.percentile([10, 20, 30, 40, 50], 50) == 30
    assert bench.percentile([10, 20], 95) == pytest.approx(19.5)
    assert bench.percentile([], 50) is None
    assert bench.summarise([1.0, 2.0, 3.0])["max"] == 3.0
