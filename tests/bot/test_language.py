"""Language detector: accuracy on fresh sentences per language, neutrality, Rasa output."""
import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.language import DETECTION_KEY, LanguageDetector, detect

# Written for these tests only: none of them is in data/nlu (test_training_data.py checks).
ENGLISH = [
    "hey, do you guys deliver to Kitengela?",
    "what time do you close today",
    "can I pay with mpesa when the parcel arrives?",
    "looking for white sneakers for my son, size 38",
    "how much are the leather boots",
    "is the denim jacket still available?",
    "I sent the money but havent received any confirmation",
    "please cancel my order, I changed my mind",
    "where is your shop located",
    "thanks for the quick response",
    "do you have this in a bigger size?",
    "show me what you have under 3000",
    "good evening, I'd like to book a braiding appointment on saturday",
    "can i return the dress if it doesnt fit",
    "which one is cheaper",
    "i want to talk to a real person please",
    "ok see you tomorrow then",
    "how long does delivery take to Thika?",
    "stop sending me promotions",
    "are these shoes original or replicas",
    "my parcel hasn't arrived yet and it's been 4 days",
    "what colours does the hoodie come in?",
    "I'll take the black one",
    "good morning! what do you sell?",
    "could you send me pictures of the bags",
    "is there a discount if I buy two pairs?",
    "thank you so much, have a nice day",
    "are you a bot or a human?",
    "hello, is anyone there?",
    "what are your opening hours on sunday",
    "hw much 4 dis",
    "pls whr r u located",
    "wat do u sell",
    "send me the catalogue",
    "need a size 9 in brown",
    "is delivery free within nairobi",
    "my mpesa was deducted twice",
    "tomorrow at 10 works",
    "cool, lemme think about it",
    "do u deliver on sundays",
    "can someone call me back",
    "Hi, I ordered a phone cover last week",
    "any update on the parcel I ordered monday?",
    "I need it before friday",
    "are the prices negotiable?",
    "Do you accept card payments",
    "which sizes are available for the air force",
    "That's too expensive for me",
]

SWAHILI = [
    "habari za asubuhi, mnauza viatu za wanawake?",
    "naomba kujua bei ya hii jaketi",
    "mnafunga saa ngapi leo?",
    "nimetuma pesa lakini sijapata ujumbe wowote",
    "tafadhali nitumie picha za nguo mlizo nazo",
    "asante sana kwa huduma nzuri",
    "oda yangu iko wapi? niliagiza jana",
    "ninataka kurudisha viatu kwa sababu ni vidogo",
    "je, mnaleta mpaka Kisumu?",
    "kwaheri, tutaonana wiki ijayo",
    "hiyo ni ghali sana, mna kitu cha bei rahisi?",
    "naweza kulipa kwa simu?",
    "nataka kuongea na mtu halisi",
    "sitaki tena matangazo yenu",
    "mko wazi siku ya jumapili?",
    "ningependa kujua kama mna nguo za watoto",
    "bei ya usafirishaji hadi Nakuru ni ngapi?",
    "ndiyo, hiyo ndiyo nataka",
    "hapana asante, nitarudi baadaye",
    "mlinituma kiatu kibaya, naomba kubadilisha",
    "ghairi oda yangu tafadhali",
    "nilipe vipi?",
    "mna viatu vya shule?",
    "karibu tena, nitakuja kesho",
    "mimi ni mteja wenu wa zamani",
    "pesa imetoka kwa mpesa lakini oda haijathibitishwa",
    "saa ngapi mtafika na mzigo wangu?",
    "ningependa kupanga miadi ya kusukwa nywele ijumaa",
    "shikamoo, naomba msaada",
    "nimepokea mzigo, asante sana",
    "bado sijapokea",
    "nipigie simu",
    "mtaniletea lini?",
    "hizi ni za bei gani",
    "nauliza tu",
    "naomba bei ya jumla",
    "mzigo wangu umefika?",
    "je mnapatikana wapi?",
    "nimeshalipa kupitia mpesa",
    "tafadhali niletee kesho asubuhi",
    "hiyo haiko sawa",
    "naomba unisaidie",
    "mbona hamjibu?",
    "ningependa kurudisha hii",
    "viatu hivi vinapatikana kwa rangi gani?",
    "wapi duka lenu",
    "bado mnafanya kazi leo?",
]

