"""Data files (SQLite databases, the tracker store, logs, knowledge-base indexes) hold customers'
data: only the owner may read them, whatever umask the process was started with."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Union

PRIVATE_UMASK = 0o077


def restrict_umask() -> int:
    """Files and folders this process creates from now on are owner-only (0600/0700); the bits
    the current umask already removes stay removed. Returns the previous umask."""
    previous = os.umask(PRIVATE_UMASK)
    os.umask(previous | PRIVATE_UMASK)
    return previous


def private_file(path: Union[str, Path]) -> None:
    """Create `path` empty with mode 0600 when missing, else take group and other bits away."""
    target = Path(path).expanduser()
    try:
        fd = os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        if target.stat().st_uid == os.getuid():
            os.chmod(target, target.stat().st_mode & 0o700)
        return
    os.close(fd)
