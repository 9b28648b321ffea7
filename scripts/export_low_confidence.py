"""Export the customer messages the model was unsure of as Rasa NLU YAML, for annotators.

    make export-low-confidence THRESHOLD=0.6 SINCE=7 TENANT=demo-shop OUT=eval/review/low.yml

Reads the backend's classification log (DATABASE_URL). Every message classified below the
threshold, or that fell back (nlu_fallback: the best real intent is used), during the last SINCE
days is written once (at its lowest confidence) under the intent the model predicted, lowest
confidence first, with a YAML comment giving confidence, language and date:

    version: "3.1"
    nlu:
    - intent: browse_catalog
      examples:
      - text: "nataka viatu za bei poa"  # 0.31 sw 2026-11-20

The annotator moves each example to the intent it really is (into data/nlu/<lang>/), or drops it.
The file holds customers' words: keep it out of version control.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backend.db import Database  # noqa: E402
from backend.services.conversations.classifications import (  # noqa: E402
    ReviewExample,
    as_example,
    low_confidence_examples,
)
from backend.settings import Settings  # noqa: E402

DEFAULT_OUT = REPO / "eval" / "review" / "low_confidence.yml"


def render(examples: Sequence[ReviewExample], header: str) -> str:
    """Rasa NLU YAML: one block per predicted intent (the least sure block first), each example
    a quoted scalar followed by a comment `# <confidence> <language> <date>`."""
    blocks: dict[str, list[ReviewExample]] = {}
    for example in examples:  # already lowest confidence first
        blocks.setdefault(example.intent, []).append(example)
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    lines += ['version: "3.1"', "nlu:" if blocks else "nlu: []"]
    for intent, items in blocks.items():
        lines += [f"- intent: {json.dumps(intent)}", "  examples:"]
        for item in items:
            language = item.language or "?"
            fallback = " fallback" if item.fallback else ""
            comment = f"{item.confidence:.2f} {language} {item.created_at:%Y-%m-%d}{fallback}"
            # A JSON string is a valid YAML double-quoted scalar; the comment stays a comment.
            text = json.dumps(as_example(item.text), ensure_ascii=False)
            lines.append(f"  - text: {text}  # {comment}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threshold", type=float, default=0.6,
                        help="export messages classified below this confidence (default 0.6)")
    parser.add_argument("--since-days", type=float, default=7,
                        help="only messages of the last N days (default 7)")
    parser.add_argument("--tenant", default="", help="one tenant id (default: every tenant)")
    parser.add_argument("--out", default="", help=f"output file (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if not 0 <= args.threshold <= 1:
        parser.error("--threshold must be between 0 and 1")
    if args.since_days <= 0:
        parser.error("--since-days must be positive")

    out = Path(args.out or DEFAULT_OUT)
    tenant = args.tenant.strip() or None
    now = datetime.now(UTC)
    since = now - timedelta(days=args.since_days)
    database = Database(Settings.from_env().database_url)
    try:
        examples = low_confidence_examples(database, args.threshold, since, tenant)
    finally:
        database.dispose()

    scope = f"tenant {tenant}" if tenant else "all tenants"
    header = (
        f"Customer messages classified below {args.threshold:g} (or falling back) from "
        f"{since:%Y-%m-%d} to {now:%Y-%m-%d}, {scope}; exported {now:%Y-%m-%d %H:%M} UTC.\n"
        "Comment after each example: model confidence, detected language, date (and fallback\n"
        "when the model gave up: the intent shown is its best guess). Move each example to the\n"
        "intent it really is under data/nlu/<language>/, or delete it. Customers' words: do not\n"
        "commit this file."
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(examples, header), encoding="utf-8")
    intents = len({example.intent for example in examples})
    fallbacks = sum(example.fallback for example in examples)
    print(f"{len(examples)} low-confidence examples ({intents} intents, {fallbacks} fallbacks) "
          f"below {args.threshold:g} over {args.since_days:g} days for {scope} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
