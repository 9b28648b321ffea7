"""`make reload`'s fast path: when domain/ differs from what each running rasa server serves only
in what its responses say (same response names, everything else equal) and each server's model
was trained on the same data, configuration and components as models/assistant.tar.gz (its id is
in --model-ids, which scripts/train.sh keeps), puts the responses into each server
(PUT /webhooks/whatsapp/responses, bot/channels/responses.py) and exits 0. Exits 3, touching no
server, when the normal path is needed (a retrained model, or a swap: nothing to push, or a
server serving another model); 1 on an error.

  .venv-rasa/bin/python scripts/push_responses.py --domain domain --model-ids models/.model-ids URL...
  .venv-rasa/bin/python scripts/push_responses.py --model-id-of models/assistant.tar.gz

Each URL is one rasa server (in the production profile each replica, not the load balancer).
RASA_TOKEN from the environment.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
from typing import Any, Dict, List

import requests
from rasa.shared.core.domain import Domain

NEEDS_TRAINING = 3


def without_responses(domain: Dict[str, Any]) -> Dict[str, Any]:
    rest = {k: v for k, v in domain.items() if k != "responses"}
    rest["response_names"] = sorted(domain.get("responses") or {})
    return rest


def model_id_of(archive: str) -> str:
    """The model id rasa reports in GET /status, from the archive's metadata.json."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            if member.name.lstrip("./") == "metadata.json":
                return json.load(tar.extractfile(member))["model_id"]
    raise SystemExit(f"{archive}: no metadata.json")


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domain", default="domain")
    parser.add_argument("--model-ids", default="models/.model-ids")
    parser.add_argument("--model-id-of", metavar="ARCHIVE")
    parser.add_argument("urls", nargs="*")
    args = parser.parse_args(argv)
    if args.model_id_of:
        print(model_id_of(args.model_id_of))
        return 0
    if not args.urls:
        parser.error("give each rasa server's URL")
    token = os.environ["RASA_TOKEN"]
    try:
        equivalent = set(open(args.model_ids).read().split())
    except FileNotFoundError:
        return NEEDS_TRAINING
    wanted = Domain.load(args.domain).as_dict()
    served = []
    for url in args.urls:
        base = url.rstrip("/")
        status = requests.get(f"{base}/status", params={"token": token}, timeout=30)
        status.raise_for_status()
        if status.json().get("model_id") not in equivalent:
            return NEEDS_TRAINING  # it serves another model: the normal path swaps ours in
        answer = requests.get(f"{base}/domain", params={"token": token},
                              headers={"Accept": "application/json"}, timeout=30)
        answer.raise_for_status()
        served.append(answer.json())
    if any(without_responses(s) != without_responses(wanted) for s in served):
        print("reload: the domain changed beyond response texts: the model is retrained")
        return NEEDS_TRAINING
    changed = {name for s in served for name, variations in wanted["responses"].items()
               if s["responses"].get(name) != variations}
    if not changed:
        return NEEDS_TRAINING  # nothing to push: the normal path (train if needed, swap)
    for url in args.urls:
        answer = requests.put(f"{url.rstrip('/')}/webhooks/whatsapp/responses",
                              json={"responses": wanted["responses"]},
                              headers={"Authorization": f"Bearer {token}"}, timeout=30)
        if answer.status_code != 200:
            print(f"reload: {url} refused the responses (HTTP {answer.status_code}): "
                  f"{answer.text[:500]}", file=sys.stderr)
            return 1
    print(f"reload: {len(changed)} response(s) changed ({', '.join(sorted(changed)[:5])}"
          f"{', …' if len(changed) > 5 else ''}): live in {len(args.urls)} rasa server(s), no "
          "model swap")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
