#!/usr/bin/env bash
# Builds .venv-rasa (Python 3.10, rasa) and .venv (Python 3.11, backend) from the pinned requirement
# files; reinstalls only when a requirement file changed. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {  # find_python 3.10 → path of a matching interpreter, or nothing
  local want=$1 candidate
  for candidate in "python$want" "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/$want"*/bin/python"$want" \
                   "$HOME/.pyenv/versions/$want"*/bin/python"$want" "/usr/bin/python$want" "/usr/local/bin/python$want"; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$want'.split('.')))" >/dev/null 2>&1; then
      command -v "$candidate" 2>/dev/null || echo "$candidate"
      return 0
    fi
  done
}

build_venv() {  # build_venv DIR PYTHON REQUIREMENTS [CONSTRAINTS]
  local dir=$1 python=$2 reqs=$3 constraints=${4:-}
  local stamp="$dir/.requirements.sha256" digest
  digest=$(cat "$reqs" ${constraints:+"$constraints"} | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ] && [ -x "$dir/bin/python" ]; then
    echo "setup: $dir is up to date"
    return 0
  fi
  echo "setup: building $dir with $("$python" --version) (this takes a few minutes the first time)"
  [ -x "$dir/bin/python" ] || "$python" -m venv "$dir"
  # Some pip configurations list local indexes that do not hold every package: hide that noise.
  "$dir/bin/python" -m pip install --quiet --upgrade "pip==24.3.1" 2> >(grep -v "is ignored: it is neither" >&2)
  "$dir/bin/python" -m pip install --quiet -r "$reqs" ${constraints:+-c "$constraints"} \
    2> >(grep -v "is ignored: it is neither" >&2)
  echo "$digest" >"$stamp"
}

PY310=$(find_python 3.10)
if [ -z "$PY310" ]; then
  cat >&2 <<'MSG'
setup: Python 3.10 is required for Rasa 3.6 and was not found (python3.10 on PATH or under pyenv).
Install it, for example:  pyenv install 3.10.13   (or: apt-get install python3.10 python3.10-venv)
MSG
  exit 1
fi
PY311=$(find_python 3.11)
if [ -z "$PY311" ]; then
  echo "setup: Python 3.11 is required for the backend; install it (pyenv install 3.11.7)." >&2
  exit 1
fi

build_venv .venv-rasa "$PY310" requirements/rasa.txt requirements/rasa.lock.txt
build_venv .venv "$PY311" requirements/backend.txt requirements/backend.lock.txt
mkdir -p var/log var/run
