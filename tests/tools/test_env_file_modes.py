"""scripts/env.sh: the stack's data files (databases, tracker store, logs, KB indexes) are
owner-only, new ones and those an older run left readable."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_env_sh_makes_the_stack_files_owner_only(tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "log").mkdir(parents=True)
    (var / "kb" / "shop").mkdir(parents=True)
    old = [var / "app.db", var / "rasa-tracker.db", var / "log" / "backend.log",
           var / "kb" / "shop" / "index.faiss"]
    for path in old:
        path.write_text("customer data")
        path.chmod(0o644)
    (var / "kb").chmod(0o755)
    script = ('umask 022; source scripts/env.sh; echo new >"$VAR_DIR/log/rasa.log"; '
              'mkdir "$VAR_DIR/kb/other"')
    subprocess.run(["bash", "-c", script], cwd=ROOT, check=True, timeout=60,
                   env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "VAR_DIR": str(var)})
    for path in [*old, var / "log" / "rasa.log", var / "secrets.env"]:
        assert mode(path) == 0o600, path
    for folder in (var, var / "log", var / "kb", var / "kb" / "other", var / "run"):
        assert mode(folder) == 0o700, folder
