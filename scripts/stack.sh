#!/usr/bin/env bash
# Starts the whole stack in the background and waits until it is healthy (up), stops exactly what
# it started (down), or shows what runs (status). Logs: $VAR_DIR/log, PIDs: $VAR_DIR/run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
RUN="$VAR_DIR/run"
LOG="$VAR_DIR/log"
SERVICES=(redis backend worker sweeper actions rasa)

alive() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

start() {  # start NAME COMMAND...: its own session, so that `down` can stop its whole process tree
  local name=$1; shift
  if alive "$name"; then echo "stack: $name already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  setsid "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

healthy() {  # healthy URL: the URL answers 2xx
  curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

worker_registered() {  # worker_registered NAME: the RQ worker NAME has registered with Redis
  .venv/bin/python -c 'import sys; from redis import Redis; from rq import Worker
names = {w.name for w in Worker.all(connection=Redis.from_url(sys.argv[1]))}
sys.exit(sys.argv[2] not in names)' "$REDIS_URL" "$1" 2>/dev/null
}

wait_for() {  # wait_for NAME SECONDS CHECK...: until CHECK succeeds, while NAME is alive
  local name=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 4; i++)); do
    if "$@"; then echo "stack: $name is up"; return 0; fi
    if ! alive "$name"; then break; fi
    sleep 0.25
  done
  echo "stack: $name did not become healthy ($*); last lines of $LOG/$name.log:" >&2
  tail -n 30 "$LOG/$name.log" >&2 || true
  stop_all
  exit 1
}

stop_one() {
  local name=$1 pid i
  [ -f "$RUN/$name.pid" ] || return 0
  pid=$(cat "$RUN/$name.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "stack: stopped $name"
  fi
  rm -f "$RUN/$name.pid"
}

stop_all() {
  local i
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_one "${SERVICES[$i]}"; done
  rm -f "$RUN/stack.env" "$RUN/worker.name"
}

choose_redis() {
  # REDIS_URL set: use it. Else a local redis-server when installed (ours, or one already running on
  # REDIS_PORT). Else jobs run inside the backend process.
  if [ -n "${REDIS_URL:-}" ]; then return; fi
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && ! alive redis; then
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  elif command -v redis-server >/dev/null; then
    mkdir -p "$VAR_DIR/redis"
    start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VAR_DIR/redis" --save "" --appendonly no
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    for _ in $(seq 40); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.25; done
  else
    export REDIS_URL=""
    echo "stack: redis-server is not installed; jobs run inside the backend process"
  fi
}

up() {
  for venv in .venv .venv-rasa; do
    [ -x "$venv/bin/python" ] || { echo "stack: $venv is missing; run 'make setup'" >&2; exit 1; }
  done
  ls models/*.tar.gz >/dev/null 2>&1 || { echo "stack: no trained model; run 'make train'" >&2; exit 1; }
  choose_redis
  echo "REDIS_URL=$REDIS_URL" >"$RUN/stack.env"
  .venv/bin/python -m backend.migrate
  start backend .venv/bin/gunicorn --bind "$BIND_HOST:$BACKEND_PORT" --workers "$BACKEND_WORKERS" \
    --threads 4 --access-logfile - -c python:backend.gunicorn_conf backend.wsgi:app
  local worker_name="stack-worker-$BACKEND_PORT-$$"
  if alive worker && [ -f "$RUN/worker.name" ]; then worker_name=$(cat "$RUN/worker.name"); fi
  echo "$worker_name" >"$RUN/worker.name"
  if [ -n "$REDIS_URL" ]; then
    start worker .venv/bin/rq worker messaging default --url "$REDIS_URL" --worker-class rq.SimpleWorker \
      --with-scheduler --name "$worker_name"
  fi
  start actions .venv-rasa/bin/rasa run actions --port "$ACTIONS_PORT" --actions actions --auto-reload
  start rasa .venv-rasa/bin/rasa run --enable-api --auth-token "$RASA_TOKEN" --interface "$BIND_HOST" \
    --port "$RASA_PORT" --credentials credentials.yml --endpoints endpoints.yml --model models
  wait_for backend 60 healthy "$BACKEND_URL/v1/health"
  # The periodic sweeps (unpaid orders, unanswered M-Pesa prompts, the outbox), defined once in
  # backend/jobs/schedule.py: RQ's cron scheduler with Redis, an in-process loop without it.
  if [ -n "$REDIS_URL" ]; then
    wait_for worker 60 worker_registered "$worker_name"
    start sweeper .venv/bin/rq cron backend.jobs.schedule --url "$REDIS_URL"
  else
    start sweeper .venv/bin/python -m backend.jobs.schedule --every 60
  fi
  wait_for actions 120 healthy "http://127.0.0.1:$ACTIONS_PORT/health"
  wait_for rasa 240 healthy "$RASA_URL/status?token=$RASA_TOKEN"
  echo "stack: up — rasa $RASA_URL, actions :$ACTIONS_PORT, backend $BACKEND_URL (docs at $BACKEND_URL/docs)"
}

status() {
  local name
  for name in "${SERVICES[@]}"; do
    if alive "$name"; then echo "$name: running (pid $(cat "$RUN/$name.pid"))"; else echo "$name: stopped"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) stop_all ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
