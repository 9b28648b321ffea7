"""HAProxy's runtime API (the admin socket the production profile opens, `stats socket … level
admin`): take one server out of rotation while its model is swapped, and back.

`drain` stops new requests reaching the server (health checks go on); `ready` puts it back.

Also the stack scripts' command line (scripts/stack_prod.sh: rolling restart, make reload):
  python -m backend.providers.haproxy --socket S drain BACKEND SERVER [--idle SECONDS]
  python -m backend.providers.haproxy --socket S ready BACKEND SERVER [--up SECONDS]
  python -m backend.providers.haproxy --socket S all-up   (every rasa-/actions- server UP)
"""

from __future__ import annotations

import argparse
import csv
import io
import socket
import sys
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


def admin_state(socket_path: str, backend: str, server: str) -> int:
    """srv_admin_state from `show servers state BACKEND`: a bit field (DRAIN_FLAGS when drained)."""
    lines = command(socket_path, f"show servers state {backend}").splitlines()
    header = next((line for line in lines if line.startswith("# be_id")), "").lstrip("# ").split()
    for line in lines:
        fields = line.split()
        if header and not line.startswith("#") and len(fields) >= len(header):
            row = dict(zip(header, fields))
            if row["srv_name"] == server:
                return int(row["srv_admin_state"])
    raise HaproxyError(f"HAProxy has no server {backend}/{server}")


DRAIN_FLAGS = 0x08 | 0x10  # SRV_ADMF_FDRAIN | SRV_ADMF_IDRAIN


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


def all_up(socket_path: str, prefixes: tuple[str, ...] = ("rasa-", "actions-")) -> bool:
    """Every server whose name starts with one of `prefixes` is UP (and there is one)."""
    text = command(socket_path, "show stat").lstrip("# ")
    rows = [r for r in csv.DictReader(io.StringIO(text)) if (r.get("svname") or "").startswith(prefixes)]
    return bool(rows) and all(r.get("status", "").startswith("UP") for r in rows)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.providers.haproxy")
    parser.add_argument("--socket", required=True, help="HAProxy's admin socket")
    sub = parser.add_subparsers(dest="action", required=True)
    drain = sub.add_parser("drain", help="out of rotation; with --idle, until no request is in flight")
    ready = sub.add_parser("ready", help="back in rotation; with --up, until its checks see it UP")
    for command_parser in (drain, ready):
        command_parser.add_argument("backend")
        command_parser.add_argument("server")
    drain.add_argument("--idle", type=float, default=0.0)
    ready.add_argument("--up", type=float, default=0.0)
    sub.add_parser("all-up", help="exit 0 when every rasa-/actions- server is UP")
    args = parser.parse_args(argv)
    try:
        if args.action == "all-up":
            return 0 if all_up(args.socket) else 1
        name = f"{args.backend}/{args.server}"
        if args.action == "drain":
            set_state(args.socket, args.backend, args.server, "drain")
            if args.idle and not wait_idle(args.socket, args.backend, args.server, args.idle):
                print(f"haproxy: {name} still had requests in flight after {args.idle:.0f} s",
                      file=sys.stderr)
            return 0
        set_state(args.socket, args.backend, args.server, "ready")
        if args.up and not wait_up(args.socket, args.backend, args.server, args.up):
            print(f"haproxy: {name} is not UP after {args.up:.0f} s", file=sys.stderr)
            return 1
        return 0
    except HaproxyError as error:
        print(f"haproxy: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
