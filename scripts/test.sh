#!/usr/bin/env bash
# `make test`: installs what is missing, starts PostgreSQL and Redis on test ports, runs every suite
# (backend on SQLite and PostgreSQL, channel, actions, NLU components, data validation, compose
# config, the web app in headless chromium, end to end through the real servers), stops the
# services, and fails if any suite failed.
set -uo pipefail
cd "$(dirname "$0")/.."

install_debian() {  # install_debian PACKAGE...: as root from Debian, else say how
  [ $# -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "test: missing $*; install with: sudo apt-get install -y $*" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "$@" >/dev/null
}

need_debian_packages() {
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  # The production profile's load balancer (tests/deploy, the configurations' checks).
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  install_debian "${missing[@]}" || exit 1
}

# The web app's browser tests (tests/web) drive Debian's chromium through chromium-driver: installed
# while the model trains, waited for before that suite.
need_browser() {
  local missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  install_debian "${missing[@]}"
}

need_debian_packages
scripts/setup.sh || exit 1
# The model trains first, while the suites that do not need it run; its log is printed when it is
# waited for.
train_log=$(mktemp)
scripts/train.sh >"$train_log" 2>&1 &
train_pid=$!
# PostgreSQL and Redis serve only the suites that run beside the training: niced like them, so
# their queries, too, take what the training leaves.
nice -n 10 scripts/services.sh start || exit 1
# (after the services, which may install PostgreSQL and Redis: one apt-get at a time)
browser_log=$(mktemp)
browser_status=$(mktemp)  # need_browser's exit status, once it is done
( need_browser; echo $? >"$browser_status" ) >"$browser_log" 2>&1 &
browser_pid=$!
trap 'kill "$train_pid" 2>/dev/null; scripts/services.sh stop' EXIT
eval "$(scripts/services.sh env)"
export REQUIRE_SERVICES=1 PYTHONPATH="$PWD"
# Knowledge-base indexes that tests build go to a throwaway folder, not the stack's var/.
export KB_INDEX_DIR=${KB_INDEX_DIR:-$(mktemp -d)}

failed=()
suite() {  # suite NAME COMMAND...
  local name=$1; shift
  echo
  echo "=== $name"
  local start=$SECONDS
  if "$@"; then
    echo "=== $name: passed in $((SECONDS - start)) s"
  else
    echo "=== $name: FAILED"
    failed+=("$name")
  fi
}

compose_config() {
  SERVICE_TOKEN=x ENCRYPTION_KEY=x HASH_KEY=x RASA_TOKEN=x ACTIONS_TOKEN=x POSTGRES_PASSWORD=x REDIS_PASSWORD=x \
    docker-compose -f docker-compose.yml config -q
}

# The backend suite needs no model: it runs in the background at a lower priority, so the model
# (the longest step) trains at nearly full speed and the backend uses what training leaves; its
# log is printed when it is waited for, after the suites that need the model but before the
# end-to-end suite.
background() {  # background NAME LOG COMMAND...: runs COMMAND niced; `finish NAME LOG PID` reports
  local name=$1 log=$2; shift 2
  ( start=$SECONDS status=0
    if nice -n 10 "$@"; then echo "=== $name: passed in $((SECONDS - start)) s"
    else echo "=== $name: FAILED"; status=1; fi
    touch "$log.done"  # for a job that waits for this one (its pid stays until it is waited for)
    exit $status ) >"$log" 2>&1 &
}
finish() {  # finish NAME LOG PID
  echo
  echo "=== $1 (ran beside other suites)"
  wait "$3" || failed+=("$1")
  cat "$2"
}

backend_log=$(mktemp)
backend_name="backend (SQLite and PostgreSQL)"
# Two processes (pytest-xdist, a file at a time): half of a backend test's time is spent waiting on
# sockets, PostgreSQL and subprocesses, so two of them overlap those waits (tests/conftest.py gives
# each its own Redis database and index folder).
background "$backend_name" "$backend_log" .venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 \
  -n 2 --dist loadfile tests/backend tests/tools
backend_pid=$!
# So do the rasa-side tests that need no model (the two that load it run after the training).
MODEL_TESTS=(tests/bot/test_consent_model.py tests/channel/test_rasa_turns.py)
rasa_log=$(mktemp)
rasa_name="rasa side (NLU components, channel, actions, kit, fakes against the backend's contract)"
background "$rasa_name" "$rasa_log" .venv-rasa/bin/python -m pytest -q -p no:cacheprovider \
  tests/bot tests/channel tests/actions tests/kit tests/contract "${MODEL_TESTS[@]/#/--ignore=}"
rasa_pid=$!
# The dashboard in headless chromium needs no model either: it starts once the backend suite is
# done (they share the test databases) and chromium is installed, still beside the training, whose
# last minutes leave a core free. Screenshots of every page at phone and desktop width go to
# SCREENSHOT_DIR (default a temporary folder; the suite prints where).
browser_ready() {  # waits for need_browser; fails (with its log) when chromium could not be had
  while [ ! -s "$browser_status" ]; do sleep 2; done
  [ "$(cat "$browser_status")" = 0 ] && return 0
  cat "$browser_log"; echo "test: chromium could not be installed" >&2; return 1
}
# After the backend suite (beside the training): the web app in chromium, then the NLU model
# registry for real: a tiny model trained and evaluated by the registry's job (about two
# minutes), then tiny models swapped (PUT /model) under continuous turns in a lone rasa server
# and in two replicas behind HAProxy (about two more); it needs no trained assistant.
dashboard_after_backend() {
  while [ ! -e "$backend_log.done" ]; do sleep 5; done
  local status=0
  browser_ready && nice -n 10 .venv/bin/python -m pytest -q -s -p no:cacheprovider \
    tests/web --ignore=tests/web/test_simulator.py || status=1
  echo "=== NLU model registry (a tiny model trained and gated, swaps under turns)"
  nice -n 10 .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/registry || status=1
  return $status
}
dashboard_log=$(mktemp)
dashboard_name="web app in a real browser (headless chromium); the NLU model registry"
( start=$SECONDS
  if dashboard_after_backend; then echo "=== $dashboard_name: passed in $((SECONDS - start)) s"
  else echo "=== $dashboard_name: FAILED"; exit 1; fi ) >"$dashboard_log" 2>&1 &
dashboard_pid=$!
trap 'kill "$train_pid" "$backend_pid" "$rasa_pid" "$dashboard_pid" 2>/dev/null; scripts/services.sh stop' EXIT

suite "rasa data validate" .venv-rasa/bin/rasa data validate --fail-on-warnings \
  --domain domain --data data --config config.yml
suite "docker-compose config" compose_config

echo
echo "=== training the model (started first)"
if ! wait "$train_pid"; then
  cat "$train_log"
  finish "$rasa_name" "$rasa_log" "$rasa_pid"
  finish "$backend_name" "$backend_log" "$backend_pid"
  echo "test: FAILED: training the model${failed:+ and ${failed[*]}}"
  exit 1
fi
grep -v "it/s\]\|s/it\]" "$train_log" | tail -n 40
finish "$rasa_name" "$rasa_log" "$rasa_pid"
# The suites that need the model, one at a time: side by side, their TensorFlow thread pools
# (two threads each on two cores) slowed each other several times over.
suite "the trained model (consent messages, channel turns with the action server down)" \
  .venv-rasa/bin/python -m pytest -q -p no:cacheprovider "${MODEL_TESTS[@]}"
suite "test stories (every flow in English, Swahili, Sheng)" .venv-rasa/bin/python \
  scripts/test_stories.py "${TMPDIR:-/tmp}/wa-commerce-test-stories"
suite "no evaluation sentence in the training data" .venv-rasa/bin/python scripts/eval_nlu.py \
  --overlap-only
# The designers' simulator in chromium, on its own real stack; it ends by running the story it
# saved through scripts/test_stories.py.
simulator_suite() {
  browser_ready && .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/web/test_simulator.py
}
suite "the simulator in a real browser (headless chromium, its own real stack)" simulator_suite
# The end-to-end suite times whole turns: it runs alone, once the suites beside the training are done.
finish "$backend_name" "$backend_log" "$backend_pid"
finish "$dashboard_name" "$dashboard_log" "$dashboard_pid"
suite "end to end (rasa, action server, backend, worker)" .venv/bin/python -m pytest -q \
  -p no:cacheprovider tests/e2e
# The production profile (make up PROFILE=prod REPLICAS=2: PostgreSQL, Redis, HAProxy, two rasa
# and two action servers) under faults: a replica killed mid-turn, Redis killed, PostgreSQL
# restarted, while conversations run through the load balancer.
suite "production profile (2 replicas behind HAProxy; replica, Redis and PostgreSQL faults)" \
  .venv/bin/python -m pytest -q -s -p no:cacheprovider tests/deploy

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "test: FAILED: ${failed[*]}"
  exit 1
fi
echo "test: all suites passed"
