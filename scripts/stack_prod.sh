# Sourced by scripts/stack.sh: the production profile, `make up PROFILE=prod REPLICAS=N`.
#
#   Twilio ──▶ HAProxy :RASA_PORT ──▶ rasa-1..N  (:RASA_REPLICA_PORT+i; SQL tracker store in
#                 (health-checked)      │          PostgreSQL, Redis lock store, shared dedupe)
#              HAProxy :ACTIONS_PORT ◀──┘ ──▶ actions-1..N (:ACTIONS_REPLICA_PORT+i)
#   backend (gunicorn, BACKEND_WORKERS) :BACKEND_PORT ─▶ PostgreSQL :PG_PORT, Redis :REDIS_PORT
#   worker-1..WORKERS (RQ), scheduler (rq cron)
#
# Every process listens on BIND_HOST (loopback unless configured) and authenticates its callers:
# PostgreSQL and Redis with the passwords of $VAR_DIR/secrets.env, rasa with RASA_TOKEN and the
# Twilio signature (checked against WHATSAPP_PUBLIC_URL, the address Twilio posts to: the load
# balancer's), the action servers with ACTIONS_TOKEN, the backend with its keys and SERVICE_TOKEN;
# HAProxy's admin socket is owner-only. docker-compose.prod.yml and deploy/k8s describe the same.

# Replica ports: RASA_REPLICA_PORT+1.., ACTIONS_REPLICA_PORT+1.. (behind the load balancer).
prod_settings() {
  export RASA_REPLICA_PORT=${RASA_REPLICA_PORT:-$((RASA_PORT + 10))}
  export ACTIONS_REPLICA_PORT=${ACTIONS_REPLICA_PORT:-$((ACTIONS_PORT + 10))}
  export WORKERS=${WORKERS:-$REPLICAS}
  # Twilio signs the URL it posts to: the load balancer's (or the public one in front of it).
  export WHATSAPP_PUBLIC_URL=${WHATSAPP_PUBLIC_URL:-http://127.0.0.1:$RASA_PORT}
  # A conversation's lock is held for at most this long when its replica died holding it (Rasa's
  # default is 60 s); a turn's reply is due within its 4 s deadline.
  export TICKET_LOCK_LIFETIME=${TICKET_LOCK_LIFETIME:-30}
  PGDATA_DIR=${PGDATA_DIR:-}
  if [ -z "$PGDATA_DIR" ]; then
    # PostgreSQL refuses to run as root: as root its cluster belongs to the postgres user, in
    # Debian's place for clusters (VAR_DIR is root's only).
    if [ "$(id -u)" -eq 0 ]; then PGDATA_DIR=/var/lib/postgresql/wa-assistant-$PG_PORT
    else PGDATA_DIR=$VAR_DIR/postgres; fi
  fi
}

prod_pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/postgres" ] && echo "$dir"
}

need_prod_packages() {
  local missing=()
  [ "$LOCAL_PG" = 1 ] && ! prod_pg_bin >/dev/null && missing+=(postgresql)
  [ "$LOCAL_REDIS" = 1 ] && ! command -v redis-server >/dev/null && missing+=(redis-server)
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "stack: the production profile needs ${missing[*]}: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "stack: installing ${missing[*]} from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
}

haproxy_bin() { command -v haproxy || echo /usr/sbin/haproxy; }

exec_as_postgres() {  # the supervised server: replaces the supervisor's child, signals reach it
  if [ "$(id -u)" -eq 0 ]; then
    exec setpriv --reuid=postgres --regid=postgres --init-groups -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
  fi
  exec "$@"
}

as_postgres() {  # as_postgres COMMAND...: as the postgres user when root (exec'd, no extra process)
  if [ "$(id -u)" -eq 0 ]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
  else
    "$@"
  fi
}

