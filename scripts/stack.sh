#!/usr/bin/env bash
# Starts what of the stack is not running, in the background, each process under a supervisor loop
# that restarts it when it exits, and waits until all are healthy (up); stops exactly what it started
# (down); shows what runs (status). Logs: $VAR_DIR/log; PIDs: $VAR_DIR/run (NAME.pid: the supervisor,
# also the process group; NAME.child: the supervised process).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
RUN="$VAR_DIR/run"
# The model rasa starts on: the NLU model registry's last promotion (<NLU_MODELS_DIR>/promoted,
# written by the promotion job) when it is newer than `make train`'s models/assistant.tar.gz,
# else models/ (rasa takes its newest file).
served_model() {
  local pointer=${NLU_MODELS_DIR:-models/registry}/promoted target
  if [ -f "$pointer" ] && [ "$pointer" -nt models/assistant.tar.gz ]; then
    target=$(cat "$pointer")
    if [ -f "$target" ]; then echo "$target"; return; fi
  fi
  echo models
}
LOG="$VAR_DIR/log"
SERVICES=(redis backend worker scheduler actions rasa)

# The periodic sweeps (unpaid orders expire and release their stock, unanswered M-Pesa prompts are
# settled, unsent replies are re-sent) are defined once, in backend/jobs/schedule.py: RQ's own cron
# scheduler with Redis, an in-process loop without it. docker-compose.yml's `scheduler` service runs
# the same `rq cron` command.
scheduler_command() {
  if [ -n "$REDIS_URL" ]; then
    SCHEDULER=(.venv/bin/rq cron backend.jobs.schedule --url "$REDIS_URL")
  else
    SCHEDULER=(.venv/bin/python -m backend.jobs.schedule --every 60)
  fi
}

# Running: its process group (the supervisor's pid) has a member, even if the supervisor was killed.
alive() { [ -f "$RUN/$1.pid" ] && kill -0 -- "-$(cat "$RUN/$1.pid")" 2>/dev/null; }

start() {  # start NAME COMMAND...: supervised, in its own session so that `down` stops its whole tree
  local name=$1; shift
  if alive "$name"; then echo "stack: $name already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  setsid "$ROOT/scripts/stack.sh" supervise "$name" "$@" >>"$LOG/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  grep -qx "$name" "$RUN/started" 2>/dev/null || echo "$name" >>"$RUN/started"  # for down/status
  echo "stack: started $name"
}

supervise() {  # supervise NAME COMMAND...: runs COMMAND, and again whenever it exits (1 s, doubling to 10 s)
  local name=$1 delay=1 started code child=""
  shift
  trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; fi; wait; exit 0' TERM INT HUP
  while :; do
    started=$SECONDS
    "$@" &
    child=$!
    echo "$child" >"$RUN/$name.child"
    code=0
    wait "$child" || code=$?
    echo "$code" >>"$RUN/$name.exits"
    if ((SECONDS - started >= 60)); then delay=1; fi  # it had been running: not a crash loop
    echo "stack: $(date -u +%FT%TZ) $name (pid $child) exited with status $code; restarting in ${delay} s"
    sleep "$delay" & wait $! || true
    delay=$((delay >= 5 ? 10 : delay * 2))
  done
}

child_of() { cat "$RUN/$1.child" 2>/dev/null; }
exits_of() { if [ -f "$RUN/$1.exits" ]; then wc -l <"$RUN/$1.exits"; else echo 0; fi; }

