"""RasaClient against a recording HTTP server on loopback: exact requests, answers and errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backend.providers.rasa import RasaClient, RasaError
from backend.settings import Settings
from tests.backend.conftest import free_port
from tests.backend.rasa_fake import FakeRasa

SENDER = "demo-shop:+254712345678"


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    server = FakeRasa().start()
    yield server
    server.stop()


def test_trigger_intent_posts_name_and_entities_and_returns_the_collected_messages(
    rasa: FakeRasa,
) -> None:
    messages = [{"recipient_id": SENDER, "text": "Payment received"},
                {"recipient_id": SENDER, "text": "Pick one", "buttons": [{"title": "A"}]}]
    rasa.replies.append((200, {"tracker": {"sender_id": SENDER}, "messages": messages}))
    client = RasaClient(rasa.url + "/", "secret-token")

    answer = client.trigger_intent(SENDER, "EXTERNAL_payment_result", {"order_ref": "A1B2"})

    assert answer == messages
    [request] = rasa.requests
    assert request.method == "POST"
    # ":" and "+" travel verbatim: Rasa matches the raw path and never unquotes the id.
    assert request.raw_path == f"/conversations/{SENDER}/trigger_intent"
    assert request.query == {"token": ["secret-token"]}
    assert "output_channel" not in request.query
    assert request.body == {"name": "EXTERNAL_payment_result", "entities": {"order_ref": "A1B2"}}


def test_trigger_intent_without_messages_or_token(rasa: FakeRasa) -> None:
    rasa.replies.append((200, {"tracker": {}}))
    assert RasaClient(rasa.url, None).trigger_intent(SENDER, "greet") == []
    [request] = rasa.requests
    assert request.query == {}
    assert request.body == {"name": "greet", "entities": {}}


def test_other_characters_in_a_sender_id_are_percent_encoded(rasa: FakeRasa) -> None:
    RasaClient(rasa.url, "t").resume("odd shop:+2547/1")
    assert rasa.requests[0].raw_path == "/conversations/odd%20shop:+2547%2F1/tracker/events"


@pytest.mark.parametrize("method,event", [("resume", "resume"), ("pause", "pause")])
def test_resume_and_pause_append_their_events(rasa: FakeRasa, method: str, event: str) -> None:
    rasa.replies.append((200, {"sender_id": SENDER, "paused": event == "pause"}))
    tracker = getattr(RasaClient(rasa.url, "tok"), method)(SENDER)
    assert tracker == {"sender_id": SENDER, "paused": event == "pause"}
    [request] = rasa.requests
    assert (request.method, request.raw_path) == ("POST", f"/conversations/{SENDER}/tracker/events")
    assert request.query == {"token": ["tok"]}
    expected = [{"event": event}]
    if event == "resume":  # the next message starts a fresh turn
        expected.append({"event": "action", "name": "action_listen"})
    assert request.body == expected


def test_an_error_status_raises_with_status_and_body(rasa: FakeRasa) -> None:
    rasa.replies.append((404, {"status": "failure", "reason": "NotFound",
                               "message": "The intent nope does not exist in the domain."}))
    with pytest.raises(RasaError) as caught:
        RasaClient(rasa.url, "tok").trigger_intent(SENDER, "nope")
    assert caught.value.status == 404
    assert "does not exist in the domain" in caught.value.body
    assert "404" in str(caught.value)


def test_unauthorized_and_non_json_answers_raise(rasa: FakeRasa) -> None:
    rasa.replies.append((401, {"reason": "NotAuthenticated"}))
    rasa.replies.append((200, "<html>proxy</html>"))
    client = RasaClient(rasa.url, "wrong")
    with pytest.raises(RasaError) as unauthorized:
        client.resume(SENDER)
    assert unauthorized.value.status == 401
    with pytest.raises(RasaError) as not_json:
        client.resume(SENDER)
    assert not_json.value.status == 200 and "proxy" in not_json.value.body


def test_unreachable_rasa_raises_without_a_status() -> None:
    client = RasaClient(f"http://127.0.0.1:{free_port()}", "tok", timeout=2)
    with pytest.raises(RasaError) as caught:
        client.resume(SENDER)
    assert caught.value.status is None
    assert "unreachable" in str(caught.value)


def test_built_from_settings() -> None:
    settings = Settings.from_env({"RASA_URL": "http://rasa.internal:5005/", "RASA_TOKEN": "abc"})
    client = RasaClient.from_settings(settings)
    assert (client.base_url, client.token) == ("http://rasa.internal:5005", "abc")
    assert client.timeout == settings.rasa_timeout_seconds
    assert Settings.from_env({}).rasa_url == "http://127.0.0.1:5005"
