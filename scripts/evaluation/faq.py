"""The FAQ measurements' common ground (backend environment): the demo shop with its knowledge
base on a throwaway SQLite database, an index per embedder, and each question's best target with
the evidence the service's confidence model reads (`backend.services.knowledge.faq.evidence`)."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from backend.app import create_app  # noqa: E402
from backend.domain.knowledge import AnswerEvidence  # noqa: E402
from backend.kb.runtime import KbRuntime, configure  # noqa: E402
from backend.kb.settings import KbSettings  # noqa: E402
from backend.migrate import upgrade  # noqa: E402
from backend.models import KbDocument, KbEntry, KbPassage  # noqa: E402
from backend.seed.kb import demo_kb_file  # noqa: E402
from backend.seed.platform import DEMO_TENANTS, seed_tenant  # noqa: E402
from backend.services.knowledge.faq import evidence  # noqa: E402
from backend.services.knowledge.kb import import_kb, parse_import, rebuild  # noqa: E402
from backend.settings import Settings  # noqa: E402

LANGS = ("en", "sw", "sheng")
REPO = Path(__file__).resolve().parents[2]
QUESTIONS = REPO / "eval" / "faq" / "questions.yaml"  # the test questions: never fitted on
DEV = REPO / "eval" / "faq" / "dev.yaml"  # development questions: the confidence fit's
DEMO_KB = REPO / "backend" / "kb_data" / "demo-shop.yaml"
# A knowledge-base phrasing this close to an evaluation question (difflib ratio of the two,
# lower-cased, punctuation removed) is a copy of it: "ndula ikiharibika mapema mnaisaidia aje"
# against "...mnanisaidia aje" is 0.99; different questions in the same words score lower
# ("are you open on saturday" against "are you open on sundays" is 0.89).
NEAR_COPY = 0.9
_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def _plain(text: str) -> str:
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text.lower())).strip()


def questions_of(path: Path) -> list[str]:
    """Every question of an evaluation file (answerable and unanswerable, all languages)."""
    data = yaml.safe_load(path.read_text())
    found = [item["q"] for items in data["answerable"].values() for item in items]
    return found + [q for qs in data["unanswerable"].values() for q in qs]


def near_copies(knowledge_base: Path, question_files: list[Path]) -> list[tuple[str, str]]:
    """(phrasing, question) pairs where the knowledge base's FAQ phrasings copy an evaluation
    question: a measurement of retrieval is worthless on questions it was handed."""
    phrasings = [q for entry in yaml.safe_load(knowledge_base.read_text())["entries"]
                 for q in entry.get("questions", [])]
    questions = [(q, _plain(q)) for path in question_files for q in questions_of(path)]
    found = []
    for phrasing in phrasings:
        plain = _plain(phrasing)
        matcher = SequenceMatcher(None, "", plain, autojunk=False)
        for question, other in questions:
            matcher.set_seq1(other)
            # The quick ratios are upper bounds of ratio(): most pairs stop there (the same
            # answer, a fraction of the time).
            if (matcher.real_quick_ratio() >= NEAR_COPY and matcher.quick_ratio() >= NEAR_COPY
                    and matcher.ratio() >= NEAR_COPY):
                found.append((phrasing, question))
    return found


def refuse_near_copies(knowledge_base: Path, question_files: list[Path]) -> None:
    copies = near_copies(knowledge_base, question_files)
    if copies:
        for phrasing, question in copies:
            print(f"{knowledge_base.name}: phrasing {phrasing!r} copies the evaluation question "
                  f"{question!r}")
        raise SystemExit(3)


@dataclass
class DemoShop:
    app: Any  # the Flask app (its test client speaks HTTP in process)
    ctx: Any
    tenant_id: str
    work: Path
    token: str  # the service token, for `Authorization: Bearer`


@dataclass(frozen=True)
class Retrieved:
    ranked: list[Any]  # the search's candidates, best first
    evidence: AnswerEvidence | None

    def rank_of(self, names: dict[str, set[str]], expect: str) -> int | None:
        return next((r for r, c in enumerate(self.ranked, 1)
                     if matches(names.get(c.target, set()), expect)), None)


def demo_shop(purpose: str = "eval") -> DemoShop:
    """The first demo tenant on a fresh SQLite database in a temporary folder."""
    work = Path(tempfile.mkdtemp(prefix=f"{purpose}-faq-"))
    url = f"sqlite:///{work / 'shop.db'}"
    upgrade(url)
    settings = Settings(database_url=url, service_token=purpose, encryption_keys=(
        "ZmRzYWZkc2FmZHNhZmRzYWZkc2FmZHNhZmRzYWZkc2E=",), hash_key=purpose)
    app = create_app(settings)
    ctx = app.extensions["backend"]
    return DemoShop(app, ctx, seed_tenant(ctx, DEMO_TENANTS[0]).tenant_id, work, purpose)


def index_with(shop: DemoShop, embedder: str) -> tuple[KbRuntime, dict[str, set[str]]]:
    """The demo knowledge base indexed with `embedder`; index target → names an `expect` uses."""
    kb = configure(shop.ctx, KbSettings(index_dir=shop.work / "kb", embedder=embedder))
    import_kb(shop.ctx, shop.tenant_id,
              parse_import(demo_kb_file(shop.tenant_id).read_text(), "yaml"), replace=True)
    rebuild(shop.ctx, shop.tenant_id)
    return kb, target_names(shop)


def target_names(shop: DemoShop) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    with shop.ctx.db.transaction() as session:
        for entry in session.query(KbEntry).filter_by(tenant_id=shop.tenant_id):
            names[f"faq:{entry.id}"] = {entry.key}
        for passage, _ in session.query(KbPassage, KbDocument).join(KbDocument).filter(
                KbPassage.tenant_id == shop.tenant_id):
            names[f"passage:{passage.id}"] = {f"passage:{passage.heading}"}
    return names


def matches(names: set[str], expect: str) -> bool:
    if expect.startswith("passage:"):
        return any(f"passage:{h}" in names for h in expect[len("passage:"):].split("|"))
    return expect in names


def retrieve(kb: KbRuntime, shop: DemoShop, question: str, fusion: bool = True,
             passage_offset: float | None = None, tenant_id: str | None = None) -> Retrieved:
    """Searched as the service searches (`passage_offset` None: the runtime's fitted one), in
    the demo tenant's base or `tenant_id`'s."""
    index = kb.index(tenant_id or shop.tenant_id)
    assert index is not None
    vector = kb.embedder().queries([question])[0]
    offset = kb.passage_offset if passage_offset is None else passage_offset
    ranked = index.search(vector, question, kb.calibration, fusion, passage_offset=offset)
    return Retrieved(ranked, evidence(kb, index, question, ranked, vector) if ranked else None)


# Small merchant knowledge bases ---------------------------------------------------------------

MERCHANTS = REPO / "eval" / "faq" / "merchants"  # kb/<merchant>.yaml, dev/ and test/ questions
DEMO_DATA = REPO / "backend" / "kb_data"
# The demo shop cut down to what a merchant types: 1 to 3 phrasings per entry, a few draws.
SMALL_DEMO_SEEDS = (1, 2, 3)


def small_kb(text: str, seed: int) -> str:
    """A knowledge base (YAML text) with 1 to 3 of each entry's phrasings, drawn with `seed`,
    so the demo bases look like what a merchant writes (~13 phrasings each in the demo shop)."""
    import random

    rng = random.Random(seed)
    data = yaml.safe_load(text)
    for entry in data.get("entries") or []:
        questions = list(entry.get("questions") or [])
        keep = min(len(questions), rng.randint(1, 3))
        entry["questions"] = rng.sample(questions, keep)
    data.pop("documents", None)  # a merchant's base is FAQ entries only
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def add_tenant(shop: DemoShop, tenant_id: str, name: str, number: int) -> str:
    """A tenant for one merchant next to the demo one (same database, its own index)."""
    from dataclasses import replace

    from backend.services.platform.tenants import ensure_tenant

    demo = DEMO_TENANTS[0].tenant
    ensure_tenant(shop.ctx, replace(demo, id=tenant_id, name=name,
                                    whatsapp_number=f"+2547009{number:05d}",
                                    twilio_account_sid=f"AC{number:032x}", features={}))
    return tenant_id


def import_merchant(shop: DemoShop, tenant_id: str, kb_text: str) -> dict[str, set[str]]:
    """Import through the service behind POST /v1/kb/import and build the index the way the
    rebuild job does; index target → the entry key an `expect` names."""
    import_kb(shop.ctx, tenant_id, parse_import(kb_text, "yaml"), replace=True)
    rebuild(shop.ctx, tenant_id)
    names: dict[str, set[str]] = {}
    with shop.ctx.db.transaction() as session:
        for entry in session.query(KbEntry).filter_by(tenant_id=tenant_id):
            names[f"faq:{entry.id}"] = {entry.key}
    return names


def merchant_sets(split: str) -> list[tuple[str, Path, Path]]:
    """(merchant, knowledge base, questions) of one split (dev or test), when committed."""
    found = []
    for questions in sorted((MERCHANTS / split).glob("*.yaml")):
        kb = MERCHANTS / "kb" / questions.name
        if kb.is_file():
            found.append((questions.stem, kb, questions))
    return found


def ask_merchant(kb: KbRuntime, shop: DemoShop, tenant_id: str, names: dict[str, set[str]],
                 data: dict[str, Any], afriqa: list[str] | None = None) -> dict[str, Any]:
    """Every question asked through the service behind POST /v1/faq/answer (no LLM): per
    language hit@1 (answered and right), answered wrongly, abstention on answerable questions,
    MRR of the ranking, correct abstention on the unanswerable ones, latency p50/p95."""
    import statistics
    import time

    from backend.services.knowledge import faq

    keys = {int(t.split(":")[1]): next(iter(n)) for t, n in names.items() if t.startswith("faq:")}
    timings: list[float] = []

    def ask(question: str, lang: str) -> Any:
        started = time.perf_counter()
        result = faq.answer(shop.ctx, tenant_id, question, lang)
        timings.append((time.perf_counter() - started) * 1000)
        return result

    ask("warm up", "en")
    timings.clear()
    report: dict[str, Any] = {"answerable": {}, "unanswerable": {}}
    for lang in LANGS:
        items = (data.get("answerable") or {}).get(lang) or []
        right = wrong = reciprocal = ranked_first = 0
        for item in items:
            result = ask(item["q"], lang)
            if result.answered:
                source = result.sources[0].id if result.sources else None
                if keys.get(source) == item["expect"]:
                    right += 1
                else:
                    wrong += 1
            rank = retrieve(kb, shop, item["q"], tenant_id=tenant_id).rank_of(
                names, item["expect"])
            reciprocal += 1 / rank if rank else 0
            ranked_first += rank == 1
        n = max(1, len(items))
        report["answerable"][lang] = {
            "questions": len(items), "hit@1": round(right / n, 3),
            "answered_wrongly": round(wrong / n, 3),
            "abstained": round((len(items) - right - wrong) / n, 3),
            "ranked_first": round(ranked_first / n, 3), "mrr": round(reciprocal / n, 3)}
    sets = {lang: (data.get("unanswerable") or {}).get(lang) or [] for lang in LANGS}
    if afriqa:
        sets["afriqa_sw"] = afriqa
    for name, questions in sets.items():
        lang = "sw" if name == "afriqa_sw" else name
        declined = sum(not ask(q, lang).answered for q in questions)
        report["unanswerable"][name] = {
            "questions": len(questions),
            "correct_abstention": round(declined / len(questions), 3) if questions else None}
    timings.sort()
    report["latency"] = {"requests": len(timings),
                         "p50_ms": round(statistics.median(timings), 1) if timings else None,
                         "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1)
                         if timings else None}
    return report


def without_near_copies(knowledge_base: Path, questions: Path) -> dict[str, Any]:
    """A merchant's questions less those its knowledge base happens to copy (the writers worked
    apart, so a coincidence is possible; the files stay as written): a question answered from
    its own copy measures nothing."""
    copies = {question for _, question in near_copies(knowledge_base, [questions])}
    for question in sorted(copies):
        print(f"{knowledge_base.name}: left out the question {question!r} (a phrasing copies it)")
    data = yaml.safe_load(questions.read_text())
    return {"answerable": {lang: [i for i in items if i["q"] not in copies]
                           for lang, items in (data.get("answerable") or {}).items()},
            "unanswerable": {lang: [q for q in items if q not in copies]
                             for lang, items in (data.get("unanswerable") or {}).items()}}


def fewer_entries(kb_text: str, data: dict[str, Any], seed: int, keep: float = 0.5
                  ) -> tuple[str, dict[str, Any]]:
    """The knowledge base with only a share of its entries (drawn with `seed`), and the
    questions with those about a dropped entry moved to the unanswerable ones: the questions a
    merchant's base does not cover are usually about a neighbouring topic, and a base of a few
    entries makes any one of them look decisive."""
    import random

    base = yaml.safe_load(kb_text)
    entries = base.get("entries") or []
    kept = random.Random(seed).sample(entries, max(3, round(len(entries) * keep)))
    base["entries"] = kept
    keys = {entry["key"] for entry in kept}
    answerable = {lang: [i for i in items if i["expect"] in keys]
                  for lang, items in data["answerable"].items()}
    unanswerable = {lang: list(data["unanswerable"].get(lang) or [])
                    + [i["q"] for i in data["answerable"][lang] if i["expect"] not in keys]
                    for lang in data["answerable"]}
    return (yaml.safe_dump(base, allow_unicode=True, sort_keys=False),
            {"answerable": answerable, "unanswerable": unanswerable})
