"""Negation and scope of consent messages, read with explicit rules after the statistical intent.

The classifiers learn consent from examples and can invert it: "I don't want marketing" shares
most of its words with "I want marketing", and "sitaki matangazo" with "sitaki messages zenu". A
wrong consent change is the costliest error the assistant makes (a customer opted in after saying
no, or cut off from their order updates after refusing only the offers), so when the blended
intent is one of the four consent intents this component reads two things from the words
themselves, in English, Swahili and Sheng:

- direction: a negation ("don't", "no more", "sitaki", "sipendi", "acha", "usinitumie",
  "msinitumie", "sidai" and their typo forms) makes it an opt-out, never an opt-in or START;
  a stop word ("stop", "zima", "ondoa"…) does too unless the message is about coming back
  ("I had stopped offers, send them again"). A negation that means yes ("I don't mind offers",
  "sina shida na matangazo", "usinisahau kwa offers") keeps the opt-in but asks to confirm.
- scope: a message that names promotions (offers, promo, deals, matangazo, ads, marketing,
  sale…) and nothing about all messages is about promotions only; "everything", "ujumbe
  wowote", "kila kitu" are about all messages. Both at once keeps the model's scope and asks
  to confirm.

An opt-out or STOP the words give no reason for (no negation, no stop word) is confirmed too.
The intent becomes the consent intent of that direction and scope; its probability is swapped
with the model's choice in the ranking, so the ranking stays a distribution and the fallback
classifier after this one applies its thresholds as before. The reading is added to the parse
data as `consent_check` ({"confirm": bool, ...}); actions.support.ActionUpdateConsent asks yes/no
when `confirm` is set. A bare keyword ("STOP", "START", "unsubscribe") is marked `explicit`.
Messages whose top intent is not a consent intent are left alone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

CONSENT_CHECK_KEY = "consent_check"
OUT, IN = "out", "in"
PROMOTIONS, ALL = "promotions", "all"
# (direction, scope) of each consent intent of the shared contract (shared/INTENTS.md).
CONSENT_INTENTS: Dict[str, Tuple[str, str]] = {
    "opt_out_promotions": (OUT, PROMOTIONS), "opt_in_promotions": (IN, PROMOTIONS),
    "stop_all": (OUT, ALL), "start_all": (IN, ALL),
}
INTENT_OF = {reading: intent for intent, reading in CONSENT_INTENTS.items()}


def _words(*alternatives: str) -> "re.Pattern[str]":
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


# Promotions: what a merchant advertises, in the three languages (plurals and clippings).
PROMO = (r"offers?|offa|ofa+|ofaz?|promos?|promotions?|promotional|deals?|discounts?|punguzo"
         r"|\w*tangaz\w*|ads|adverts?|advertis\w*|marketing|sales?|newsletters?|broadcasts?"
         r"|new arrivals?|black friday|flash sales?|bei za offer")
PROMO_WORDS = _words(PROMO)
# Every message: the whole relationship, order updates included.
_MESSAGES = r"(?:messages?|msgs?|texts?|sms|ujumbe|notifications?|communications?|updates?|whatsapps?)"
ALL_WORDS = _words(
    r"everything|anything|whatsoever|kila kitu|kila message|chochote|kitu chochote",
    rf"(?:all|any|every)(?: of)?(?: your| the| these)? {_MESSAGES}",
    rf"{_MESSAGES} (?:zote|yote|wote|wowote|yoyote|zozote|zenu zote)",
    r"(?:hata|even|including|pamoja na)(?: za| ya| the| my)? (?:order|oda)\w*")
# A negation: the customer does not want something (never an opt-in).
NEGATION = _words(
    r"dont+|do not|do nt|donot|dnt|dint|doesnt|does not|didnt want|never|no more|nomore|no mo"
    r"|no longer|not interested|not anymore|wont|will not",
    r"si(?:zi|ya|ku)?(?:tak|pend|hitaj)\w*|sitk|staki|ctak\w*|cpend\w*|sidai+|cdai|sina haja"
    r"|hakuna haja",
    r"acha|acheni|achana|achane|achaneni|wacha|wacheni|wachana|wachaneni|achia mbali",
    r"[um](?:si|s|ci|c)(?:ni|n)?(?:tum|text|andik|send|sumbu|spam|tangaz|jul)\w*",
    rf"(?:no|not|hapana|bila|si|sio) (?:\w+ )?(?:{PROMO})",
    rf"(?:{PROMO}) (?:\w+ )?(?:hapana|no)|(?:{PROMO}) (?:\w+ ){{0,3}}basi")
# Words that stop something; overruled when the message is about coming back.
STOPPING = _words(
    r"stop+|unsubscribe|unsub|opt(?: me)? out|optout|quit|remove(?: me)?|take me off|turn off"
    r"|switch off|mute|disable|block\w*|cancel|enough|inatosha|imetosha|leave me alone"
    r"|cut me off|want nothing|nothing from you|zero messages|delete (?:me|my)|wipe my"
    r"|end (?:all |my |the |your )?(?:messages|texts|sms)",
    r"(?:ni)?zim[ae]\w*|zizime|kuzima|ondoa|ondoe|niondoe\w*|ondoeni|nitoe\w*|toa (?:namba|mimi)"
    r"|futa|nifute|nimechoka|zimezidi|imezidi|\w*boa|\w*boo|\w*boeka|nyamazish\w*|\w*komesh\w*"
    r"|\w*simamish\w*|\w*sitish\w*|\w*jiondo\w*")
RESTART = _words(
    r"again|back|resume|restart|re ?subscribe|unstop|undo|unblock|mistake|by accident"
    r"|accidentally|changed my mind",
    r"tena|\w*rudi\w*|kimakosa|makosa|nilikosea|nimebadili\w*|washa\w*|anza\w*|endele\w*")
# A negation that means yes ("I don't mind"), or says not to stop: the opt-in is confirmed.
YES_NEGATION = _words(
    r"(?:dont|do not|wouldnt|would not|dnt|never) (?:really )?mind",
    r"no (?:problem|issue|objection)|not a problem|not opposed",
    r"(?:dont|do not|dnt|never) (?:want to |wanna )?(?:miss|forget|stop|remove|unsubscribe)",
    r"sijali|sina (?:shida|tatizo|noma)|haina (?:shida|noma|tatizo)|hakuna (?:shida|noma|tatizo)"
    r"|si mbaya|sio mbaya|sitaki (?:ku)?(?:kosa|pitwa|achwa)|sikutaka (?:ku)?(?:stop|zima|acha)",
    r"[um]si(?:ni)?(?:sahau|ache|wache|ondoe|toe|kose)\w*|[um]si(?:ache|wache|zime|stop)\w*")
# A complaint about not getting something ("why don't you send offers any more?"): the words do
# not say which way, so the model's direction stands and the change is confirmed.
COMPLAINT = _words(
    r"why (?:dont|do not|didnt|havent|wont) you",
    r"(?:dont|do not|didnt|havent|never|no longer) (?:get|got|receive|received|see|saw|hear)",
    r"sipati|sijapata|sioni|sijaona|sipokei|sijapokea|mbona (?:ham|hu|si)\w*")
# A whole message that is the keyword itself.
KEYWORD = re.compile(r"^(stop|unsubscribe|unsub|start|unstop|resubscribe|subscribe)"
                     r"(?: all| everything)?(?: please| pls| tafadhali| msee| buda)?$")


def normalise(text: str) -> str:
    """Lower case, apostrophes dropped ("don't" → "dont"), other punctuation as spaces."""
    text = re.sub(r"['’`´]", "", text.lower())
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


@dataclass(frozen=True)
class ConsentReading:
    """What the words say about consent; None where they say nothing."""

    direction: Optional[str] = None
    scope: Optional[str] = None
    confirm: bool = False
    explicit: bool = False
    cues: Tuple[str, ...] = field(default_factory=tuple)


def read_consent(text: str) -> ConsentReading:
    """Direction and scope of a consent message from its negations and the things it names."""
    words = normalise(text)
    cues: List[str] = []
    confirm = False
    yes_negation, complaint = YES_NEGATION.search(words), COMPLAINT.search(words)
    rest = COMPLAINT.sub(" ", YES_NEGATION.sub(" ", words))
    negation, stopping = NEGATION.search(rest), STOPPING.search(rest)
    direction = None
    if negation:
        direction = OUT
        cues.append(negation.group(0))
        # "I don't mind order updates, but no offers": opt out, and ask.
        confirm = bool(yes_negation or complaint)
    elif yes_negation:
        direction, confirm = IN, True
        cues.append(yes_negation.group(0))
    elif complaint:
        confirm = True
        cues.append(complaint.group(0))
    elif stopping and not RESTART.search(rest):
        direction = OUT
        cues.append(stopping.group(0))
    promo, every = PROMO_WORDS.search(words), ALL_WORDS.search(words)
    scope = None
    if promo and every:
        confirm = True
        cues += [promo.group(0), every.group(0)]
    elif promo:
        scope = PROMOTIONS
        cues.append(promo.group(0))
    elif every:
        scope = ALL
        cues.append(every.group(0))
    keyword = KEYWORD.match(words)
    if keyword:  # STOP and START are about every message, by convention
        direction = OUT if keyword.group(1) in ("stop", "unsubscribe", "unsub") else IN
        scope = scope or ALL
    return ConsentReading(direction, scope, confirm, bool(keyword), tuple(cues))


def consent_intent(model_intent: str, reading: ConsentReading) -> str:
    """The consent intent the words and the model agree on: the words decide direction and
    scope where they say something, the model where they do not."""
    direction, scope = CONSENT_INTENTS[model_intent]
    return INTENT_OF[(reading.direction or direction, reading.scope or scope)]


def decide(model_intent: str, reading: ConsentReading) -> Tuple[str, bool]:
    """The consent intent, and whether to ask yes/no before acting on it: when the words are
    ambiguous, or the classifier's opt-out or STOP has no word of stopping behind it."""
    chosen = consent_intent(model_intent, reading)
    unsupported = reading.direction is None and CONSENT_INTENTS[chosen][0] == OUT
    return chosen, reading.confirm or unsupported


