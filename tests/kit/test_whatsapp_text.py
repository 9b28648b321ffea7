"""Replies as WhatsApp bodies: numbered menus and Twilio's 1,600-character limit (channel and backend)."""
from kit.whatsapp_text import MAX_BODY, MAX_CAPTION, numbered_menu, split_body, whatsapp_messages


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


def test_a_photo_carries_its_text_as_caption_when_it_fits():
    photo = "https://cdn.example.com/boots.jpg"
    [one] = whatsapp_messages({"text": "Leather boots — KES 4,500", "image": photo})
    assert one == {"body": "Leather boots — KES 4,500", "media_url": photo}
    # Too long for a caption: the text, then the photo on its own.
    long_text = "x" * (MAX_CAPTION + 1)
    text, image = whatsapp_messages({"text": long_text, "image": photo})
    assert text == {"body": long_text, "media_url": None}
    assert image == {"body": "", "media_url": photo}
    # A numbered menu is plain text too: it becomes the caption.
    [menu] = whatsapp_messages({"text": "Pick one:", "image": photo,
                                "buttons": [{"title": "Yes", "payload": "/affirm"}]})
    assert menu["media_url"] == photo and menu["body"].startswith("Pick one:")
    # A text sent as an interactive list cannot carry media: the photo follows it.
    listed = "1. Boots — KES 4,500\n2. Sneakers — KES 2,500"
    first, image = whatsapp_messages({"text": f"Here:\n\n{listed}\n\nReply 1 or 2.",
                                      "menu": listed, "image": photo}, interactive=True)
    assert first["interactive"]["type"] == "list" and first["media_url"] is None
    assert image == {"body": "", "media_url": photo}
    # Only a photo.
    assert whatsapp_messages({"image": photo}) == [{"body": "", "media_url": photo}]
