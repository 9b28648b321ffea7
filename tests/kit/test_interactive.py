"""Numbered menus as list pickers and yes/no questions as reply buttons (kit/interactive.py):
what is recognised, what stays text, and that every issued field keeps to Twilio's limits."""
from __future__ import annotations

import json

import pytest

from kit import interactive, texts
from kit.whatsapp_text import whatsapp_messages


def menu_of(titles):
    return "\n".join(f"{i}. {title} — KES {i},000" for i, title in enumerate(titles, start=1))


def menu_reply(titles, heading="Here is what we have:", tail="Reply with a number to see more."):
    menu = menu_of(titles)
    return {"text": f"{heading}\n\n{menu}\n\n{tail}", "menu": menu}


def sign(payload: str) -> str:
    return f"{payload}~signed"


def test_a_menu_of_up_to_ten_is_a_list_and_its_text_stays_the_numbered_menu():
    reply = menu_reply([f"Item {n}" for n in range(1, 11)])
    [message] = whatsapp_messages(reply, interactive=True)
    assert message["body"] == reply["text"]  # the fallback is today's text, unchanged
    spec = message["interactive"]
    assert spec["type"] == "list" and spec["heading"] == "Here is what we have:"
    assert [item["payload"] for item in spec["items"]] == [
        interactive.select_option(n) for n in range(1, 11)]
    assert json.loads(spec["items"][1]["payload"][len("/select_option"):]) == {"option": "2"}
    assert spec["items"][0]["title"] == "Item 1" and spec["items"][0]["detail"] == "KES 1,000"


def test_eleven_items_a_split_text_or_no_menu_stay_text():
    assert "interactive" not in whatsapp_messages(
        menu_reply([f"Item {n}" for n in range(1, 12)]), interactive=True)[0]
    long = menu_reply(["Item"], tail="x " * 900)  # over 1,600 characters: two bodies
    assert all("interactive" not in m for m in whatsapp_messages(long, interactive=True))
    plain = {"text": "1. is not a menu without the menu argument"}
    assert "interactive" not in whatsapp_messages(plain, interactive=True)[0]
    elsewhere = {"text": "Hello", "menu": "1. a\n2. b"}  # not in the text
    assert "interactive" not in whatsapp_messages(elsewhere, interactive=True)[0]
    gaps = {"text": "Pick:\n\n1. a\n3. b", "menu": "1. a\n3. b"}
    assert "interactive" not in whatsapp_messages(gaps, interactive=True)[0]


def test_without_interactive_the_messages_are_as_before():
    reply = menu_reply(["Sneakers"])
    assert whatsapp_messages(reply) == [{"body": reply["text"], "media_url": None}]


@pytest.mark.parametrize("language", ["en", "sw", "sheng"])
def test_yes_no_questions_become_two_buttons_in_their_language(language):
    hint = texts.text("interactive.yes_no_hint", language)
    text = f"Cancel order #12 (KES 1,500)? {hint}"
    [message] = whatsapp_messages({"text": text}, interactive=True)
    assert message["body"] == text
    issued = interactive.issue(message["interactive"], "en", sign)
    assert issued["type"] == "buttons" and issued["language"] == language
    assert issued["body"] == "Cancel order #12 (KES 1,500)?"
    assert [i["title"] for i in issued["items"]] == [
        texts.text("interactive.yes", language), texts.text("interactive.no", language)]
    assert [i["id"] for i in issued["items"]] == ["/affirm~signed", "/deny~signed"]


def test_a_question_without_the_hint_has_no_buttons():
    assert "interactive" not in whatsapp_messages({"text": "Yes, 10:00 is free."}, True)[0]


@pytest.mark.parametrize("language,button", [("en", "Choose"), ("sw", "Chagua"),
                                             ("sheng", "Chagua"), ("fr", "Choose")])
def test_a_list_is_issued_in_the_customers_language(language, button):
    spec = interactive.spec_for(menu_reply(["Sneakers"], heading="Hizi ndizo:"))
    issued = interactive.issue(spec, language, sign)
    assert issued["button"] == button
    assert issued["body"] == "Hizi ndizo:\n\n" + texts.text("interactive.list_hint", language)
    assert issued["items"] == [{"id": interactive.select_option(1) + "~signed",
                                "title": "Sneakers", "description": "KES 1,000"}]


def test_long_titles_are_shortened_at_a_word_and_the_row_keeps_the_full_title():
    long = "Black leather high-top sneakers with white soles"
    reply = menu_reply([long, "Sandals"])
    [message] = whatsapp_messages(reply, interactive=True)
    assert f"1. {long} — KES 1,000" in message["body"]  # the numbered text keeps all of it
    issued = interactive.issue(message["interactive"], "en", sign)
    first = issued["items"][0]
    assert first["title"] == "Black leather high-top…"
    assert len(first["title"]) <= interactive.MAX_ITEM_TITLE
    assert first["description"] == f"{long} — KES 1,000"[:interactive.MAX_ITEM_DESCRIPTION]
    assert issued["items"][1]["title"] == "Sandals"


def test_a_row_without_detail_says_how_to_type_it():
    reply = {"text": "These times are free:\n\n1. Sat 12 Dec, 10:00", "menu": "1. Sat 12 Dec, 10:00"}
    issued = interactive.issue(interactive.spec_for(reply), "sw", sign)
    assert issued["items"][0]["description"] == "au jibu 1"


@pytest.mark.parametrize("text,limit,expected", [
    ("short", 24, "short"),
    ("one two three four five six seven", 24, "one two three four five…"),
    ("Supercalifragilisticexpialidocious", 24, "Supercalifragilisticexp…"),
    ("Nywele za Kusuka: Box braids, ndefu sana", 20, "Nywele za Kusuka…"),  # no ":…"
])
def test_shorten(text, limit, expected):
    assert interactive.shorten(text, limit) == expected
    assert len(interactive.shorten(text, limit)) <= limit


def test_every_issued_field_keeps_to_twilios_limits():
    titles = ["W" * 80, "word " * 30, "ü" * 25, "a — b — c", "x"]
    reply = menu_reply(titles, heading="h " * 300)
    issued = interactive.issue(interactive.spec_for(reply), "sheng", sign)
    assert len(issued["body"]) <= interactive.MAX_BODY
    assert len(issued["button"]) <= interactive.MAX_LIST_BUTTON
    for item in issued["items"]:
        assert 1 <= len(item["title"]) <= interactive.MAX_ITEM_TITLE
        assert 1 <= len(item["description"]) <= interactive.MAX_ITEM_DESCRIPTION


def test_a_heading_over_the_body_limit_is_not_issued():
    reply = menu_reply(["a"], heading="h" * 1100)
    assert interactive.issue(interactive.spec_for(reply), "en", sign) is None


def test_ids_over_two_hundred_characters_are_not_issued():
    spec = interactive.spec_for(menu_reply(["a"]))
    assert interactive.issue(spec, "en", lambda p: p + "x" * 200) is None
