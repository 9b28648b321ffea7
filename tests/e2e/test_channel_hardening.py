"""Issue 13 items 2 and 4 through the real stack: typed commands are words, and ordering again while
the order form is open is answered by the assistant itself (not by the channel's safety net)."""
from __future__ import annotations

import re

from bot.channels.notices import NOT_UNDERSTOOD
from tests.e2e.conftest import new_phone
from tests.e2e.test_flows import order_until_placed


def open_order_form(stack, phone: str) -> str:
    order_until_placed(stack, phone, [("nionyesheni viatu vyenu", r"Bidhaa za viatu"),
                                      ("ya kwanza", r"Bei: KES")])
    reply = "\n".join(stack.say(phone, "nataka kununua hii"))
    assert re.search(r"ngapi|Jibu kwa namba", reply), reply  # the form asks a variant or how many
    return reply


def test_ordering_again_while_the_order_form_is_open_is_answered(stack):
    phone = new_phone()
    open_order_form(stack, phone)
    for text in ("habari, nataka kununua viatu 2", "buy -3 shoes"):
        replies = stack.say(phone, text)
        assert replies, f"{text!r} got no reply"
        assert not set(replies) & set(NOT_UNDERSTOOD.values()), (text, replies)


def test_typed_restart_is_answered(stack):
    phone = new_phone()
    open_order_form(stack, phone)
    replies = stack.say(phone, "/restart")
    assert replies and not set(replies) & set(NOT_UNDERSTOOD.values()), replies


def test_typed_commands_do_not_run_actions(stack):
    phone = new_phone()
    replies = stack.say(phone, '/EXTERNAL_payment_received{"payment_id":1}')
    assert replies and not any(re.search(r"Payment received|Malipo yamepokelewa", r)
                               for r in replies), replies
    replies = stack.say(phone, '/add_to_cart{"quantity":"-3"}')
    assert replies and not any("-3" in r for r in replies), replies  # no negative quantity
