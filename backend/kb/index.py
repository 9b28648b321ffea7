"""A tenant's hybrid index: FAISS (inner product over normalised embeddings) plus BM25 over the
same items, fused by score; saved under <index dir>/<tenant>/<embedder>/v<version>/.

Items are what retrieval matches: each phrasing of an FAQ question, each answer text, each
passage. Targets are what an answer comes from: one FAQ entry ("faq:12") or one passage
("passage:7"); an item's score counts for its target.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from pathlib import Path

import faiss
import numpy as np
from rank_bm25 import BM25Okapi

from backend.domain.knowledge import calibrated, fuse_scores, terms
from backend.kb.embedders import Embedder
from backend.kb.lexicon import bridged_terms, translations

# Item fields embedded as queries: a merchant's phrasings and the ones generated at rebuild
# (backend/kb/phrasings.py); answers and passages are embedded as passages.
QUERY_FIELDS = frozenset({"question", "generated"})
# An entry's dense score for ranking: its best item's cosine moved this share of the way to the
# mean of all its items (title, phrasings, generated phrasings, answers). One stray phrasing
# close to a question says less than an entry whose texts all are (DEV merchants: the right
# entry ranked first 0.79 -> 0.84 of 179 questions; see eval/results/history.md). Nine DEV
# merchants later (h-faq4, fusion weight 0.5): 0.6 and 0.8 ranked best, 0.2 worst; 0.6 kept.
ENTRY_MEAN_WEIGHT = 0.6
POINTER = "current"  # file naming the version directory readers load
KEEP_VERSIONS = 2


@dataclass(frozen=True)
class Item:
    target: str  # "faq:<entry id>" | "passage:<passage id>"
    field: str  # "question" | "generated" | "answer" | "passage"
    text: str

    @property
    def digest(self) -> str:
        """Names the embedding: the same text embedded the same way (query or passage)."""
        mode = "q" if self.field in QUERY_FIELDS else "p"
        return hashlib.sha1(f"{mode}:{self.text}".encode()).hexdigest()


@dataclass(frozen=True)
class Candidate:
    target: str
    dense: float  # best cosine of the target's items (the evidence's)
    lexical: float  # best BM25 score of the target's items (0 without a shared word)
    lexical_share: float  # share of the question's terms (weighted by rarity) in the best item
    fused: float
    dense_rank: int
    lexical_rank: int | None


class TenantIndex:
    def __init__(self, version: int, embedder_key: str, items: list[Item],
                 vectors: np.ndarray, generation: str = "") -> None:
        self.version = version
        self.generation = generation
        self.embedder_key = embedder_key
        self.items = items
        self.vectors = vectors.astype(np.float32, copy=False)
        self._faiss = faiss.IndexFlatIP(vectors.shape[1])
        if len(items):
            self._faiss.add(self.vectors)
        self._item_terms = [terms(item.text) for item in items]
        self._bm25 = BM25Okapi(self._item_terms) if items else None
        self._term_sets = [set(t) for t in self._item_terms]
        rows: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            rows.setdefault(item.target, []).append(i)
        self._rows = {target: np.array(found) for target, found in rows.items()}
        # A word's weight in the lexical share: rare words say more (a word no item has, like
        # "weather" asked of a shoe shop, weighs most, so a question about something else
        # scores low even when its filler words match).
        documents: dict[str, int] = {}
        for term_set in self._term_sets:
            for term in term_set:
                documents[term] = documents.get(term, 0) + 1
        self._documents = documents
        grams: dict[str, set[str]] = {}
        for term in documents:
            for gram in _grams(term):
                grams.setdefault(gram, set()).add(term)
        self._grams = grams

    def _known(self, term: str) -> str | None:
        """The knowledge base's word for a question's word: itself, or the word that shares its
        longest stretch of at least VARIANT_CHARS letters (Swahili builds words around a root:
        "mnarudisha" asks about "kurudisha"; typos keep most of a word), else None."""
        if term in self._documents:
            return term
        best: tuple[int, int, str] | None = None
        for gram in _grams(term):
            for word in self._grams.get(gram, ()):
                key = (_common_run(term, word), self._documents[word], word)
                if best is None or key > best:
                    best = key
        return best[2] if best else None

    def __len__(self) -> int:
        return len(self.items)

    def _weight(self, term: str) -> float:
        return math.log((len(self.items) + 1) / (self._documents.get(term, 0) + 0.5))

    def search(self, query_vector: np.ndarray, question: str, calibration: tuple[float, float],
               lexical_fusion: bool = True, limit: int = 10,
               passage_offset: float = 0.0) -> list[Candidate]:
        """Targets best first (fused score, or dense only without lexical fusion).

        `passage_offset` is added to the cosine of answer and passage items: they are embedded
        as passages, and a question lands a few hundredths further from a passage than from
        another question that says the same (see `passage_offset` in backend/kb/runtime.py)."""
        if not self.items:
            return []
        k = min(len(self.items), 64)
        scores, ids = self._faiss.search(query_vector.reshape(1, -1).astype(np.float32), k)
        dense: dict[str, float] = {}
        for score, idx in zip(scores[0], ids[0], strict=True):
            if idx >= 0:
                item = self.items[idx]
                cosine = float(score) + (passage_offset if item.field not in QUERY_FIELDS else 0.0)
                dense[item.target] = max(dense.get(item.target, -1.0), cosine)
        query_terms = terms(question)
        lexical, share = self._lexical(query_terms, bridged_terms(question))
        lexical_order = sorted((t for t in lexical if lexical[t] > 0), key=lexical.__getitem__,
                               reverse=True)
        if lexical_fusion:
            for target in lexical_order[:limit]:  # found by its words only: its real cosine
                if target not in dense:
                    dense[target] = self._dense_of(target, query_vector, passage_offset)
        entry = {t: self._entry_dense(t, query_vector, passage_offset) for t in dense}
        dense_order = sorted(entry, key=entry.__getitem__, reverse=True)
        if lexical_fusion:
            fused = fuse_scores(entry, {t: lexical[t] for t in lexical_order}, calibration)
        else:
            fused = {target: calibrated(cosine, calibration) for target, cosine in entry.items()}
        dense_rank = {t: r for r, t in enumerate(dense_order, 1)}
        lexical_rank = {t: r for r, t in enumerate(lexical_order, 1)}
        ranked = sorted(fused, key=lambda t: (fused[t], entry.get(t, -1.0)), reverse=True)
        return [
            Candidate(t, dense[t] if t in dense else self._dense_of(t, query_vector,
                                                                    passage_offset),
                      lexical.get(t, 0.0),
                      share.get(t, 0.0), fused[t], dense_rank.get(t, len(dense_order) + 1),
                      lexical_rank.get(t))
            for t in ranked[:limit]
        ]

    def unknown_share(self, question: str) -> float:
        """Share of the question's words (weighted by rarity) that the knowledge base has in no
        form: what the question asks about that no entry or passage talks of ("mnafix simu?"
        asks about repairs; only "simu" is known). 1.0 for a question of stopwords only."""
        return self.coverage(question, "")[1]

    def coverage(self, question: str, target: str) -> tuple[float, float]:
        """What the confidence reads of the question's words (weighted by rarity), each taken as
        itself or, through the shop lexicon, as the English words it stands for ("nilipe" is
        "pay"): the share `target`'s texts use, and the share the knowledge base uses in no form.
        A Sheng question to an English base is then neither all unknown words nor none found."""
        query_terms = set(terms(question))
        if not query_terms or not self.items:
            return 0.0, 1.0
        rows = self._rows.get(target, np.array([], int))
        used = set().union(*(self._term_sets[i] for i in rows))
        forms = {term: {found for word in (term, *translations(term))
                        if (found := self._known(word)) is not None} for term in query_terms}
        weights = {term: min((self._weight(f) for f in found), default=self._weight(term))
                   for term, found in forms.items()}
        total = sum(weights.values())
        if total <= 0:
            return 0.0, 0.0
        share = sum(weights[term] for term, found in forms.items() if found & used) / total
        unknown = sum(weights[term] for term, found in forms.items() if not found) / total
        return share, unknown

    def _lexical(self, query_terms: list[str], bridged: list[str] | None = None
                 ) -> tuple[dict[str, float], dict[str, float]]:
        """Best BM25 score per target over `bridged` (the question's terms widened by the shop
        lexicon; the terms themselves when None) and the share of the question's own terms
        (weighted by rarity) in the best item: the evidence stays about what was asked."""
        best: dict[str, float] = {}
        share: dict[str, float] = {}
        if self._bm25 is None or not query_terms:
            return best, share
        known = [self._known(term) or term for term in query_terms]
        searched = known if bridged is None else [self._known(term) or term for term in bridged]
        weights = {term: self._weight(term) for term in set(known)}
        total = sum(weights.values())
        for idx, score in enumerate(self._bm25.get_scores(searched)):
            target = self.items[idx].target
            best[target] = max(best.get(target, 0.0), float(score))
            found = sum(w for term, w in weights.items() if term in self._term_sets[idx]) / total
            share[target] = max(share.get(target, 0.0), found)
        return best, share

    def field_cosine(self, target: str, query_vector: np.ndarray, fields: tuple[str, ...],
                     passage_offset: float = 0.0) -> float | None:
        """The best cosine of the target's items of these fields (None when it has none)."""
        rows = [i for i, item in enumerate(self.items)
                if item.target == target and item.field in fields]
        if not rows:
            return None
        offset = 0.0 if set(fields) <= QUERY_FIELDS else passage_offset
        return float(np.max(self.vectors[rows] @ query_vector.reshape(-1))) + offset

    def _entry_dense(self, target: str, query_vector: np.ndarray,
                     passage_offset: float = 0.0) -> float:
        """The target's ranking cosine: its best item's, ENTRY_MEAN_WEIGHT of the way to the mean
        of all its items' (answers and passages with `passage_offset`)."""
        rows = self._rows[target]
        offsets = np.array([passage_offset if self.items[i].field not in QUERY_FIELDS else 0.0
                            for i in rows], np.float32)
        cosines = self.vectors[rows] @ query_vector.reshape(-1) + offsets
        best = float(np.max(cosines))
        return best + ENTRY_MEAN_WEIGHT * (float(np.mean(cosines)) - best)

    def _dense_of(self, target: str, query_vector: np.ndarray,
                  passage_offset: float = 0.0) -> float:
        """Cosine of a target only BM25 found (outside FAISS's top k)."""
        rows = [i for i, item in enumerate(self.items) if item.target == target]
        offsets = np.array([passage_offset if self.items[i].field not in QUERY_FIELDS else 0.0
                            for i in rows], np.float32)
        return float(np.max(self.vectors[rows] @ query_vector.reshape(-1) + offsets))

    # Persistence ------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        """Write v<version>/ next to the others, then point `current` at it (atomic rename)."""
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"v{self.version}"
        # Per thread: the seed's rebuild and the rebuild job it queued may run at once in one
        # process (jobs in-process without Redis).
        writer = f"{os.getpid()}.{threading.get_ident()}"
        staging = directory / f".v{self.version}.{writer}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        faiss.write_index(self._faiss, str(staging / "index.faiss"))
        meta = {"version": self.version, "generation": self.generation,
                "embedder": self.embedder_key,
                "items": [asdict(item) for item in self.items]}
        (staging / "items.json").write_text(json.dumps(meta, ensure_ascii=False))
        shutil.rmtree(target, ignore_errors=True)
        try:
            staging.rename(target)
        except OSError:  # another writer saved this same version in between: keep theirs
            shutil.rmtree(staging, ignore_errors=True)
            if not (target / "items.json").is_file():
                raise
        pointer = directory / f".{POINTER}.{writer}.tmp"
        pointer.write_text(str(self.version))
        os.replace(pointer, directory / POINTER)
        _prune(directory, self.version)

    @classmethod
    def load(cls, directory: Path) -> TenantIndex | None:
        version = current_version(directory)
        if version is None:
            return None
        folder = directory / f"v{version}"
        try:
            meta = json.loads((folder / "items.json").read_text())
            index = faiss.read_index(str(folder / "index.faiss"))
        except (OSError, ValueError, RuntimeError):
            return None
        items = [Item(**item) for item in meta["items"]]
        vectors = (index.reconstruct_n(0, index.ntotal) if index.ntotal
                   else np.zeros((0, index.d), np.float32))
        return cls(int(meta["version"]), str(meta["embedder"]), items, vectors,
                   str(meta.get("generation", "")))


