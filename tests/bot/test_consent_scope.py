"""Negation and scope of consent messages (bot.components.consent_scope), in English, Swahili and
Sheng: whatever consent intent the classifier picked, a "don't"/"sitaki" never opts in and a
promotions-only message never stops or starts everything."""
import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.consent_scope import (
    CONSENT_CHECK_KEY, CONSENT_INTENTS, ConsentScopeReader, consent_intent, decide, read_consent)

OUT_PROMO, IN_PROMO = "opt_out_promotions", "opt_in_promotions"
STOP, START = "stop_all", "start_all"
ANY = object()  # the expected intent whatever the classifier picked among the four

# (language, message, what the classifier picked, expected intent, asked yes/no first)
TABLE = [
    # English: negation makes an opt-out, the scope follows what is named
    ("en", "I don't want your marketing messages", IN_PROMO, OUT_PROMO, False),
    ("en", "dont send me promos anymore", IN_PROMO, OUT_PROMO, False),
    ("en", "do not send me deals", START, OUT_PROMO, False),
    ("en", "no more offers please", STOP, OUT_PROMO, False),
    ("en", "dnt want ads", IN_PROMO, OUT_PROMO, False),
    ("en", "i'm not interested in your sales", IN_PROMO, OUT_PROMO, False),
    ("en", "stop the promotions, keep my order updates", STOP, OUT_PROMO, False),
    ("en", "unsubscribe me from the newsletter", STOP, OUT_PROMO, False),
    ("en", "send me your offers again", START, IN_PROMO, False),
    ("en", "I'd like to hear about discounts", START, IN_PROMO, False),
    ("en", "STOP", ANY, STOP, False),
    ("en", "stop everything", OUT_PROMO, STOP, False),
    ("en", "don't message me about anything ever again", IN_PROMO, STOP, False),
    ("en", "never text me again", START, STOP, False),
    ("en", "i had stopped messages by mistake, start again", START, START, False),
    ("en", "undo stop", START, START, False),
    # double meaning: a negation that means yes is kept, and asked
    ("en", "I don't mind offers again", IN_PROMO, IN_PROMO, True),
    ("en", "I don't mind offers again", OUT_PROMO, IN_PROMO, True),
    ("en", "no problem, you can send me promotions", IN_PROMO, IN_PROMO, True),
    ("en", "dont want to miss your black friday deals", OUT_PROMO, IN_PROMO, True),
    ("en", "why don't you send me offers anymore?", IN_PROMO, IN_PROMO, True),
    ("en", "stop all messages including the offers", STOP, STOP, True),
    # Swahili
    ("sw", "sitaki matangazo", IN_PROMO, OUT_PROMO, False),
    ("sw", "sitaki matangazo", STOP, OUT_PROMO, False),
    ("sw", "sipendi ofa zenu", START, OUT_PROMO, False),
    ("sw", "acha kunitumia matangazo ya punguzo", STOP, OUT_PROMO, False),
    ("sw", "usinitumie ofa tena", IN_PROMO, OUT_PROMO, False),
    ("sw", "msinitumie matangazo ya bidhaa mpya", START, OUT_PROMO, False),
    ("sw", "sihitaji habari za mauzo ya punguzo", IN_PROMO, OUT_PROMO, False),
    ("sw", "nitumieni matangazo ya ofa tena", START, IN_PROMO, False),
    # the classifier's opt-out without a word of stopping: promotions only, and asked
    ("sw", "ningependa kupata habari za punguzo", STOP, OUT_PROMO, True),
    ("en", "tell me about your deals", OUT_PROMO, OUT_PROMO, True),
    ("sw", "acha kunitumia ujumbe wowote", OUT_PROMO, STOP, False),
    ("sw", "acha kunitumia ujumbe wowote", START, STOP, False),
    ("sw", "usiniandikie tena kabisa", START, STOP, False),
    ("sw", "zima ujumbe wote", IN_PROMO, STOP, False),
    ("sw", "niondoe kwenye kila kitu", START, STOP, False),
    ("sw", "nilisimamisha kwa makosa, anzeni tena", START, START, False),
    ("sw", "simamisheni ujumbe wote", START, STOP, False),
    ("sw", "komesheni matangazo yenu", IN_PROMO, OUT_PROMO, False),
    ("sw", "ofa basi, nimezichoka", START, OUT_PROMO, False),
    ("sw", "sina shida na matangazo yenu, nitumieni", IN_PROMO, IN_PROMO, True),
    ("sw", "sitaki kukosa ofa za wiki hii", OUT_PROMO, IN_PROMO, True),
    ("sw", "usinisahau mkiwa na ofa", OUT_PROMO, IN_PROMO, True),
    ("sw", "mbona hamnitumii ofa siku hizi?", IN_PROMO, IN_PROMO, True),
    # Sheng, typos and clippings
    ("sheng", "sidai ma-ads zenu", IN_PROMO, OUT_PROMO, False),
    ("sheng", "ctaki promo msee", START, OUT_PROMO, False),
    ("sheng", "sitak offers", IN_PROMO, OUT_PROMO, False),
    ("sheng", "wacheni kunispam na deals", STOP, OUT_PROMO, False),
    ("sheng", "usnitumie offers tena buda", IN_PROMO, OUT_PROMO, False),
    ("sheng", "msinitext promo", START, OUT_PROMO, False),
    ("sheng", "offers hapana, order updates sawa", STOP, OUT_PROMO, False),
    ("sheng", "nimechoka na ma-ads, zizime", IN_PROMO, OUT_PROMO, False),
    ("sheng", "nadai offers zenu tena", START, IN_PROMO, False),
    ("sheng", "stop kila kitu msee", OUT_PROMO, STOP, False),
    ("sheng", "msinitumie message yoyote", IN_PROMO, STOP, False),
    ("sheng", "acha messages zote, hata za order", OUT_PROMO, STOP, False),
    ("sheng", "nilistop kimakosa, nirudishe", START, START, False),
    ("sheng", "sina noma na offers zenu", OUT_PROMO, IN_PROMO, True),
    ("sheng", "usiwache kunitumia deals", OUT_PROMO, IN_PROMO, True),
]