def _swap(ranking: List[Dict[str, Any]], first: str, second: str) -> List[Dict[str, Any]]:
    """The ranking with the probabilities of two intents exchanged, best first again."""
    confidence = {item[INTENT_NAME_KEY]: float(item.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
                  for item in ranking}
    confidence[first], confidence[second] = confidence.get(second, 0.0), confidence.get(first, 0.0)
    ordered = sorted(confidence.items(), key=lambda pair: -pair[1])
    return [{INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: value} for name, value in ordered]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ConsentScopeReader(GraphComponent):
    """After the intent blend, before the fallback classifier (config.yml)."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "ConsentScopeReader":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self.process_message(message)
        return messages

    def process_message(self, message: Message) -> None:
        intent = message.get(INTENT) or {}
        model_intent = intent.get(INTENT_NAME_KEY)
        if model_intent not in CONSENT_INTENTS or not message.get(TEXT):
            return
        reading = read_consent(message.get(TEXT))
        chosen, confirm = decide(model_intent, reading)
        if chosen != model_intent:
            ranking = message.get(INTENT_RANKING_KEY) or [dict(intent)]
            ranking = _swap(ranking, model_intent, chosen)
            top = next(item for item in ranking if item[INTENT_NAME_KEY] == chosen)
            message.set(INTENT, dict(top), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        message.set(CONSENT_CHECK_KEY, {
            "model_intent": model_intent, "intent": chosen, "direction": reading.direction,
            "scope": reading.scope, "confirm": confirm, "explicit": reading.explicit,
            "cues": list(reading.cues)}, add_to_output=True)
