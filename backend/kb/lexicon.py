"""A small Swahili/Sheng → English shop lexicon that widens the BM25 query (never the dense one).

A merchant usually writes an entry in English only; a customer asks "nilipe aje, mko na
paybill". The multilingual embedder places such a question loosely, and BM25 finds no shared word,
so the entry's own words ("pay", "payment") never help. Each key below is the start of an everyday
Swahili or Sheng word (or a phrase) customers use about a shop; its value is the English words a
merchant writes for the same thing. Written from general vocabulary, not from any evaluation
question.
"""

from __future__ import annotations

from backend.domain.knowledge import terms, words

SHOP_LEXICON: dict[str, str] = {
    # prices and paying
    "bei": "price cost", "gharama": "cost price fee", "pesa": "money pay", "doh": "money pay",
    "kulipa": "pay payment", "kulipia": "pay payment", "nilipe": "pay payment",
    "malipo": "payment pay", "lipa": "pay payment", "paybill": "pay payment mpesa",
    "benki": "bank", "kadi": "card", "taslimu": "cash",
    "amana": "deposit", "kianzio": "deposit",
    "punguzo": "discount offer", "ofa": "offer discount", "mkopo": "credit instalments",
    "mdogo mdogo": "instalments",
    # hours and days
    "saa ngapi": "time hours", "mida": "time hours", "mnafungua": "open opening hours",
    "mnafunga": "close closing hours", "kufungua": "open hours", "kufunga": "close hours",
    "wazi": "open", "lini": "when", "leo": "today", "kesho": "tomorrow",
    "jumapili": "sunday", "jumamosi": "saturday", "sato": "saturday", "wikendi": "weekend",
    "mapema": "advance early notice", "siku ngapi": "days notice how long",
    "muda gani": "how long time", "itafika": "arrive delivery time",
    # where
    "wapi": "where location", "mahali": "location where", "duka": "shop", "tawi": "branch",
    "matawi": "branches", "jengo": "building", "karibu": "near", "ramani": "map directions",
    "mtaa": "area estate", "maeneo": "areas", "mikoani": "upcountry outside",
    "shags": "upcountry", "nje": "outside",
    # delivery and collecting
    "kuleta": "deliver delivery", "mtaniletea": "deliver delivery", "mnaleta": "deliver delivery",
    "leta": "deliver delivery", "mnapeleka": "deliver delivery", "kupeleka": "deliver delivery",
    "kusafirisha": "deliver delivery shipping", "mnasafirisha": "deliver delivery shipping",
    "mnadeliver": "deliver delivery", "kuchukua": "collect pickup",
    "kuchukulia": "collect pickup", "pick": "pickup collect",
    # orders, returns, changes
    "agiza": "order", "kuagiza": "order", "oda": "order", "ghairi": "cancel",
    "kughairi": "cancel", "kusitisha": "cancel",
    "kurudisha": "return refund", "rudisha": "return refund", "kurejesha": "return refund",
    "nirudishiwe": "refund return", "kubadilisha": "exchange change", "badilish": "exchange change",
    "kuswap": "exchange", "swap": "exchange", "mbadala": "substitute instead",
    "badala": "instead substitute", "imeoza": "rotten spoiled", "vimeoza": "rotten spoiled",
    "imeharibika": "damaged spoiled", "imevunjika": "broken damaged",
    "yamevunjika": "broken damaged", "kiwango cha chini": "minimum", "kidogo": "small minimum",
    "zimeisha": "sold out stock", "imeisha": "sold out stock", "mpya": "new",
    # goods and services shops talk about
    "saizi": "size sizes", "kipimo": "size measure", "vipimo": "size measurements",
    "rangi": "colour color paint", "kushona": "alter alterations tailor",
    "kulishona": "alter alterations tailor", "fundi": "tailor repair",
    "kuoka": "bake", "mnaoka": "bake", "keki": "cake", "harusi": "wedding", "sherehe": "party",
    "ladha": "flavour flavours", "mzio": "allergy allergic", "bila": "without free",
    "mayai": "eggs", "maziwa": "milk", "mkate": "bread", "sukari": "sugar", "chumvi": "salt",
    "nguo": "clothes dress", "gauni": "dress", "viatu": "shoes", "simu": "phone",
    "nywele": "hair", "kusuka": "braid braids", "miadi": "appointment booking",
    "kubook": "book booking appointment", "nibook": "book booking",
    "dhamana": "warranty guarantee deposit", "waranti": "warranty", "kutengeneza": "repair fix",
    "mnafix": "repair fix", "dawa": "medicine", "daktari": "doctor", "uzito": "weight",
    # more everyday shop words (second round: hardware, food, laundry, water, repairs, mitumba)
    "tayari": "ready", "haraka": "express fast urgent", "dakika": "minutes time",
    "chakula": "food meal", "vyakula": "food", "maji": "water", "mtungi": "bottle",
    "mitungi": "bottles bottle", "chupa": "bottle", "tanki": "tank", "mabati": "iron sheets",
    "saruji": "cement", "bomba": "pipe pipes plumbing", "mnakodisha": "hire rent",
    "kukodisha": "hire rent", "kukodi": "hire rent", "kufua": "wash laundry",
    "kuosha": "wash clean", "mnaosha": "wash clean", "kusafisha": "clean cleaning",
    "mnasafisha": "clean cleaning", "madoa": "stains stain", "pazia": "curtains",
    "ngozi": "leather", "blanketi": "blanket duvet", "mkataba": "contract", "ofisi": "office",
    "shule": "school", "nishikie": "hold reserve", "mnishikie": "hold reserve",
    "kushikilia": "hold reserve", "jumla": "wholesale bulk", "bidhaa": "items goods products",
    "mzigo": "order parcel goods", "kifurushi": "parcel package", "usafiri": "transport fare",
    "kuharibu": "damage damaged", "mmeharibu": "damaged damage", "imepotea": "lost missing",
    "kupotea": "lost missing", "picha": "photo picture", "malalamiko": "complaint complaints",
    "shida": "problem complaint", "kukata": "cut cutting", "mnakata": "cut cutting",
    "kuchanganya": "mix mixing", "mnachanganya": "mix mixing", "deni": "credit later",
    "cheki": "check", "nicheki": "check", "kila wiki": "weekly week", "kila mwezi": "monthly",
    "keja": "house home", "ganji": "money pay", "ndula": "shoes sneakers",
    "shagz": "upcountry", "nikiagiza": "order", "kuweka oda": "order",
    # third round (h-faq4): everyday words of the DEV merchants' topics, general vocabulary
    "gari": "vehicle transport truck", "nauli": "fare transport", "kufikisha": "deliver",
    "mtanifikishia": "deliver delivery", "kufika": "arrive reach", "utafika": "arrive delivery",
    "nawapataje": "find location directions", "kuwapata": "find location",
    "jirani": "near next", "kiasi": "amount some",
    "kwanza": "first before", "kabla": "before advance", "baadaye": "later after",
    "mtupu": "empty", "kujaza": "refill fill", "mnijazie": "refill fill",
    "kujazwa": "refill fill", "nikipokea": "delivery receive", "kupokea": "receive",
    "nimepokea": "received", "sijapokea": "not received missing", "hali": "condition",
    "zimechakaa": "worn condition", "imechakaa": "worn condition", "tundu": "hole damaged",
    "haiwaki": "dead not working", "haifanyi kazi": "not working faulty",
    "imemwagikiwa": "spilled water damage", "ilimwagikiwa": "spilled water damage",
    "ilianguka": "dropped fell", "kioo": "screen glass", "skrini": "screen",
    "betri": "battery", "chaja": "charger", "kuchaji": "charging charge",
    "kusafishwa": "clean cleaning treated", "kuchemsha": "boil", "kinywaji": "drink",
    "nafasi": "space seating availability", "kukaa": "sit seating", "menyu": "menu",
    "kuagizia": "order", "mapishi": "cooking recipe", "vitafunio": "snacks",
    "kilo": "kg kilogram weight", "lita": "litre litres", "ukubwa": "size big",
    "kubwa": "big large", "ndogo": "small", "namba": "number size", "kiuno": "waist size",
    "urefu": "length long", "mtoto": "child kids", "watoto": "children kids",
    "zawadi": "gift", "wateja": "customers", "kudumu": "regular loyal",
    "kila siku": "daily every day", "kwa wiki": "weekly", "kwa mwezi": "monthly",
    "wakala": "agent", "risiti": "receipt", "ankara": "invoice",
    "ahadi": "promise guarantee", "uhakika": "sure guarantee",
}
_PHRASES = {key: value.split() for key, value in SHOP_LEXICON.items() if " " in key}
# Word starts by the start itself, with their place in SHOP_LEXICON: a word is looked up by each
# of its own starts (a dozen dictionary reads) instead of testing every key against it, which
# the confidence's coverage did for every word of every question.
_STARTS = {key: (place, value.split())
           for place, (key, value) in enumerate(SHOP_LEXICON.items()) if " " not in key}
_LONGEST_START = max(map(len, _STARTS))


def translations(word: str) -> list[str]:
    """The English terms the lexicon gives for one Swahili or Sheng word (a key matches the start
    of a word, "mnafunga" also "mnafungaje"); none for a word it does not know."""
    found = sorted(hit for n in range(1, min(len(word), _LONGEST_START) + 1)
                   if (hit := _STARTS.get(word[:n])) is not None)
    if not found:
        return []
    return terms(" ".join(english for _, english_words in found
                              for english in english_words))


def bridged_terms(question: str) -> list[str]:
    """The question's terms, then the English words the lexicon gives for its Swahili and Sheng
    words and phrases."""
    found = terms(question)
    spoken = " ".join(words(question))
    extra: list[str] = []
    for phrase, english in _PHRASES.items():
        if f" {phrase} " in f" {spoken} ":
            extra += english
    bridged = [english for word in found for english in translations(word)]
    return found + terms(" ".join(extra)) + bridged
