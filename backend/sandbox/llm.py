"""A local OpenAI-compatible chat-completions server for the demo and the tests.

It answers deterministically from the prompt it is sent: for a grounded FAQ prompt, the sentence
of the numbered passages sharing most words with the question (quoted word for word); for a
classification prompt, an intent from a few keywords. Per-model behaviours let tests exercise
failures: "slow" (answers after `delay` s), "malformed" (not JSON), "unsupported" (an invented
answer), "missing" (404, as for an unknown model), "bad_intent" (an intent not in the list).

    python -m backend.sandbox.llm --port 8099
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from backend.domain.knowledge import terms

_KEYWORDS = (
    ("return_policy", ("return", "refund", "rudisha")),
    ("delivery_fees", ("deliver", "delivery", "leta", "courier")),
    ("payment_help", ("pay", "lipa", "mpesa")),
    ("request_human", ("person", "agent", "mtu", "human")),
    ("greet", ("hello", "niaje", "habari", "hi")),
)


class LlmSimulator:
    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        self.behaviours: dict[str, str] = {}
        self.delay = 5.0
        self.requests: list[dict[str, Any]] = []
        self._server = make_server(host, port, self._app, threaded=True)
        self.port = self._server.server_port
        self.base_url = f"http://{host}:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LlmSimulator:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.method != "POST" or request.path.rstrip("/") != "/v1/chat/completions":
            return Response("not found", 404)(environ, start_response)
        body = request.get_json(silent=True) or {}
        self.requests.append(body)
        model = str(body.get("model", ""))
        behaviour = self.behaviours.get(model, "")
        if behaviour == "missing":
            error = {"error": {"message": f"The model {model} does not exist", "code": 404}}
            return Response(json.dumps(error), 404, mimetype="application/json")(
                environ, start_response)
        if behaviour == "slow":
            time.sleep(self.delay)
        messages = body.get("messages") or []
        system = next((m["content"] for m in messages if m.get("role") == "system"), "")
        user = next((m["content"] for m in messages if m.get("role") == "user"), "")
        if behaviour == "malformed":
            content = "Sure! The answer is: probably yes."
        elif "Classify" in system:
            content = json.dumps(self._classify(user, behaviour))
        else:
            content = json.dumps(self._answer(user, behaviour))
        completion = {
            "id": f"chatcmpl-sim-{len(self.requests)}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": len((system + user).split()) * 2,
                      "completion_tokens": len(content.split()) * 2,
                      "total_tokens": len((system + user + content).split()) * 2},
        }
        return Response(json.dumps(completion), 200, mimetype="application/json")(
            environ, start_response)

    @staticmethod
    def _classify(user: str, behaviour: str) -> dict[str, Any]:
        if behaviour == "bad_intent":
            return {"intent": "buy_a_car", "confidence": 0.9}
        text = user.lower()
        for intent, words in _KEYWORDS:
            if any(word in text for word in words):
                return {"intent": intent, "confidence": 0.8}
        return {"intent": "out_of_scope", "confidence": 0.6}

    @staticmethod
    def _answer(user: str, behaviour: str) -> dict[str, Any]:
        passages_part, _, question = user.partition("\n\nQuestion: ")
        passages = re.findall(r"\[(\d+)\] (.*?)(?=\n\n\[\d+\] |\Z)", passages_part, re.S)
        if behaviour == "unsupported":
            return {"answer": "Delivery to the moon is free and takes 2 minutes.",
                    "sources": [1], "quotes": ["Delivery to the moon is free."]}
        wanted = set(terms(question))
        best: tuple[int, int, str] | None = None
        for number, text in passages:
            for sentence in re.split(r"(?<=[.!?])\s+", text.split(": ", 1)[-1]):
                overlap = len(wanted & set(terms(sentence)))
                if overlap and (best is None or overlap > best[0]):
                    best = (overlap, int(number), sentence.strip())
        if best is None:
            return {"answer": None, "sources": [], "quotes": []}
        return {"answer": best[2], "sources": [best[1]], "quotes": [best[2]]}


def main() -> None:
    parser = argparse.ArgumentParser(description="Local OpenAI-compatible chat simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args()
    simulator = LlmSimulator(args.port, args.host)
    print(f"LLM simulator on {simulator.base_url} (set LLM_BASE_URL to it)")
    simulator._server.serve_forever()


if __name__ == "__main__":
    main()
