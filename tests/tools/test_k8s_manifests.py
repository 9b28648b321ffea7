"""deploy/k8s describes the production topology (issue 21): validated offline against the
Kubernetes schemas kubernetes-validate ships (strict: an unknown field fails), and read as data for
what a schema cannot judge: probes, resources, the shared stores, the secrets kept in one Secret."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
VERSION = "1.37.0"
WORKLOADS = ("Deployment", "StatefulSet", "Job")


def documents() -> List[Dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def by_name(kind: str, name: str) -> Dict[str, Any]:
    return next(d for d in documents() if d["kind"] == kind and d["metadata"]["name"] == name)


def containers(doc: Dict[str, Any]) -> List[Dict[str, Any]]:
    return doc["spec"]["template"]["spec"]["containers"]


def env_of(container: Dict[str, Any]) -> Dict[str, str]:
    return {e["name"]: e.get("value", "<from>") for e in container.get("env", [])}


@pytest.mark.parametrize("doc", documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_is_valid_kubernetes(doc):
    kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_kustomization_lists_every_manifest_but_the_secret_template_and_the_job():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present - {"secret.template.yaml", "migrate-job.yaml"}


def test_every_workload_has_probes_resources_and_runs_as_a_user():
    for doc in documents():
        if doc["kind"] not in WORKLOADS:
            continue
        name = doc["metadata"]["name"]
        for c in containers(doc):
            assert c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"], name
            if doc["kind"] != "Job":
                assert c.get("livenessProbe"), f"{name} has no liveness probe"
                if name != "scheduler":
                    assert c.get("readinessProbe"), f"{name} has no readiness probe"
        if doc["kind"] != "StatefulSet":  # the official postgres and redis images start as root
            assert doc["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True, name


def test_the_topology_is_the_production_profiles():
    rasa = by_name("Deployment", "rasa")
    assert rasa["spec"]["replicas"] >= 2 and by_name("Deployment", "actions")["spec"]["replicas"] >= 2
    assert by_name("Deployment", "worker")["spec"]["replicas"] >= 2
    (c,) = containers(rasa)
    assert "--endpoints endpoints.production.yml" in " ".join(c["command"])
    assert c["readinessProbe"]["httpGet"]["path"] == "/webhooks/whatsapp/"  # as HAProxy checks
    assert rasa["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    config = by_name("ConfigMap", "assistant-config")["data"]
    assert config["ACTION_SERVER_URL"] == "http://actions:5055/webhook"
    assert config["WHATSAPP_PUBLIC_URL"].startswith("https://")
    assert config["TRACKER_DB_HOST"] == "postgres" and config["REDIS_HOST"] == "redis"
    assert env_of(c)["REDIS_URL"] == "redis://:$(REDIS_PASSWORD)@redis:6379/0"
    for name in ("backend", "worker", "scheduler"):
        (b,) = containers(by_name("Deployment", name))
        assert env_of(b)["DATABASE_URL"].startswith("postgresql+psycopg://assistant:$(POSTGRES_PASSWORD)@")
    ingress = by_name("Ingress", "assistant")["spec"]["rules"][0]["http"]["paths"]
    assert {p["path"]: p["backend"]["service"]["name"] for p in ingress} == {
        "/webhooks/whatsapp/webhook": "rasa", "/": "backend"}


def test_secrets_come_from_the_one_secret_and_the_template_holds_no_value():
    template = by_name("Secret", "assistant-secrets")["stringData"]
    for key in ("SERVICE_TOKEN", "RASA_TOKEN", "ACTIONS_TOKEN", "ENCRYPTION_KEY", "HASH_KEY",
                "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert template[key].startswith("<"), f"{key} must be a placeholder"
    text = "\n".join(p.read_text() for p in K8S.glob("*.yaml") if p.name != "secret.template.yaml")
    assert "password:" not in text.lower().replace("postgres_password", "")
