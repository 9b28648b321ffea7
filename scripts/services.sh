#!/usr/bin/env bash
# Throwaway PostgreSQL and Redis servers for the tests, on non-default ports: start | stop | env.
set -euo pipefail
cd "$(dirname "$0")/.."

# Below Linux's ephemeral range (32768-60999): a port in it can be taken for a moment by any
# outgoing connection on the machine, and the server then fails to bind.
PG_PORT=${TEST_PG_PORT:-25432}
REDIS_PORT=${TEST_REDIS_PORT:-26379}
STATE=${TMPDIR:-/tmp}/wa-commerce-test-services-$PG_PORT
PGDATA="$STATE/pg"

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

ensure_packages() {
  local missing=()
  pg_bin >/dev/null || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "services: missing ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "services: installing ${missing[*]} from Debian" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# PostgreSQL refuses to run as root: run its commands as the postgres user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

start_pg() {
  local bin; bin=$(pg_bin)
  mkdir -p "$STATE"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$STATE"; fi
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-locale >"$STATE/initdb.log"
  fi
  if ! as_pg "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 60 start \
      -o "-p $PG_PORT -k $STATE -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  fi
}

start_redis() {
  if redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then return 0; fi
  mkdir -p "$STATE"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" --appendonly no \
    --dir "$STATE" --pidfile "$STATE/redis.pid" --logfile "$STATE/redis.log"
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "services: redis did not start (see $STATE/redis.log)" >&2; exit 1
}

case "${1:-}" in
  start)
    ensure_packages
    start_pg
    start_redis
    echo "services: postgres on 127.0.0.1:$PG_PORT, redis on 127.0.0.1:$REDIS_PORT" >&2
    ;;
  stop)
    bin=$(pg_bin || true)
    if [ -n "$bin" ] && [ -f "$PGDATA/PG_VERSION" ]; then
      as_pg "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$STATE"
    ;;
  env)
    echo "export TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/postgres"
    echo "export TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
    ;;
  *)
    echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