def cases():
    for lang, text, picked, expected, confirm in TABLE:
        for model in (CONSENT_INTENTS if picked is ANY else [picked]):
            yield pytest.param(text, model, expected, confirm, id=f"{lang}: {text} [{model}]")


@pytest.mark.parametrize("text, picked, expected, confirm", list(cases()))
def test_the_words_decide_direction_and_scope(text, picked, expected, confirm):
    assert decide(picked, read_consent(text)) == (expected, confirm)


@pytest.mark.parametrize("text", [
    "I don't want your marketing messages", "sitaki matangazo", "sidai ma-ads zenu", "acha kunitumia",
    "usinitumie chochote", "msinitumie offers", "no more deals", "dont text me", "sipendi ujumbe wenu"])
def test_a_negation_never_opts_in_whatever_the_classifier_said(text):
    for picked in CONSENT_INTENTS:
        assert consent_intent(picked, read_consent(text)) in (OUT_PROMO, STOP)


@pytest.mark.parametrize("text", [
    "stop the offers", "nitumie matangazo", "sitaki promo", "send me deals", "acheni ads",
    "washa offers tena", "no more sale alerts", "i want marketing messages"])
def test_promotions_only_never_stops_or_starts_everything(text):
    for picked in CONSENT_INTENTS:
        assert consent_intent(picked, read_consent(text)) in (OUT_PROMO, IN_PROMO)


@pytest.mark.parametrize("text, explicit", [
    ("STOP", True), ("stop.", True), ("Unsubscribe", True), ("START pls", True),
    ("stop sending offers", False), ("start again", False)])
def test_a_bare_keyword_is_explicit(text, explicit):
    assert read_consent(text).explicit is explicit


def parse(text, ranking):
    message = Message(data={TEXT: text, INTENT: {"name": ranking[0][0], "confidence": ranking[0][1]},
                            INTENT_RANKING_KEY: [{"name": n, "confidence": c} for n, c in ranking]})
    ConsentScopeReader().process([message])
    return message


def test_the_component_swaps_the_probabilities_and_says_why():
    message = parse("I don't want marketing", [(IN_PROMO, 0.91), (OUT_PROMO, 0.06), ("ask_faq", 0.03)])
    assert message.get(INTENT) == {"name": OUT_PROMO, "confidence": 0.91}
    ranking = message.get(INTENT_RANKING_KEY)
    assert [item["name"] for item in ranking] == [OUT_PROMO, IN_PROMO, "ask_faq"]
    assert sum(item["confidence"] for item in ranking) == pytest.approx(1.0)
    check = message.get(CONSENT_CHECK_KEY)
    assert check["model_intent"] == IN_PROMO and check["intent"] == OUT_PROMO
    assert check["direction"] == "out" and check["confirm"] is False
    assert CONSENT_CHECK_KEY in message.as_dict(only_output_properties=True)


def test_an_intent_missing_from_a_short_ranking_is_added():
    message = parse("sitaki matangazo", [(STOP, 0.8), ("deny", 0.2)])
    assert message.get(INTENT)["name"] == OUT_PROMO
    assert {item["name"]: item["confidence"] for item in message.get(INTENT_RANKING_KEY)} == {
        OUT_PROMO: 0.8, "deny": 0.2, STOP: 0.0}


def test_other_intents_are_left_alone():
    message = parse("sitaki viatu hivi, nataka nyingine", [("browse_products", 0.7), (OUT_PROMO, 0.2)])
    assert message.get(INTENT)["name"] == "browse_products"
    assert message.get(CONSENT_CHECK_KEY) is None


def test_the_reader_sits_between_the_blend_and_the_fallback():
    import yaml
    from pathlib import Path

    pipeline = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yml").read_text())["pipeline"]
    names = [step["name"] for step in pipeline]
    assert (names.index("bot.components.intent_blend.LexicalIntentBlender")
            < names.index("bot.components.consent_scope.ConsentScopeReader")
            < names.index("bot.components.action_guard.ActionAwareFallbackClassifier"))
