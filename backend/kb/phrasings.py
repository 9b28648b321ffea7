"""Question phrasings generated for an FAQ entry when its index is built (in the rebuild job,
never inside a request): the entry's title as a question, and Swahili and Sheng ways of asking
about the topics its title and English phrasings name.

A merchant types one to three phrasings, usually in one language; customers ask in three. The
multilingual embedder places "mnafungua saa ngapi" only loosely near "Opening hours?", and BM25
finds no shared word at all, so a Swahili question about hours lands on whichever entry's
answer says "saa". The phrasebook below maps the everyday topics of a Kenyan shop or salon (the
words a title or an English question uses) to the words customers use for them in Swahili and
Sheng. It was written from general shop vocabulary and the demo and development knowledge bases;
nothing in it comes from an evaluation question.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from backend.domain.knowledge import words


@dataclass(frozen=True)
class Topic:
    triggers: tuple[str, ...]  # English word starts found in a title or phrasing ("deliver")
    sw: str  # how customers ask about it in Swahili
    sheng: str  # and in Sheng


def _topic(triggers: str, sw: str, sheng: str) -> Topic:
    return Topic(tuple(triggers.split()), sw, sheng)


PHRASEBOOK: tuple[Topic, ...] = (
    _topic("hour open close closing opening",
           "mnafungua saa ngapi mnafunga saa ngapi mko wazi lini",
           "mko open saa ngapi mnaclose saa ngapi mnafungua lini"),
    _topic("holiday sunday weekend", "siku za sikukuu jumapili wikendi",
           "holiday sunday weekend mko open"),
    _topic("where location locate find address direction",
           "mko wapi duka liko wapi nawapataje mahali",
           "mko wapi nawapata aje location yenu iko wapi"),
    _topic("deliver delivery shipping courier send", "mnaleta mnapeleka mtaniletea kuleta mzigo",
           "mnadeliver mtanidelivia mnatuma mzigo"),
    _topic("area estate town outside upcountry", "maeneo gani mtaa gani nje ya mji mikoani",
           "mnafika area gani mtaa gani shags"),
    _topic("charge fee cost price much", "bei gani ni ngapi gharama nauli",
           "ni pesa ngapi ni how much bei ni ngapi"),
    _topic("long fast soon quick arriv", "itachukua muda gani itafika lini haraka leo",
           "itakam lini inachukua time gani haraka"),
    _topic("minimum smallest least", "kiwango cha chini oda ndogo kabisa lazima ninunue ngapi",
           "oda ndogo kabisa minimum ni ngapi"),
    _topic("pay payment mpesa till card cash",
           "nalipa aje nilipe vipi malipo namba ya till pesa taslimu kadi",
           "nilipe aje mnakubali mpesa till number card cash"),
    _topic("return refund money back", "kurudisha kurejesha nirudishiwe pesa",
           "kureturn mnarefund nirudishiwe doh"),
    _topic("exchang swap colour color", "kubadilisha badilisha saizi rangi nyingine",
           "kuswap kuexchange kuchange size rangi"),
    _topic("size plus", "saizi vipimo saizi kubwa inanitosha",
           "size kubwa saizi inanifit"),
    _topic("bulk wholesale resel resale", "bei ya jumla kwa wingi kununua mingi kuuza tena",
           "bulk wholesale bei ya jumla nauza tena"),
    _topic("credit later month end", "mkopo deni nilipe baadaye mwisho wa mwezi",
           "kukopa nilipe end month madeni"),
    _topic("gas cylinder refill lpg", "gesi mtungi wa gesi kujaza gesi",
           "gas mtungi kurefill gas"),
    _topic("changing modify add", "kubadilisha oda kuongeza vitu kwenye oda",
           "kuchange oda kuadd vitu"),
    _topic("stock substitut unavailable", "kimeisha hakipo dukani mbadala",
           "kimeisha hakuna stock mbadala"),
    _topic("spoil wrong rotten damaged fresh", "imeharibika imeoza mbovu nimeletewa kitu kibaya",
           "imeharibika imeoza nimeletewa kitu wrong"),
    _topic("early advance notice before", "mapema siku ngapi kabla kuagiza mapema",
           "mapema siku ngapi before niorder mapema"),
    _topic("deposit", "malipo ya kwanza kulipa kiasi kwanza amana",
           "deposit ni ngapi nilipe kiasi kwanza"),
    _topic("custom design photo theme", "muundo wangu picha kwenye keki mtindo",
           "design yangu picha theme"),
    _topic("flavour flavor", "ladha gani ladha zenu", "flavour gani ladha"),
    _topic("serving servings people feed", "watu wangapi itatosha watu ngapi",
           "inatosha watu wangapi"),
    _topic("cake cupcake", "keki", "keki cake"),
    _topic("pick pickup collect collecting", "kuchukua mwenyewe kuja kuchukua",
           "kupick kucollect nikuje nichukue"),
    _topic("cancel cancelling cancellation", "kughairi kusitisha oda nikighairi",
           "kucancel nikicancel"),
    _topic("moving move reschedule postpone", "kuahirisha kubadilisha tarehe kuhamisha",
           "kureschedule kushift date"),
    _topic("eggless sugar vegan gluten dietary", "bila mayai bila sukari bila maziwa",
           "bila mayai sugar free vegan"),
    _topic("tasting taste", "kuonja kuonja kwanza", "kutaste kwanza"),
    _topic("wedding bride bridal", "harusi bibi harusi", "wedding harusi"),
    _topic("new arrival", "mzigo mpya nguo mpya zinaingia lini",
           "stock mpya inaingia lini vitu mpya"),
    _topic("alter tailor adjust shorten", "fundi kushona kurekebisha kupunguza",
           "fundi kuadjust kushorten"),
    _topic("fitting try", "kujaribu nguo kupima nguo chumba cha kujaribia",
           "kutry nguo fitting room"),
    _topic("late lateness", "nikichelewa kuchelewa", "nikilate nikichelewa"),
    _topic("booking appointment book walk", "miadi kuweka nafasi bila miadi",
           "kubook appointment bila kubook"),
    _topic("warranty guarantee", "dhamana ikiharibika warranty",
           "warranty ikiharibika guarantee"),
    _topic("original genuine fake authentic", "halisi original sio feki",
           "original sio fake genuine"),
    _topic("repair fix broken", "kutengeneza kurekebisha imeharibika imevunjika",
           "kufix kurepair imeharibika"),
    _topic("instal parts", "kulipa kidogo kidogo lipa pole pole awamu",
           "lipa mdogo mdogo lipa pole pole"),
    _topic("contact call phone email number", "namba ya simu kuwapigia simu kuwasiliana",
           "namba yenu niwapigie"),
    _topic("voucher gift", "zawadi vocha", "zawadi voucher"),
    _topic("product products", "bidhaa gani mnatumia", "products gani"),
    _topic("hair braids braiding weave", "nywele kusuka", "nywele kusuka"),
)


def _mentions(topic: Topic, vocabulary: set[str]) -> bool:
    return any(word.startswith(trigger) for trigger in topic.triggers for word in vocabulary)


def generated_phrasings(title: str, questions: Iterable[str]) -> list[str]:
    """The title (as a question) and one Swahili and one Sheng phrasing made of the phrasebook's
    ways of asking about every topic the title and phrasings mention; none when nothing matches
    (the entry keeps its own phrasings)."""
    vocabulary = set(words(" ".join([title, *questions])))
    topics = [topic for topic in PHRASEBOOK if _mentions(topic, vocabulary)]
    found = [title.strip()] if title.strip() else []
    if topics:
        found.append(" ".join(topic.sw for topic in topics))
        found.append(" ".join(topic.sheng for topic in topics))
    return found
