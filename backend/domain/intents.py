"""The assistant's intent names (the contract in the shared intent schema), for the LLM
classifier: it may answer only one of these."""

from __future__ import annotations

INTENTS: dict[str, str] = {
    "greet": "hello",
    "goodbye": "leaving",
    "thank_you": "thanks",
    "affirm": "yes",
    "deny": "no",
    "small_talk": "chit-chat: how are you, are you a bot, jokes",
    "out_of_scope": "unrelated to this business",
    "browse_products": "see what is sold, by category or budget",
    "product_details": "more about one product: sizes, colours, stock",
    "price_check": "price of a product",
    "add_to_cart": "put a product in the cart",
    "view_cart": "see the cart",
    "place_order": "buy / order / check out",
    "payment_help": "how to pay, methods, a payment that failed",
    "check_order_status": "where is my order",
    "cancel_order": "cancel an order",
    "browse_services": "what services are offered",
    "service_details": "more about one service: duration, price",
    "check_availability": "free slots",
    "book_appointment": "make a booking",
    "check_appointment_status": "my bookings",
    "cancel_appointment": "cancel a booking",
    "ask_faq": "other questions about the business (hours, location, warranty)",
    "return_policy": "returns and refunds",
    "delivery_fees": "delivery cost, time, areas",
    "request_human": "talk to a person",
    "opt_out_promotions": "stop promotional messages only",
    "opt_in_promotions": "receive promotions again",
    "stop_all": "STOP: no more messages",
    "start_all": "START: messages allowed again",
    "inform": "gives a value the bot asked for",
    "select_option": "picks an item from the last menu",
}
FAQ_INTENTS = ("ask_faq", "return_policy", "delivery_fees", "payment_help")
