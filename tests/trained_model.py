"""The trained model (models/assistant.tar.gz), loaded once per test process: loading takes half
a minute, and each test that needs it parses messages or runs turns under its own sender ids.

Its action server is a loopback port nothing listens on: the tests here show what the model and
the channel do on their own (tests/e2e runs the real action server)."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parents[1] / "models" / "assistant.tar.gz"
_loaded: dict[str, object] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def trained_agent():  # -> rasa.core.agent.Agent (imported late: rasa loads slowly)
    """The agent, loaded on first use; the test fails (not skips) when the model is missing."""
    if "agent" not in _loaded:
        if not MODEL.exists():
            pytest.fail(f"{MODEL} is missing: run scripts/train.sh (make test trains it first)")
        from rasa.core.agent import Agent
        from rasa.utils.endpoints import EndpointConfig

        nobody = EndpointConfig(url=f"http://127.0.0.1:{_free_port()}/webhook")
        _loaded["agent"] = Agent.load(str(MODEL), action_endpoint=nobody)
    return _loaded["agent"]
