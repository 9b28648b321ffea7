"""The simulated phone's M-Pesa prompts: the Daraja simulator's STK pushes to the simulator's
number wait ("hold" scenario) until the designer answers them on the phone: approve (result 0),
decline (1032, cancelled by the user), wrong PIN (2001) or no answer (no callback: the payment
times out as it would)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from backend.sandbox.common import later, load_in, save
from backend.sandbox.daraja import DEFAULT_DELAY_MS, HOLD, finish_stk
from backend.sandbox.models import SandboxPaymentRecord
from backend.wiring import Context

ANSWERS = {"approve": "0", "decline": "1032", "wrong_pin": "2001", "no_answer": "timeout"}
PROMPT_SECONDS = 15 * 60  # older prompts are not shown (the payment has timed out by then)


def hold_prompts(ctx: Context, msisdn: str) -> None:
    """From now on this number's STK pushes wait for the simulator's answer."""
    save("daraja-scenario", ctx.crypto.keyed_hash(msisdn),
         {"result": HOLD, "duplicates": 0, "delay_ms": DEFAULT_DELAY_MS, "phone": None}, ctx)


def _waiting(ctx: Context, msisdn: str) -> list[dict[str, Any]]:
    wanted = ctx.crypto.keyed_hash(msisdn)
    since = time.time() - PROMPT_SECONDS
    with ctx.db.transaction() as session:
        rows = session.scalars(select(SandboxPaymentRecord).where(
            SandboxPaymentRecord.provider == "daraja-stk").order_by(
            SandboxPaymentRecord.id.desc()).limit(200)).all()
        records = [dict(row.data) for row in rows]
    return [r for r in records if r.get("phone_hash") == wanted and r.get("result") is None
            and r.get("answered") is None and (r.get("scenario") or {}).get("result") == HOLD
            and float(r.get("created") or 0) >= since]


def waiting_prompts(ctx: Context, msisdn: str) -> list[dict[str, Any]]:
    """The prompts on the phone's screen, oldest first: what the shop asks to be paid."""
    return [{"checkout": r["checkout_request_id"], "amount": r.get("amount"),
             "account": r.get("account_reference"), "description": r.get("description")}
            for r in reversed(_waiting(ctx, msisdn))]


def answer(ctx: Context, msisdn: str, checkout: str, choice: str) -> bool:
    """Answer one waiting prompt of this phone; False when it has none by that id. The
    callback goes out on the simulator's own thread, as Daraja's would, not in the request."""
    record = next((r for r in _waiting(ctx, msisdn) if r["checkout_request_id"] == checkout),
                  None)
    if record is None:
        return False
    result = ANSWERS[choice]
    save("daraja-stk", checkout, {"answered": choice}, ctx)
    fresh = load_in(ctx, "daraja-stk", checkout) or record
    later(0, lambda: finish_stk(ctx, fresh, result))
    return True
