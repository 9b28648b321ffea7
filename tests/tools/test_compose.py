"""docker-compose.yml and the images describe the same stack as `make up` (issue 13 items 1, 3, 11).

No Docker engine runs here, so the file is read as data: what `docker-compose config -q` cannot
judge (published ports, shared volumes, healthchecks, restart policies, the lock file) is checked here.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SWEEPS = ("backend.jobs.orders", "backend.jobs.payments")


@pytest.fixture(scope="module")
def services() -> Dict[str, Dict[str, Any]]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def environment(service: Dict[str, Any]) -> Dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def command(service: Dict[str, Any]) -> str:
    cmd = service.get("command") or ""
    return " ".join(cmd) if isinstance(cmd, list) else cmd


def test_the_action_server_is_not_published_and_needs_rasas_token(services):
    actions = services["actions"]
    assert not actions.get("ports"), "the action server must not be reachable from outside"
    assert "actions.server" in command(actions)  # our entry that checks the token
    assert "rasa run actions" not in command(actions)
    assert environment(actions)["ACTIONS_TOKEN"].startswith("${ACTIONS_TOKEN:?")
    assert environment(services["rasa"])["ACTIONS_TOKEN"].startswith("${ACTIONS_TOKEN:?")


def test_every_service_restarts_and_every_server_has_a_healthcheck(services):
    for name, service in services.items():
        assert service.get("restart") in ("unless-stopped", "always"), name
        if name != "scheduler":  # a sleep loop: nothing to ask it beyond being alive
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_the_worker_is_healthy_only_while_registered_with_redis(services):
    check = " ".join(services["worker"]["healthcheck"]["test"])
    assert "Worker.all" in check and "gethostname" in check


def test_the_backend_and_worker_share_the_knowledge_base_volume(services):
    kb = "/app/var/kb"
    for name in ("backend", "worker"):
        volumes = services[name].get("volumes") or []
        assert f"kb-data:{kb}" in volumes, name
        assert environment(services[name]).get("VAR_DIR") == "/app/var", name
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "kb-data" in compose["volumes"]


def test_redis_keeps_its_data_across_restarts(services):
    redis = services["redis"]
    args = command(redis)
    assert "--appendonly yes" in args and "--appendfsync everysec" in args
    assert any(v.endswith(":/data") for v in redis.get("volumes") or [])


def test_jobs_reach_the_payment_simulators_through_the_backend_service(services):
    for name in ("backend", "worker", "scheduler"):
        url = environment(services[name]).get("PAYMENTS_SANDBOX_URL", "")
        assert url.startswith("http://backend:8000"), (name, url)


def test_the_sweeps_are_scheduled_the_same_way_as_make_up(services):
    """Compose's scheduler and `make up` (with Redis) run RQ's cron over the one definition of
    the sweeps, backend/jobs/schedule.py, which names the order and the payment sweeps."""
    scheduler = command(services["scheduler"])
    assert "rq cron backend.jobs.schedule" in scheduler
    stack = (ROOT / "scripts" / "stack.sh").read_text()
    assert "rq cron backend.jobs.schedule" in stack
    definition = (ROOT / "backend" / "jobs" / "schedule.py").read_text()
    for sweep in SWEEPS:
        assert f"from {sweep} import" in definition, sweep
    assert "--schedule" not in command(services["worker"])


def test_the_backend_image_installs_from_the_lock_file_and_owns_its_state_directory():
    dockerfile = (ROOT / "docker" / "backend.Dockerfile").read_text()
    logical = re.sub(r"\\\n\s*", " ", dockerfile)  # join continued lines
    pip = next(line for line in logical.splitlines() if "pip install" in line)
    args = shlex.split(pip.split("RUN", 1)[1])
    assert args[args.index("-c") + 1] == "requirements/backend.lock.txt"
    copies = [line for line in logical.splitlines() if line.startswith("COPY ")]
    assert any("requirements/backend.lock.txt" in line for line in copies)
    assert copies.index(next(c for c in copies if "backend.lock.txt" in c)) == 0  # before the code
    user = logical.index("USER app")
    owned = re.search(r"mkdir -p /app/var/kb && chown -R app /app/var", logical)
    assert owned and owned.start() < user
    # What the NLU review queue reads (backend/services/conversations/review.py), each a real path.
    for needed in ("domain/", "data/nlu/", "eval/heldout/", "scripts/evaluation/",
                   "scripts/eval_nlu.py"):
        copy = next((c for c in copies if c.split()[1] == needed), None)
        assert copy, f"the backend image does not copy {needed}"
        assert (ROOT / needed).exists(), needed


def test_the_production_topology_is_the_same_as_make_up_prod(services):
    """Issue 21: HAProxy in front of REPLICAS rasa and action servers, PostgreSQL and Redis with
    passwords, as scripts/stack_prod.sh (make up PROFILE=prod) and deploy/k8s describe it."""
    for name in ("rasa", "actions"):
        assert services[name]["deploy"]["replicas"] == "${REPLICAS:-2}", name
        assert not services[name].get("ports"), f"{name} is reached through HAProxy only"
    assert services["worker"]["deploy"]["replicas"] == "${WORKERS:-2}"
    assert services["haproxy"]["ports"] == ["${RASA_PORT:-5005}:5005"]
    rasa = environment(services["rasa"])
    assert "--endpoints endpoints.production.yml" in command(services["rasa"])
    assert rasa["ACTION_SERVER_URL"] == "http://haproxy:5055/webhook"
    assert rasa["WHATSAPP_PUBLIC_URL"].startswith("${WHATSAPP_PUBLIC_URL")
    assert environment(services["backend"])["RASA_URL"] == "http://haproxy:5005"
    for name in ("backend", "worker", "scheduler", "rasa"):
        assert environment(services[name])["REDIS_URL"].startswith("redis://:${REDIS_PASSWORD:?"), name
    assert "--requirepass" in command(services["redis"])
    assert environment(services["postgres"])["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    haproxy = (ROOT / "docker" / "haproxy.cfg").read_text()
    assert "server-template rasa- 16 rasa:5005 check" in haproxy
    assert "option httpchk GET /webhooks/whatsapp/" in haproxy
    assert "server-template actions- 16 actions:5055 check" in haproxy
    stack = (ROOT / "scripts" / "stack_prod.sh").read_text()
    for rule in ("option httpchk GET /webhooks/whatsapp/", "retry-on conn-failure empty-response",
                 "option httpchk GET /health", "monitor-uri /haproxy-health"):
        assert rule in haproxy and rule in stack, rule


def test_the_load_balancer_configuration_is_valid_haproxy():
    import shutil
    import subprocess
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.fail("haproxy is not installed: run the tests through `make test`")
    done = subprocess.run([haproxy, "-c", "-q", "-f", str(ROOT / "docker" / "haproxy.cfg")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_secrets_on_a_command_line_are_attached_with_an_equals_sign():
    """A generated token may start with "-" (token_urlsafe: 1 in 64); `--auth-token "$RASA_TOKEN"`
    then reads as an option and rasa refuses to start (it happened in CI). `--auth-token=…` holds."""
    places = ["scripts/stack.sh", "scripts/stack_prod.sh", "docker-compose.yml",
              "deploy/k8s/rasa.yaml"]
    for place in places:
        text = (ROOT / place).read_text()
        assert "--auth-token" in text, place
        assert re.findall(r"--auth-token(?!=)", text) == [], place
