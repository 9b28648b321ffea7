"""Replies as WhatsApp bodies: numbered menus and Twilio's 1,600-character limit (channel and backend)."""
from kit.whatsapp_text import MAX_BODY, numbered_menu, split_body


def test_numbered_menu_lists_titles_and_says_how_to_reply():
    text = numbered_menu("Pick one:", ["Sneakers", "Boots", "Sandals"])
    assert text == "Pick one:\n\n1. Sneakers\n2. Boots\n3. Sandals\n\nReply 1, 2 or 3."


def test_long_replies_are_split_at_line_boundaries_within_the_limit():
    lines = [f"{i}. Product number {i} — KES 2,500" for i in range(200)]
    parts = split_body("\n".join(lines))
    assert all(len(p) <= MAX_BODY for p in parts) and len(parts) > 1
    assert "\n".join(parts).split("\n") == lines


def test_a_word_longer_than_the_limit_is_cut_hard():
    parts = split_body("x" * (MAX_BODY * 2 + 5))
    assert [len(p) for p in parts] == [MAX_BODY, MAX_BODY, 5]
