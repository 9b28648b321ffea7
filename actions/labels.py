"""Words the actions put inside responses, per language: catalog categories and budgets."""
from __future__ import annotations

from typing import Optional

from actions.money import format_money

CATEGORY = {
    "shoes": {"en": "shoes", "sw": "viatu", "sheng": "viatu"},
    "clothing": {"en": "clothes", "sw": "nguo", "sheng": "nguo"},
    "accessories": {"en": "accessories", "sw": "vifaa vya urembo", "sheng": "accessories"},
}
UNDER = {"en": "under", "sw": "chini ya", "sheng": "chini ya"}


def filter_label(language: Optional[str], category: Optional[str], query: Optional[str],
                 max_price: Optional[int]) -> str:
    """"shoes under KES 2,000" / "viatu chini ya KES 2,000" for the menu heading."""
    language = language if language in UNDER else "en"
    what = CATEGORY.get(category or "", {}).get(language) or category or query or ""
    if max_price is None:
        return what
    return f"{what} {UNDER[language]} {format_money(max_price)}".strip()


ORDER_STATUS = {
    "draft": {"en": "a draft", "sw": "rasimu", "sheng": "draft"},
    "pending_payment": {"en": "waiting for payment", "sw": "inasubiri malipo",
                        "sheng": "inangoja malipo"},
    "paid": {"en": "paid, being prepared", "sw": "imelipwa, inaandaliwa",
             "sheng": "imelipwa, inapangwa"},
    "fulfilled": {"en": "on its way", "sw": "iko njiani", "sheng": "iko njiani"},
    "delivered": {"en": "delivered", "sw": "imefika", "sheng": "imefika"},
    "cancelled": {"en": "cancelled", "sw": "imeghairiwa", "sheng": "imecanceliwa"},
    "refunded": {"en": "refunded", "sw": "pesa imerudishwa", "sheng": "pesa imerudishwa"},
}

# Shown in the payment menu when the channel sent no masked hint of the customer's number.
YOUR_NUMBER = {"": {"en": "your WhatsApp number", "sw": "namba yako ya WhatsApp",
                    "sheng": "namba yako ya WhatsApp"}}
PAYMENT_METHODS = {
    "mpesa_stk": {"en": "M-Pesa: a payment request to {phone}",
                  "sw": "M-Pesa: ombi la malipo kwa {phone}",
                  "sheng": "M-Pesa: request ya malipo kwa {phone}"},
    "mpesa_other": {"en": "M-Pesa on another number", "sw": "M-Pesa kwa namba nyingine",
                    "sheng": "M-Pesa kwa namba ingine"},
    "mpesa_manual": {"en": "M-Pesa Paybill/Till (pay yourself)",
                     "sw": "M-Pesa Paybill/Till (lipa mwenyewe)",
                     "sheng": "M-Pesa Paybill/Till (jilipie)"},
    "card": {"en": "Card (a payment link)", "sw": "Kadi (kiungo cha malipo)",
             "sheng": "Kadi (link ya malipo)"},
}

# Daraja result codes and our own failure codes, as the customer reads them.
PAYMENT_FAILURES = {
    "1032": {"en": "the request was cancelled on the phone", "sw": "ombi lilighairiwa kwenye simu",
             "sheng": "request ilicanceliwa kwa simu"},
    "1037": {"en": "your phone could not be reached", "sw": "simu yako haikupatikana",
             "sheng": "simu yako haikupatikana"},
    "2001": {"en": "the M-Pesa PIN was wrong", "sw": "PIN ya M-Pesa haikuwa sahihi",
             "sheng": "PIN ya M-Pesa ilikuwa wrong"},
    "1": {"en": "there wasn't enough money in M-Pesa", "sw": "salio la M-Pesa halikutosha",
          "sheng": "pesa kwa M-Pesa haikutosha"},
    "timeout": {"en": "we got no answer in time", "sw": "hatukupata jibu kwa wakati",
                "sheng": "hatukupata jibu kwa time"},
}
UNKNOWN_FAILURE = {"en": "the payment failed", "sw": "malipo hayakufanikiwa",
                   "sheng": "malipo haikupita"}


def word(table: dict, key: str, language: Optional[str]) -> str:
    language = language if language in UNDER else "en"
    entry = table.get(key)
    return entry[language] if entry else key