VARIANT_CHARS = 6  # letters a question's word must share with a knowledge-base word


def _grams(word: str) -> set[str]:
    return {word[i:i + VARIANT_CHARS] for i in range(len(word) - VARIANT_CHARS + 1)}


def _common_run(a: str, b: str) -> int:
    """Length of the longest stretch of letters two words share."""
    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match().size


def current_version(directory: Path) -> int | None:
    try:
        return int((directory / POINTER).read_text().strip())
    except (OSError, ValueError):
        return None


def _prune(directory: Path, keep_from: int) -> None:
    versions = sorted(
        (int(p.name[1:]) for p in directory.glob("v*") if p.name[1:].isdigit()), reverse=True)
    for old in versions[KEEP_VERSIONS:]:
        if old < keep_from:
            shutil.rmtree(directory / f"v{old}", ignore_errors=True)


def build_index(version: int, embedder: Embedder, items: Sequence[Item],
                previous: TenantIndex | None = None, generation: str = ""
                ) -> tuple[TenantIndex, int]:
    """Embed the items, reusing the previous index's vectors for items it already holds;
    returns the index and how many items were embedded anew. Question phrasings are embedded
    as queries (a question is matched against questions), answers and passages as passages."""
    known: dict[str, np.ndarray] = {}
    if previous is not None and previous.embedder_key == embedder.key:
        known = {item.digest: previous.vectors[i] for i, item in enumerate(previous.items)}
    fresh = {item.digest: item for item in items if item.digest not in known}
    questions = [item for item in fresh.values() if item.field in QUERY_FIELDS]
    others = [item for item in fresh.values() if item.field not in QUERY_FIELDS]
    for group, encode in ((questions, embedder.queries), (others, embedder.passages)):
        if group:
            for item, vector in zip(group, encode([i.text for i in group]), strict=True):
                known[item.digest] = vector
    vectors = (np.stack([known[item.digest] for item in items]) if items
               else np.zeros((0, embedder.dim), np.float32))
    return TenantIndex(version, embedder.key, list(items), vectors, generation), len(fresh)
