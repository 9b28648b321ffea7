"""HAProxy's runtime API (the admin socket the production profile opens, `stats socket … level
admin`): take one server out of rotation while its model is swapped, and back.

`drain` stops new requests reaching the server (health checks go on); `ready` puts it back.
"""

from __future__ import annotations

import csv
import io
import socket
import time


class HaproxyError(Exception):
    pass


def command(socket_path: str, line: str, timeout: float = 5.0) -> str:
    """One command on the admin socket, its whole answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(socket_path)
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    except OSError as error:
        raise HaproxyError(f"HAProxy's socket {socket_path}: {error}") from error
    return b"".join(chunks).decode("utf-8", "replace")


def set_state(socket_path: str, backend: str, server: str, state: str) -> None:
    """`state` ready, drain or maint."""
    answer = command(socket_path, f"set server {backend}/{server} state {state}").strip()
    if answer:  # HAProxy answers nothing when it did it
        raise HaproxyError(f"set server {backend}/{server} state {state}: {answer}")


def server_stats(socket_path: str, backend: str, server: str) -> dict[str, str]:
    text = command(socket_path, "show stat").lstrip("# ")
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("pxname") == backend and row.get("svname") == server:
            return dict(row)
    raise HaproxyError(f"HAProxy has no server {backend}/{server}")


def wait_idle(socket_path: str, backend: str, server: str, seconds: float) -> bool:
    """Until the server has no request in flight (scur 0); False when `seconds` ran out."""
    deadline = time.monotonic() + seconds
    while True:
        if int(server_stats(socket_path, backend, server).get("scur") or 0) == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def wait_up(socket_path: str, backend: str, server: str, seconds: float) -> bool:
    """Until HAProxy's health check sees the server UP again."""
    deadline = time.monotonic() + seconds
    while True:
        if server_stats(socket_path, backend, server).get("status", "").startswith("UP"):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