healthy() {  # healthy URL: the URL answers 2xx
  curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

redis_ping() { redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; }

worker_registered() {  # the RQ worker running under the supervisor has registered with Redis
  .venv/bin/python -c 'import sys; from redis import Redis; from rq import Worker
pids = {w.pid for w in Worker.all(connection=Redis.from_url(sys.argv[1]))}
sys.exit(int(sys.argv[2]) not in pids)' "$REDIS_URL" "$(child_of worker)" 2>/dev/null
}

failed=()
wait_for() {  # wait_for NAME SECONDS CHECK...: until CHECK succeeds; a failure is reported, nothing stopped
  local name=$1 seconds=$2 i exits
  shift 2
  exits=$(exits_of "$name")
  for ((i = 0; i < seconds * 4; i++)); do
    if "$@"; then echo "stack: $name is up"; return 0; fi
    if ! alive "$name"; then break; fi
    if (($(exits_of "$name") - exits >= 3)); then break; fi  # crash loop: no use waiting longer
    sleep 0.25
  done
  echo "stack: $name did not become healthy ($*); last lines of $LOG/$name.log:" >&2
  tail -n 30 "$LOG/$name.log" >&2 || true
  failed+=("$name")
}

stop_one() {
  local name=$1 pid i
  [ -f "$RUN/$name.pid" ] || return 0
  pid=$(cat "$RUN/$name.pid")
  if kill -0 -- "-$pid" 2>/dev/null; then  # the group outlives a supervisor killed on its own
    kill -TERM -- "-$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -KILL -- "-$pid" 2>/dev/null; then echo "stack: $name ignored SIGTERM for 15 s: killed"; fi
    echo "stack: stopped $name"
  fi
  rm -f "$RUN/$name.pid" "$RUN/$name.child" "$RUN/$name.exits"
}

started_names() {  # what `start` started, in order (the production profile's replicas too)
  if [ -f "$RUN/started" ]; then cat "$RUN/started"; else printf '%s\n' "${SERVICES[@]}"; fi
}

stop_all() {
  local i names
  mapfile -t names < <(started_names)
  # The load balancer first (no new turns reach a stopping replica), then in reverse start order.
  stop_one haproxy
  for ((i = ${#names[@]} - 1; i >= 0; i--)); do stop_one "${names[$i]}"; done
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_one "${SERVICES[$i]}"; done
  stop_one sweeper  # the no-Redis loop's name before the scheduler replaced it
  rm -f "$RUN/stack.env" "$RUN/worker.name" "$RUN/started" "$RUN/profile" "$RUN/haproxy.sock"
}

choose_redis() {
  # REDIS_URL set: use it. Else a local redis-server when installed (ours, or one already running on
  # REDIS_PORT). Else jobs run inside the backend process. Ours appends every write to its AOF
  # (fsync each second), so queued replies and MessageSid claims survive a restart.
  if [ -n "${REDIS_URL:-}" ]; then return; fi
  if redis_ping && ! alive redis; then
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
  elif command -v redis-server >/dev/null; then
    mkdir -p "$VAR_DIR/redis"
    start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$VAR_DIR/redis" \
      --save "" --appendonly yes --appendfsync everysec
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
    wait_for redis 10 redis_ping
  else
    export REDIS_URL=""
    echo "stack: redis-server is not installed; jobs run inside the backend process"
  fi
}

up() {
  # Starts what is not running and leaves alone what is; each process is supervised (restarted
  # when it exits). A process that does not become healthy is reported, and nothing is stopped.
  for venv in .venv .venv-rasa; do
    [ -x "$venv/bin/python" ] || { echo "stack: $venv is missing; run 'make setup'" >&2; exit 1; }
  done
  ls models/*.tar.gz >/dev/null 2>&1 || { echo "stack: no trained model; run 'make train'" >&2; exit 1; }
  choose_redis
  echo "REDIS_URL=$REDIS_URL" >"$RUN/stack.env"
  .venv/bin/python -m backend.migrate
  start backend .venv/bin/gunicorn --bind "$BIND_HOST:$BACKEND_PORT" --workers "$BACKEND_WORKERS" \
    --threads 4 --access-logfile - -c python:backend.gunicorn_conf backend.wsgi:app
  if [ -n "$REDIS_URL" ]; then
    # A fresh name per start ($$ of the exec'd shell): a killed worker's name stays registered in
    # Redis until its TTL, and RQ refuses a second live worker of that name.
    start worker bash -c 'exec .venv/bin/rq worker -c backend.rq_settings --url "$REDIS_URL" \
      --worker-class rq.SimpleWorker --with-scheduler --name "stack-worker-$BACKEND_PORT-$$"'
  fi
  local reload=()
  [ "${ACTIONS_AUTO_RELOAD:-1}" = 1 ] && reload=(--auto-reload)  # designers' edits apply at once
  start actions .venv-rasa/bin/python -m actions.server --host "$ACTIONS_HOST" --port "$ACTIONS_PORT" \
    "${reload[@]}"
  # The model is chosen at each (re)start: rasa restarted after a promotion serves it.
  start rasa bash -c 'exec "$@" --model "$(scripts/stack.sh served-model)"' rasa \
    .venv-rasa/bin/rasa run --enable-api --auth-token="$RASA_TOKEN" --interface "$BIND_HOST" \
    --port "$RASA_PORT" --credentials credentials.yml --endpoints endpoints.yml
  wait_for backend 60 healthy "$BACKEND_URL/v1/health"
  # The sweeps start once the backend answers: their first run (at once) reaches its simulators,
  # e.g. the demo stores' initial imports that `make seed` left to it (backend/seed/stores.py).
  scheduler_command
  start scheduler "${SCHEDULER[@]}"
  if [ -n "$REDIS_URL" ]; then wait_for worker 60 worker_registered; fi
  wait_for actions 120 healthy "http://127.0.0.1:$ACTIONS_PORT/health"
  wait_for rasa 240 healthy "$RASA_URL/status?token=$RASA_TOKEN"
  if [ ${#failed[@]} -gt 0 ]; then
    echo "stack: not healthy: ${failed[*]} (still supervised; 'make status', 'make logs', 'make down')" >&2
    exit 1
  fi
  echo "stack: up — rasa $RASA_URL, actions :$ACTIONS_PORT, backend $BACKEND_URL (docs at $BACKEND_URL/docs)"
}

status() {
  local name
  for name in $(started_names); do
    if alive "$name"; then
      echo "$name: running (supervisor pid $(cat "$RUN/$name.pid"), process pid $(child_of "$name"))"
    else
      echo "$name: stopped"
    fi
  done
}

source "$ROOT/scripts/stack_prod.sh"

case "${1:-}" in
  up) if [ "$PROFILE" = prod ]; then up_prod; else up; fi ;;
  down) stop_all ;;
  # The production profile one replica at a time behind HAProxy; the default profile (one of each)
  # stops and starts again.
  restart) if [ "$(cat "$RUN/profile" 2>/dev/null)" = prod ]; then restart_prod; else stop_all; up; fi ;;
  status) status ;;
  served-model) served_model ;;
  rasa-urls) rasa_urls ;;  # each running rasa server (the production profile's replicas)
  # swap-model FILE: the running rasa loads FILE (PUT /model); with PROFILE=prod each replica in
  # turn, drained in HAProxy meanwhile.
  swap-model)
    if [ "$(cat "$RUN/profile" 2>/dev/null)" = prod ]; then swap_model_prod "$2"; else put_model "$RASA_URL" "$2"; fi ;;
  supervise) shift; supervise "$@" ;;
  *) echo "usage: $0 up|down|restart|status|served-model|rasa-urls|swap-model FILE" >&2; exit 2 ;;
esac