pg_ready() { "$(prod_pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 1 2>/dev/null; }

pg_sql() {  # pg_sql DATABASE SQL: as the assistant role, over TCP with its password
  PGPASSWORD=$POSTGRES_PASSWORD "$(prod_pg_bin)/psql" -X -q -t -A -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$PG_PORT" -U assistant -d "$1" -c "$2"
}

start_postgres() {
  local bin pwfile
  bin=$(prod_pg_bin)
  if [ ! -f "$PGDATA_DIR/PG_VERSION" ]; then
    mkdir -p "$PGDATA_DIR"
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$PGDATA_DIR" "$pwfile"; fi
    chmod 700 "$PGDATA_DIR"
    # Password (SCRAM) authentication for every connection, the socket's too.
    as_postgres "$bin/initdb" -D "$PGDATA_DIR" -U assistant --pwfile="$pwfile" -A scram-sha-256 \
      -E UTF8 --no-locale >"$LOG/postgres-initdb.log"
    rm -f "$pwfile"
  fi
  start postgres exec_as_postgres "$bin/postgres" -D "$PGDATA_DIR" -p "$PG_PORT" -k "$PGDATA_DIR" \
    -c listen_addresses="$BIND_HOST" -c max_connections=200
  wait_for postgres 60 pg_ready
  # The backend's database and the tracker store's (TRACKER_DB_NAME), created once.
  local db
  for db in assistant "$TRACKER_DB_NAME"; do
    if [ -z "$(pg_sql postgres "select 1 from pg_database where datname = '$db'")" ]; then
      pg_sql postgres "create database \"$db\""
    fi
  done
}

redis_auth_ping() { REDISCLI_AUTH=$REDIS_PASSWORD redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

start_redis_prod() {
  mkdir -p "$VAR_DIR/redis"
  # The password stays in an owner-only file, out of the process list.
  cat >"$VAR_DIR/redis/redis.conf" <<EOF
port $REDIS_PORT
bind $BIND_HOST
dir $VAR_DIR/redis
requirepass $REDIS_PASSWORD
save ""
appendonly yes
appendfsync everysec
EOF
  start redis redis-server "$VAR_DIR/redis/redis.conf"
  wait_for redis 10 redis_auth_ping
}

write_haproxy_cfg() {
  local cfg=$VAR_DIR/haproxy.cfg i
  {
    cat <<EOF
# Written by scripts/stack.sh (PROFILE=prod REPLICAS=$REPLICAS); rewritten at each start.
global
    maxconn 4096
    stats socket $RUN/haproxy.sock mode 600 level admin
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    option dontlognull
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    # A request that could not reach a replica (refused, or the replica closed without a word)
    # goes to another one; the channel's MessageSid claim (Redis) makes a replay harmless.
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response
    option http-buffer-request
    default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 2

# Twilio posts every customer's message here (WHATSAPP_PUBLIC_URL); the backend's trigger_intent too.
frontend rasa_in
    bind $BIND_HOST:$RASA_PORT
    default_backend rasa
    # Healthy while at least one rasa replica is (200, else 503): for the platform's checks.
    monitor-uri /haproxy-health
    monitor fail if { nbsrv(rasa) lt 1 }

backend rasa
    balance roundrobin
    option httpchk GET /webhooks/whatsapp/
    http-check expect status 200
EOF
    for ((i = 1; i <= REPLICAS; i++)); do
      echo "    server rasa-$i 127.0.0.1:$((RASA_REPLICA_PORT + i)) check"
    done
    cat <<EOF

# Rasa's calls to the action servers (ACTION_SERVER_URL).
frontend actions_in
    bind 127.0.0.1:$ACTIONS_PORT
    default_backend actions

backend actions
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
EOF
    for ((i = 1; i <= REPLICAS; i++)); do
      echo "    server actions-$i 127.0.0.1:$((ACTIONS_REPLICA_PORT + i)) check"
    done
  } >"$cfg"
  "$(haproxy_bin)" -c -q -f "$cfg" || { echo "stack: $cfg is not valid" >&2; exit 1; }
}

haproxy_admin() {  # haproxy_admin drain|ready|all-up ...: HAProxy's admin socket (backend/providers/haproxy.py)
  .venv/bin/python -m backend.providers.haproxy --socket "$RUN/haproxy.sock" "$@"
}

haproxy_up() { haproxy_admin all-up 2>/dev/null; }  # every server of both backends is UP

prod_worker_registered() {  # WORKERS RQ workers of this stack have registered with Redis
  .venv/bin/python -c 'import sys; from redis import Redis; from rq import Worker
pids = {w.pid for w in Worker.all(connection=Redis.from_url(sys.argv[1]))}
sys.exit(not set(map(int, sys.argv[2:])) <= pids)' "$REDIS_URL" $(for ((i = 1; i <= WORKERS; i++)); do child_of "worker-$i"; done) 2>/dev/null
}

up_prod() {
  prod_settings
  for venv in .venv .venv-rasa; do
    [ -x "$venv/bin/python" ] || { echo "stack: $venv is missing; run 'make setup'" >&2; exit 1; }
  done
  ls models/*.tar.gz >/dev/null 2>&1 || { echo "stack: no trained model; run 'make train'" >&2; exit 1; }
  if [ -f "$RUN/profile" ] && [ "$(cat "$RUN/profile")" != prod ] && alive backend; then
    echo "stack: the $(cat "$RUN/profile") profile runs in $VAR_DIR; 'make down' first" >&2; exit 1
  fi
  echo prod >"$RUN/profile"
  need_prod_packages
  local i
  [ "$LOCAL_PG" = 1 ] && start_postgres
  [ "$LOCAL_REDIS" = 1 ] && start_redis_prod
  if [ ${#failed[@]} -gt 0 ]; then echo "stack: not healthy: ${failed[*]}" >&2; exit 1; fi
  echo "REDIS_URL=$REDIS_URL" >"$RUN/stack.env"
  .venv/bin/python -m backend.migrate
  # The NLU model registry swaps a promoted model into each replica, drained in HAProxy meanwhile.
  NLU_RASA_URLS=$(for ((i = 1; i <= REPLICAS; i++)); do
    printf 'rasa/rasa-%d=%s,' "$i" "$(rasa_replica_url "$i")"; done)
  export NLU_RASA_URLS=${NLU_RASA_URLS%,} NLU_HAPROXY_SOCKET=$RUN/haproxy.sock
  start backend .venv/bin/gunicorn --bind "$BIND_HOST:$BACKEND_PORT" --workers "$BACKEND_WORKERS" \
    --threads 4 --access-logfile - -c python:backend.gunicorn_conf backend.wsgi:app
  # RQ reads the Redis URL (with its password) from RQ_REDIS_URL, out of the process list.
  export RQ_REDIS_URL=$REDIS_URL
  for ((i = 1; i <= WORKERS; i++)); do
    start "worker-$i" bash -c 'exec .venv/bin/rq worker -c backend.rq_settings \
      --worker-class rq.SimpleWorker --with-scheduler --name "stack-worker-$BACKEND_PORT-'"$i"'-$$"'
  done
  start scheduler .venv/bin/rq cron backend.jobs.schedule
  for ((i = 1; i <= REPLICAS; i++)); do
    start "actions-$i" .venv-rasa/bin/python -m actions.server --host 127.0.0.1 \
      --port "$((ACTIONS_REPLICA_PORT + i))"
  done
  for ((i = 1; i <= REPLICAS; i++)); do
    # The model is chosen at each (re)start: a replica restarted after a promotion serves it.
    start "rasa-$i" bash -c 'exec "$@" --model "$(scripts/stack.sh served-model)"' "rasa-$i" \
      .venv-rasa/bin/rasa run --enable-api --auth-token="$RASA_TOKEN" --interface 127.0.0.1 \
      --port "$((RASA_REPLICA_PORT + i))" --credentials credentials.yml \
      --endpoints endpoints.production.yml
  done
  write_haproxy_cfg
  start haproxy "$(haproxy_bin)" -db -f "$VAR_DIR/haproxy.cfg"
  wait_for backend 60 healthy "$BACKEND_URL/v1/health"
  wait_for worker-1 60 prod_worker_registered
  for ((i = 1; i <= REPLICAS; i++)); do
    wait_for "actions-$i" 120 healthy "http://127.0.0.1:$((ACTIONS_REPLICA_PORT + i))/health"
  done
  for ((i = 1; i <= REPLICAS; i++)); do
    wait_for "rasa-$i" 300 healthy "$(rasa_replica_url "$i")/status?token=$RASA_TOKEN"
  done
  wait_for haproxy 20 haproxy_up
  if [ ${#failed[@]} -gt 0 ]; then
    echo "stack: not healthy: ${failed[*]} (still supervised; 'make status', 'make logs', 'make down')" >&2
    exit 1
  fi
  echo "stack: up (prod, $REPLICAS replicas) — Twilio posts to $WHATSAPP_PUBLIC_URL/webhooks/whatsapp/webhook" \
    "(HAProxy $RASA_URL), backend $BACKEND_URL, PostgreSQL :$PG_PORT, Redis :$REDIS_PORT"
}

# ---------------------------------------------------------------- rolling restart, model swap

rasa_replica_url() { echo "http://127.0.0.1:$((RASA_REPLICA_PORT + $1))"; }

running_replicas() {  # REPLICAS and WORKERS as `make up` started them, whatever the environment says
  REPLICAS=$(grep -c '^rasa-' "$RUN/started")
  WORKERS=$(grep -c '^worker-' "$RUN/started")
  prod_settings
}

while_drained() {  # while_drained BACKEND SERVER COMMAND...: COMMAND with the server out of rotation
  # Drained, no new request reaches it and those in flight finish (up to 60 s); afterwards it is put
  # back and waited for until HAProxy's checks see it UP.
  local code=0
  haproxy_admin drain "$1" "$2" --idle 60 || return 1
  "${@:3}" || code=$?
  haproxy_admin ready "$1" "$2" --up 60 || code=1
  return "$code"
}

restart_child() {  # restart_child NAME: SIGTERM to its process (a worker finishes its job first);
  # its supervisor starts the next one
  local name=$1 old i
  old=$(child_of "$name")
  kill -TERM "$old" 2>/dev/null || true
  for ((i = 0; i < 1200; i++)); do kill -0 "$old" 2>/dev/null || break; sleep 0.25; done
  for ((i = 0; i < 120; i++)); do
    [ -n "$(child_of "$name")" ] && [ "$(child_of "$name")" != "$old" ] && break
    sleep 0.25
  done
  echo "stack: $name restarted (pid $old → $(child_of "$name"))"
}

restart_healthy() {  # restart_healthy NAME SECONDS URL: restarted, then until URL answers
  restart_child "$1"
  local before=${#failed[@]}
  wait_for "$1" "$2" healthy "$3"
  [ ${#failed[@]} -eq "$before" ]
}

restart_prod() {
  # One replica at a time, each drained in HAProxy first and put back once healthy, so no turn is
  # dropped and Twilio never sees an error: the action servers, then the rasa replicas (each
  # reloads the model it is meant to serve: the last promotion, served_model), the backend
  # (gunicorn's graceful reload: new workers start, the old ones finish their requests), the RQ
  # workers (each finishes its job) and the scheduler.
  if [ "$(cat "$RUN/profile" 2>/dev/null)" != prod ] || ! alive haproxy; then
    echo "stack: the production profile is not running in $VAR_DIR" >&2; exit 1
  fi
  running_replicas
  local i
  for ((i = 1; i <= REPLICAS; i++)); do
    while_drained actions "actions-$i" restart_healthy "actions-$i" 120 \
      "http://127.0.0.1:$((ACTIONS_REPLICA_PORT + i))/health" \
      || { echo "stack: rolling restart stopped at actions-$i ('make logs')" >&2; exit 1; }
  done
  for ((i = 1; i <= REPLICAS; i++)); do
    while_drained rasa "rasa-$i" restart_healthy "rasa-$i" 300 \
      "$(rasa_replica_url "$i")/status?token=$RASA_TOKEN" \
      || { echo "stack: rolling restart stopped at rasa-$i ('make logs')" >&2; exit 1; }
  done
  kill -HUP "$(child_of backend)"
  wait_for backend 60 healthy "$BACKEND_URL/v1/health"
  echo "stack: backend reloaded (gunicorn's workers replaced)"
  for ((i = 1; i <= WORKERS; i++)); do restart_child "worker-$i"; done
  wait_for worker-1 60 prod_worker_registered
  restart_child scheduler
  if [ ${#failed[@]} -gt 0 ]; then echo "stack: not healthy: ${failed[*]}" >&2; exit 1; fi
  echo "stack: rolling restart done ($REPLICAS replicas)"
}

put_model() {  # put_model URL FILE: rasa's PUT /model; 204 when it loaded it
  local status
  status=$(curl -sS -o "$LOG/reload.out" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
    -d "{\"model_file\": \"$2\"}" "$1/model?token=$RASA_TOKEN")
  if [ "$status" != 204 ]; then
    echo "stack: $1 refused the model (HTTP $status):" >&2
    cat "$LOG/reload.out" >&2
    return 1
  fi
}

swap_model_prod() {  # swap_model_prod FILE: into each rasa replica, drained in HAProxy meanwhile
  local i
  running_replicas
  for ((i = 1; i <= REPLICAS; i++)); do
    while_drained rasa "rasa-$i" put_model "$(rasa_replica_url "$i")" "$1" || return 1
    echo "stack: rasa-$i serves $(basename "$1")"
  done
}

rasa_urls() {  # each running rasa server: the production profile's replicas (not HAProxy), or one
  local i
  if [ "$(cat "$RUN/profile" 2>/dev/null)" = prod ]; then
    running_replicas
    for ((i = 1; i <= REPLICAS; i++)); do rasa_replica_url "$i"; done
  else
    echo "$RASA_URL"
  fi
}
