# Sourced by the stack scripts: one place for the settings every process shares, with the embedded
# defaults. Anything already set in the environment wins. Secrets are generated once per VAR_DIR.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export VAR_DIR=${VAR_DIR:-$ROOT/var}
# The databases, the tracker store, logs and knowledge-base indexes under VAR_DIR hold customers'
# data: everything the stack creates is owner-only (0600/0700), and what an older run left
# readable by others is made so too.
umask 077
mkdir -p "$VAR_DIR/log" "$VAR_DIR/run"
find "$VAR_DIR" -xdev -user "$(id -u)" -perm /077 -exec chmod go= {} + 2>/dev/null || true

SECRETS="$VAR_DIR/secrets.env"
# Each secret missing from the file (a new one after an upgrade, too) is generated and appended.
(umask 077; touch "$SECRETS"; python3 - "$SECRETS" <<'PY'
import base64, os, secrets, sys
path = sys.argv[1]
with open(path) as f:
    have = {line.split("=", 1)[0] for line in f if "=" in line}
new = {
    "SERVICE_TOKEN": lambda: secrets.token_urlsafe(32),
    "RASA_TOKEN": lambda: secrets.token_urlsafe(32),
    "ENCRYPTION_KEY": lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
    "HASH_KEY": lambda: secrets.token_urlsafe(32),
    "ACTIONS_TOKEN": lambda: secrets.token_urlsafe(32),  # rasa -> action server
    # The production profile's own PostgreSQL and Redis (make up PROFILE=prod) require these.
    "POSTGRES_PASSWORD": lambda: secrets.token_urlsafe(24),
    "REDIS_PASSWORD": lambda: secrets.token_urlsafe(24),
}
with open(path, "a") as f:
    for name, make in new.items():
        if name not in have:
            f.write(f"{name}={make()}\n")
PY
)
while read -r line; do
  key=${line%%=*}
  [ -n "$key" ] && [ -z "${!key:-}" ] && export "$key=${line#*=}"
done <"$SECRETS"

export BACKEND_PORT=${BACKEND_PORT:-8000}
export RASA_PORT=${RASA_PORT:-5005}
export ACTIONS_PORT=${ACTIONS_PORT:-5055}
export ACTIONS_HOST=${ACTIONS_HOST:-127.0.0.1}
export REDIS_PORT=${REDIS_PORT:-6379}
export BIND_HOST=${BIND_HOST:-127.0.0.1}
export BACKEND_URL=${BACKEND_URL:-http://127.0.0.1:$BACKEND_PORT}
export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}
export RASA_URL=${RASA_URL:-http://127.0.0.1:$RASA_PORT}
# PROFILE=prod (make up PROFILE=prod REPLICAS=N): PostgreSQL for the backend and the tracker store,
# Redis for the queues, the MessageSid dedupe and rasa's lock store, each with a password, started
# by scripts/stack.sh unless DATABASE_URL / REDIS_URL name servers of your own (then set the
# TRACKER_DB_* and REDIS_HOST/REDIS_PORT/REDIS_PASSWORD of endpoints.production.yml as well).
export PROFILE=${PROFILE:-embedded}
if [ "$PROFILE" = prod ]; then
  export PG_PORT=${PG_PORT:-5432}
  export LOCAL_PG=${LOCAL_PG:-$([ -z "${DATABASE_URL:-}" ] && echo 1 || echo 0)}
  export LOCAL_REDIS=${LOCAL_REDIS:-$([ -z "${REDIS_URL:-}" ] && echo 1 || echo 0)}
  export DATABASE_URL=${DATABASE_URL:-postgresql+psycopg://assistant:$POSTGRES_PASSWORD@127.0.0.1:$PG_PORT/assistant}
  export REDIS_URL=${REDIS_URL:-redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0}
  export TRACKER_DB_HOST=${TRACKER_DB_HOST:-127.0.0.1} TRACKER_DB_PORT=${TRACKER_DB_PORT:-$PG_PORT}
  export TRACKER_DB_NAME=${TRACKER_DB_NAME:-rasa} TRACKER_DB_USER=${TRACKER_DB_USER:-assistant}
  export TRACKER_DB_PASSWORD=${TRACKER_DB_PASSWORD:-$POSTGRES_PASSWORD}
  export REDIS_HOST=${REDIS_HOST:-127.0.0.1}
  export REPLICAS=${REPLICAS:-2}
fi
export DATABASE_URL=${DATABASE_URL:-sqlite:///$VAR_DIR/app.db}
export RASA_TRACKER_DB=${RASA_TRACKER_DB:-$VAR_DIR/rasa-tracker.db}
export SANDBOX=${SANDBOX:-1}
export TWILIO_SANDBOX_API_URL=${TWILIO_SANDBOX_API_URL:-$BACKEND_URL/sandbox/twilio}
export BACKEND_WORKERS=${BACKEND_WORKERS:-2}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
# Embedding models load from installed packages only; nothing may reach a model hub.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
