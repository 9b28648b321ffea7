"""A client for any OpenAI-compatible chat-completions endpoint (OpenAI, OpenRouter, vLLM,
Ollama, LiteLLM…): POST {base}/chat/completions with a preference list of models, within one
deadline for the whole call."""

from __future__ import annotations

import time
from dataclasses import dataclass

import requests


class LlmError(RuntimeError):
    """The endpoint failed (HTTP error, refused connection, unreadable answer)."""


class LlmTimeout(LlmError):
    """No answer before the deadline."""


@dataclass(frozen=True)
class ChatResult:
    model: str
    text: str
    tokens_in: int
    tokens_out: int
    latency_ms: int


@dataclass(frozen=True)
class ChatFailure:
    model: str
    error: LlmError
    latency_ms: int


class ChatClient:
    def __init__(self, base_url: str, api_key: str, timeout_seconds: float,
                 session: requests.Session | None = None) -> None:
        self.url = f"{base_url.rstrip('/')}/chat/completions"
        self.api_key = api_key
        self.timeout_seconds = timeout_seconds
        self._http = session or requests.Session()

    def complete(self, models: tuple[str, ...], messages: list[dict[str, str]],
                 max_tokens: int = 300) -> tuple[ChatResult | None, list[ChatFailure]]:
        """Ask each model in turn until one answers; all within `timeout_seconds`.

        Returns the answer (or None) and the failed attempts, which the caller logs too."""
        deadline = time.monotonic() + self.timeout_seconds
        failures: list[ChatFailure] = []
        for model in models:
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                break
            started = time.monotonic()
            try:
                return self._one(model, messages, max_tokens, remaining, started), failures
            except LlmError as error:
                failures.append(ChatFailure(model, error, _ms(started)))
                if isinstance(error, LlmTimeout):
                    break  # the deadline is spent
        return None, failures

    def _one(self, model: str, messages: list[dict[str, str]], max_tokens: int,
             timeout: float, started: float) -> ChatResult:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {"model": model, "messages": messages, "temperature": 0,
                "max_tokens": max_tokens, "response_format": {"type": "json_object"}}
        try:
            response = self._http.post(self.url, json=body, headers=headers,
                                       timeout=(min(timeout, 2.0), timeout))
        except requests.Timeout as error:
            raise LlmTimeout(f"{model}: no answer within {timeout:.1f}s") from error
        except requests.RequestException as error:
            raise LlmError(f"{model}: {error.__class__.__name__}") from error
        if time.monotonic() - started > timeout:
            raise LlmTimeout(f"{model}: answered after the deadline")
        if response.status_code != 200:
            raise LlmError(f"{model}: HTTP {response.status_code} {response.text[:120]}")
        try:
            payload = response.json()
            text = payload["choices"][0]["message"]["content"] or ""
            usage = payload.get("usage") or {}
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise LlmError(f"{model}: not a chat completion") from error
        return ChatResult(str(payload.get("model") or model), str(text),
                          int(usage.get("prompt_tokens") or 0),
                          int(usage.get("completion_tokens") or 0), _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
