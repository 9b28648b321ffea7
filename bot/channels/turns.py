"""Whether a Rasa turn went wrong, although Rasa itself carries on.

Rasa 3.6's processor catches an exception raised by an action (the action server down, a timeout,
a 500), logs it with `logger.exception` and continues the turn without the action's events: the
webhook would answer 200 with no reply, and Twilio's retry would be dropped as a duplicate. The same
holds for the slot-validation action, which Rasa logs as a warning. A logging handler on those two
loggers marks the turn that is running (a context variable, so concurrent turns of other customers
are not affected) as failed.
"""
from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import List, Optional

PROCESSOR_LOGGER = "rasa.core.processor"  # "Encountered an exception while running action …"
ACTION_LOGGER = "rasa.core.actions.action"  # "Failed to execute custom action …" (slot validation)


@dataclass
class TurnProblems:
    """What went wrong in one turn (each entry a short reason, never the customer's text)."""

    reasons: List[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.reasons)


_current: ContextVar[Optional[TurnProblems]] = ContextVar("whatsapp_turn_problems", default=None)


class _TurnFailureHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        problems = _current.get()
        if problems is None:
            return
        if record.name == PROCESSOR_LOGGER and record.levelno >= logging.ERROR:
            problems.reasons.append(record.getMessage()[:200])
        elif (record.name == ACTION_LOGGER and record.levelno >= logging.WARNING
              and record.getMessage().startswith("Failed to execute custom action")):
            problems.reasons.append(record.getMessage()[:200])


_handler = _TurnFailureHandler(level=logging.WARNING)


def install() -> None:
    """Attach the handler once per process (idempotent)."""
    for name in (PROCESSOR_LOGGER, ACTION_LOGGER):
        logger = logging.getLogger(name)
        if _handler not in logger.handlers:
            logger.addHandler(_handler)


def watch() -> TurnProblems:
    """Start watching the current task (and the tasks it creates from now on) for failures."""
    problems = TurnProblems()
    _current.set(problems)
    return problems