SHENG = [
    "niaje msee, mko na ndula za jordan?",
    "sasa buda",
    "manze hizi raba ni ngapi?",
    "nadai kucheki venye mko nazo",
    "niko na 1.5k, naeza pata sneakers?",
    "poa msee, asante",
    "nataka ku-order hoodie mbili",
    "nimepay lakini sijaona confirmation",
    "mnadeliver Rongai?",
    "wozza, mko open sai?",
    "hizo ni doh ngapi boss?",
    "fiti, nitakucheki kesho",
    "ganji imeisha, nitakam next week",
    "rada bro, kuna mtumba fiti?",
    "uko aje? nataka kubook appointment ya kusuka",
    "naeza kulipa na till?",
    "thao mbili inatosha?",
    "ebu nionyeshe mashoes zenye mnauza",
    "si unicheki na price ya hiyo jacket",
    "mambo, bei ya hizi ndula ni aje?",
    "nimetuma 500 bob, cheki",
    "msee hii delivery inakam lini?",
    "shukran msee, uko fiti",
    "bro nadai kuswap hii size",
    "nitakucancel hii order",
    "semaje, mko na mtumba ya jeans?",
    "poa basi, tutaongea",
    "niko tao sahii, naeza kam kuchukua?",
    "zii, sitaki hiyo",
    "maze hii ganji haitoshi, kuna kitu cheaper?",
    "uko na ka-jacket ka 1k?",
    "nimekuwa nikicheki page yenu",
    "sema buda, kuna offer?",
    "naeza lipa na pochi?",
    "msee hizi ndula ni fake ama?",
    "wacha nicheki kwa doh yangu",
    "nimekam kuchukua mzigo",
    "mnaeza deliver tao leo?",
    "nadai kurefund hii",
    "venye tuliongea jana",
    "maze sijapata mzigo",
    "buda nipe discount kiasi",
    "ganji iko tight, mko na cheaper?",
    "kesho nitakucheki",
    "sahii mko open?",
    "manze delivery inachukua muda sana",
]

MIXED = [
    "i want hizo shoes za blue",
    "niko Westlands, do you deliver huko?",
    "how much ni hii jacket",
]

MIN_ACCURACY = 0.9


@pytest.mark.parametrize(
    "code, sentences", [("en", ENGLISH), ("sw", SWAHILI), ("sheng", SHENG)]
)
def test_accuracy_per_language(code, sentences):
    assert len(sentences) >= 25
    misses = [(s, detect(s).language, detect(s).scores) for s in sentences]
    misses = [miss for miss in misses if miss[1] != code]
    accuracy = 1 - len(misses) / len(sentences)
    assert accuracy >= MIN_ACCURACY, f"{code}: {accuracy:.0%}, misses: {misses}"


@pytest.mark.parametrize("text", MIXED)
def test_balanced_code_switching_is_mixed(text):
    assert detect(text).language == "mixed"


NEUTRAL = ["2", "👍", "KES 2,500", "0712345678", "", "   ", "2k", "Nike Air Force 1", "🙏🙏"]


@pytest.mark.parametrize("text", NEUTRAL)
def test_neutral_text_has_no_language(text):
    assert detect(text).language is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("nataka viatu 2 pairs, KES 2,500", "sw"),
        ("I want the Nike Air Max 👟 size 42", "en"),
        ("mnadeliver Kitengela 0712345678?", "sheng"),
        ("delivery ni ngapi to Rongai?", "sw"),
        ("thank you msee", "sheng"),
        ("I paid 500 bob yesterday but it has not reflected", "en"),
    ],
)
def test_numbers_products_places_do_not_flip_the_language(text, expected):
    assert detect(text).language == expected


def _run(texts):
    messages = [Message(data={TEXT: text}) for text in texts]
    return LanguageDetector().process(messages)


def test_process_adds_language_entity_in_rasa_format():
    (message,) = _run(["habari yako, mnauza nini?"])
    (entity,) = message.get(ENTITIES)
    assert entity["entity"] == "language"
    assert entity["value"] == "sw"
    assert entity["extractor"] == "LanguageDetector"
    assert entity["start"] == entity["end"] == len("habari yako, mnauza nini?")
    assert 0 < entity["confidence"] <= 1
    assert "language_detection" in message.as_dict(only_output_properties=True)
    assert message.get(DETECTION_KEY)["language"] == "sw"
    assert set(message.get(DETECTION_KEY)["scores"]) == {"en", "sw", "sheng"}


@pytest.mark.parametrize("text", ["2", "0712345678", "👍"])
def test_process_adds_no_entity_without_language_evidence(text):
    (message,) = _run([text])
    assert message.get(ENTITIES, []) == []
    assert message.get(DETECTION_KEY)["language"] is None


def test_process_reports_mixed_messages():
    (message,) = _run(["i want hizo shoes za blue"])
    [entity] = message.get(ENTITIES)
    assert (entity["entity"], entity["value"]) == ("language", "mixed")


def test_process_keeps_entities_from_earlier_components():
    message = Message(data={TEXT: "show me shoes", ENTITIES: [{"entity": "category"}]})
    LanguageDetector().process([message])
    assert [e["entity"] for e in message.get(ENTITIES)] == ["category", "language"]
