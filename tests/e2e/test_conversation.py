"""Whole conversations through the real servers: signed webhooks in, recorded WhatsApp replies out."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

from tests.e2e.conftest import new_phone

MENU_LINE = re.compile(r"^(\d+)\. (.+) — KES [\d,]+")


def menu_titles(reply: str) -> dict:
    return {int(m.group(1)): m.group(2) for m in map(MENU_LINE.match, reply.splitlines()) if m}


def test_english_browse_and_pick(stack):
    phone = new_phone()
    [greeting] = stack.say(phone, "hi there")
    assert "Welcome" in greeting
    [menu] = stack.say(phone, "what do you sell?")
    titles = menu_titles(menu)
    assert len(titles) >= 5 and "Reply with a number" in menu, menu
    [details] = stack.say(phone, "2")
    assert details.startswith(f"*{titles[2]}*"), details
    assert "Price: KES" in details and "Available:" in details
    [thanks] = stack.say(phone, "thanks a lot")
    assert "welcome" in thanks.lower()


def test_swahili_browse_and_pick(stack):
    phone = new_phone()
    [greeting] = stack.say(phone, "habari yako")
    assert greeting.startswith("Habari! Karibu")
    [menu] = stack.say(phone, "mnauza nini?")
    titles = menu_titles(menu)
    assert menu.startswith("Hizi ndizo bidhaa zetu") and len(titles) >= 5, menu
    [details] = stack.say(phone, "nataka ya pili")
    assert details.startswith(f"*{titles[2]}*") and "Bei: KES" in details, details
    [thanks] = stack.say(phone, "asante sana")
    assert thanks.startswith("Karibu sana")


def test_sheng_browse_with_a_budget_and_pick(stack):
    phone = new_phone()
    [greeting] = stack.say(phone, "niaje msee")
    assert greeting.startswith("Niaje! Karibu")
    [menu] = stack.say(phone, "nionyeshe ndula za 2k")
    titles = menu_titles(menu)
    assert menu.startswith("Hizi ndizo za viatu chini ya KES 2,000"), menu
    prices = [int(p.replace(",", "")) for p in re.findall(r"— KES ([\d,]+)", menu)]
    assert titles and all(price <= 2000 for price in prices), menu
    [details] = stack.say(phone, "ile ya kwanza")
    assert details.startswith(f"*{titles[1]}*") and "Bei: KES" in details, details


def test_the_second_one_in_english_words(stack):
    phone = new_phone()
    titles = menu_titles(stack.say(phone, "show me what you have")[0])
    [details] = stack.say(phone, "the second one please")
    assert details.startswith(f"*{titles[2]}*"), details


def test_repeated_message_sid_gets_no_second_reply(stack):
    phone = new_phone()
    after = stack.last_id(phone)
    sid = "SM" + uuid.uuid4().hex
    assert stack.post(phone, "hello", sid=sid).status_code == 200
    [greeting] = stack.replies(phone, after)
    assert stack.post(phone, "hello", sid=sid).status_code == 200
    # One sender's turns run in order: once a later message is answered, the repeat was handled.
    later = stack.say(phone, "thanks a lot")
    assert later and greeting not in later and len(stack.recorded(phone, after)) == 1 + len(later)


def test_bad_signature_is_403_and_unknown_number_is_404(stack):
    phone = new_phone()
    assert stack.post(phone, "hi", token="not-the-tenant-token").status_code == 403
    assert stack.post(phone, "hi", to="+254799000000").status_code == 404
    # A signed message after them is answered: nothing but its replies was sent to the phone.
    [greeting] = stack.say(phone, "hi")
    assert [m["body"] for m in stack.recorded(phone)] == [greeting]


def test_sticker_gets_a_text_only_reply(stack):
    phone = new_phone()
    after = stack.last_id(phone)
    response = stack.post(phone, "", NumMedia="1", MediaUrl0="https://api.twilio.com/m/ME1",
                          MediaContentType0="image/webp")
    assert response.status_code == 200
    [reply] = stack.replies(phone, after)
    assert "only read text" in reply


def test_reload_swaps_the_model_without_a_restart(stack):
    import subprocess

    from tests.e2e.conftest import ROOT

    pid_file = Path(stack.env["VAR_DIR"]) / "run" / "rasa.pid"
    pid = pid_file.read_text()
    done = subprocess.run(["scripts/reload.sh"], cwd=ROOT, env=stack.env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rasa now serves" in done.stdout
    assert pid_file.read_text() == pid
    [greeting] = stack.say(new_phone(), "hello there")
    assert "Welcome" in greeting


def test_reload_of_a_response_text_is_live_without_a_model_swap(stack):
    """A designer edits what a response says: `make reload` puts it into the running rasa (no
    training, no model load), then rebuilds the model archive from the training cache."""
    import subprocess

    from tests.e2e.conftest import ROOT

    domain_file = ROOT / "domain" / "core.yml"
    original = domain_file.read_text()
    old = '    - text: "Goodbye! Message us any time."'
    new = '    - text: "Goodbye! Message us any time, we are here 24/7 🕐."'
    assert original.count(old) == 1
    pid = (Path(stack.env["VAR_DIR"]) / "run" / "rasa.child").read_text()

    def reload() -> str:
        done = subprocess.run(["scripts/reload.sh"], cwd=ROOT, env=stack.env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    try:
        domain_file.write_text(original.replace(old, new))
        out = reload()
        assert "1 response(s) changed (utter_goodbye): live in 1 rasa server(s)" in out, out
        assert stack.say(new_phone(), "bye bye") == ["Goodbye! Message us any time, we are here 24/7 🕐."]
    finally:
        domain_file.write_text(original)
        out = reload()
    assert "1 response(s) changed (utter_goodbye)" in out, out
    assert stack.say(new_phone(), "bye bye") == ["Goodbye! Message us any time."]
    assert (Path(stack.env["VAR_DIR"]) / "run" / "rasa.child").read_text() == pid


SALON_NUMBER, SALON_TOKEN = "+254700000002", "demo-salon-twilio-auth-token"  # backend/seed/platform


def test_a_service_named_in_english_or_sheng_shows_its_details(stack):
    """The actions ask the backend which service a name means (GET /v1/services/match)."""
    phone = new_phone()
    for said, title, variant in (("how much is box braids", "Box Braids", "Shoulder length"),
                                 ("bei ya kunyoa ni ngapi", "Haircut", "Gents cut")):
        after = stack.last_id(phone)
        response = stack.post(phone, said, token=SALON_TOKEN, to=SALON_NUMBER)
        assert response.status_code == 200, response.text
        [details] = stack.replies(phone, after)
        assert details.startswith(f"*{title}*") and variant in details, details
