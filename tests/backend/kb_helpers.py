"""A small knowledge base and a KB runtime on a temporary index directory, for the KB tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.wiring import Context
from backend.queueing.runner import InProcessRunner
from backend.kb.runtime import KbRuntime, configure
from backend.kb.settings import KbSettings

SHOP_KB = """
entries:
  - key: returns
    title: Returns and refunds
    tags: [return_policy]
    questions: ["What is your return policy?", "Can I return shoes that do not fit?",
                "Naweza kurudisha viatu?", "Mnarefund doh?"]
    answers:
      en: "You can return unworn shoes within 7 days and we refund you to M-Pesa."
      sw: "Unaweza kurudisha viatu visivyovaliwa ndani ya siku 7 na tunakurudishia pesa kwa M-Pesa."
  - key: hours
    title: Opening hours
    tags: [ask_faq]
    questions: ["What time do you open?", "Mnafungua saa ngapi?"]
    answers:
      en: "We are open Monday to Saturday from 8 am to 7 pm."
  - key: delivery
    title: Delivery fees
    tags: [delivery_fees]
    questions: ["How much is delivery?", "Delivery ni ngapi?"]
    answers:
      en: "Delivery in Nairobi costs KES 250; Ruaka and Rongai KES 350."
      sw: "Kuleta Nairobi ni KES 250; Ruaka na Rongai KES 350."
documents:
  - title: Shoe care
    content_type: text/markdown
    language: en
    text: |
      # Suede
      Brush suede shoes dry with a soft brush. Never wash suede in water.
"""
OTHER_KB = """
entries:
  - key: secret
    title: Branch in Malindi
    questions: ["Do you have a branch in Malindi?", "Mko na tawi Malindi?"]
    answers:
      en: "Our only branch is on the beach road in Malindi, open every day."
"""


def kb_settings(tmp_path: Path, **overrides: Any) -> KbSettings:
    values: dict[str, Any] = {"index_dir": tmp_path / "kb", "cache_seconds": 3600}
    values.update(overrides)
    return KbSettings(**values)


def use_kb(ctx: Context, tmp_path: Path, **overrides: Any) -> KbRuntime:
    return configure(ctx, kb_settings(tmp_path, **overrides))


def wait_for_jobs(ctx: Context) -> None:
    if isinstance(ctx.jobs, InProcessRunner):
        ctx.jobs.join(timeout=120)
