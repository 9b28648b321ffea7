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
            if matcher.ratio() >= NEAR_COPY:
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
             passage_offset: float | None = None) -> Retrieved:
    """Searched as the service searches (`passage_offset` None: the runtime's fitted one)."""
    index = kb.index(shop.tenant_id)
    assert index is not None
    vector = kb.embedder().queries([question])[0]
    offset = kb.passage_offset if passage_offset is None else passage_offset
    ranked = index.search(vector, question, kb.calibration, fusion, passage_offset=offset)
    return Retrieved(ranked, evidence(kb, index, question, ranked) if ranked else None)
