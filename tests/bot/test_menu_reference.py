"""Menu reference extractor: which texts pick a menu item, which never do, Rasa output."""
import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.menu_reference import MenuReferenceExtractor, find_option

# (text, value, the text the entity span covers)
PICKS = [
    # digits alone or with a marker
    ("2", "2", "2"),
    ("2.", "2", "2"),
    ("3 please", "3", "3"),
    ("ok 4", "4", "4"),
    ("2️⃣", "2", "2"),
    ("5 🙏", "5", "5"),
    ("10", "10", "10"),
    ("no 3", "3", "3"),
    ("no. 4 please", "4", "4"),
    ("No.7", "7", "7"),
    ("number 4", "4", "4"),
    ("Number 1 pls", "1", "1"),
    ("namba 6", "6", "6"),
    ("#2", "2", "2"),
    ("option 2", "2", "2"),
    ("option2", "2", "2"),
    ("I'll go with option 3", "3", "3"),
    ("ile ya 2", "2", "2"),
    ("hiyo ya 3", "3", "3"),
    ("nipe ya 5", "5", "5"),
    # English ordinals
    ("first", "1", "first"),
    ("the second one", "2", "second"),
    ("the third", "3", "third"),
    ("I want the fourth one", "4", "fourth"),
    ("fifth option", "5", "fifth"),
    ("the sixth one please", "6", "sixth"),
    ("seventh", "7", "seventh"),
    ("the eighth", "8", "eighth"),
    ("ninth one", "9", "ninth"),
    ("the tenth one", "10", "tenth"),
    ("the secnd one", "2", "secnd"),
    ("forth one", "4", "forth"),
    ("1st", "1", "1st"),
    ("the 2nd one", "2", "2nd"),
    ("3rd please", "3", "3rd"),
    ("give me the 4th", "4", "4th"),
    ("the last one", "last", "last"),
    ("last one", "last", "last"),
    ("Last", "last", "Last"),
    ("the second pair looks nice", "2", "second"),
    # Swahili ordinals, any noun class
    ("ya kwanza", "1", "kwanza"),
    ("nataka ya pili", "2", "pili"),
    ("hiyo ya kwanza", "1", "kwanza"),
    ("nipe ya tatu", "3", "tatu"),
    ("la nne", "4", "nne"),
    ("wa tano", "5", "tano"),
    ("cha sita tafadhali", "6", "sita"),
    ("ile ya saba", "7", "saba"),
    ("za nane", "8", "nane"),
    ("ya tisa", "9", "tisa"),
    ("ya kumi", "10", "kumi"),
    ("ya mwisho", "last", "mwisho"),
    ("hiyo ya mwisho", "last", "mwisho"),
    ("wa mwisho", "last", "mwisho"),
    ("pili", "2", "pili"),
    # Swahili and English number words as picks
    ("mbili", "2", "mbili"),
    ("moja tafadhali", "1", "moja"),
    ("namba mbili", "2", "mbili"),
    ("number three", "3", "three"),
    ("two", "2", "two"),
    # Sheng
    ("ile ya pili", "2", "pili"),
    ("ya last", "last", "last"),
    ("ile ya last msee", "last", "last"),
    ("ile ya second", "2", "second"),
    ("poa, 2", "2", "2"),
    # a pick inside a longer request
    ("can I get the second one in size 42?", "2", "second"),
    ("nataka ile ya kwanza size 40", "1", "kwanza"),
    ("number 2 ni ngapi?", "2", "2"),
]

NOT_PICKS = [
    # money and amounts
    "2k",
    "1.5k",
    "niko na 2k",
    "500 bob",
    "5 bob",
    "KES 2,000",
    "Ksh 5",
    "2 thao",
    "elfu mbili",
    "chini ya elfu mbili",
    "bei ya 2",
    "bei ya mwisho ni ngapi",
    "what's your last price",
    # phones
    "0712345678",
    "0712 345 678",
    "+254712345678",
    # sizes
    "size 42",
    "size 9",
    "size ya 8",
    "do you have 9 size",
    # quantities
    "2 pairs",
    "3 pcs",
    "2 of those",
    "x2",
    "2x",
    "add 2",
    "nataka 2",
    "hizo 2",
    "i want two",
    # times and dates
    "saa 2",
    "kesho saa nne",
    "10am",
    "at 3",
    "2 pm",
    "on the 3rd",
    "2nd May",
    "mwezi wa tatu",
    # other uses of ordinal words
    "my last order",
    "first time buying here",
    "wait a second",
    "do you sell second hand shoes",
    "mara ya kwanza kununua hapa",
    "mara ya mwisho nilinunua",
    "the first time I came",
    "last week I ordered",
    "kwanza, mko wapi?",
    "a second pair",
    "first of all, where are you?",
    "the 1st of June",
    "2nd hand phones",
    "option 12",
    "my number is 2",
    "siku ya pili",
    # plain messages
    "hello",
    "mnauza nini",
    "",
]


@pytest.mark.parametrize("text, value, span", PICKS)
def test_picks(text, value, span):
    match = find_option(text)
    assert match is not None, text
    assert (match.value, text[match.start : match.end]) == (value, span)


@pytest.mark.parametrize("text", NOT_PICKS)
def test_not_picks(text):
    assert find_option(text) is None


def test_first_reference_wins():
    match = find_option("the second one, not the third")
    assert match.value == "2"


def test_process_adds_option_entity_in_rasa_format():
    text = "nataka ile ya pili"
    message = Message(data={TEXT: text})
    MenuReferenceExtractor().process([message])
    (entity,) = message.get(ENTITIES)
    assert entity["entity"] == "option"
    assert entity["value"] == "2"
    assert entity["extractor"] == "MenuReferenceExtractor"
    assert text[entity["start"] : entity["end"]] == "pili"
    assert 0 < entity["confidence"] <= 1
    assert message.as_dict(only_output_properties=True)[ENTITIES] == [entity]


def test_process_leaves_messages_without_reference_alone():
    message = Message(data={TEXT: "nataka viatu za 2k"})
    MenuReferenceExtractor().process([message])
    assert message.get(ENTITIES) is None


def test_process_training_data_is_unchanged():
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData([Message(data={TEXT: "2", "intent": "select_option"})])
    assert MenuReferenceExtractor().process_training_data(data) is data
