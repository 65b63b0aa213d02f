"""`smartcam system save-settings`: the page's settings written into smartcam.conf, by root.

On a Pi, smartcam.conf lives on the boot partition: a FAT file system that only root may write,
and that also holds the kernel and config.txt, which the web server must never be able to
change. The host process runs as the smartcam user, so when it may not write the file itself it
hands the page's changes to this program through a socket that only root and the smartcam group
may open (smartcam-settings.socket, one process per connection, role smartcam_app). It writes
only the one smartcam.conf (never a path it is given), validated and as the page would
(config.edit.set_values: comments and layout kept, atomic, nothing written when invalid), and
answers one JSON line: {"ok": true} or {"error": "...", "kind": "config" | "os"}.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smartcam.config.edit import set_values
from smartcam.config.parse import find
from smartcam.errors import ConfigError

SOCKET = Path("/run/smartcam/settings.sock")
Changes = Mapping[str, Mapping[str, Any]]
MAX_REQUEST = 64 * 1024


def save(changes: Changes, timeout: float = 60) -> None:
    """Ask the root writer to save `changes`; ConfigError or OSError as set_values would raise."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(timeout)
        s.connect(str(SOCKET))
        s.sendall(json.dumps(changes).encode() + b"\n")
        reply = json.loads(s.makefile("rb").readline(MAX_REQUEST) or b"{}")
    if reply.get("ok"):
        return
    error = str(reply.get("error") or "the settings writer gave no answer")
    raise ConfigError(error) if reply.get("kind") == "config" else OSError(error)


def handle(request: bytes, config: Path | None) -> dict[str, Any]:
    try:
        changes = json.loads(request)
    except ValueError:
        return {"error": "the request is not JSON", "kind": "os"}
    if not isinstance(changes, dict) or not all(isinstance(v, dict) for v in changes.values()):
        return {"error": "the request is not {section: {key: value}}", "kind": "os"}
    if config is None:
        return {"error": "there is no smartcam.conf to write into", "kind": "os"}
    try:
        set_values(config, changes)
    except ConfigError as err:
        return {"error": str(err), "kind": "config"}
    except OSError as err:
        return {"error": f"cannot write {config}: {err.strerror or err}", "kind": "os"}
    return {"ok": True}


def run(args: argparse.Namespace) -> int:
    """One connection on stdin/stdout (systemd's Accept=yes): one request, one answer."""
    config = Path(args.config) if args.config else find()
    reply = handle(sys.stdin.buffer.readline(MAX_REQUEST), config)
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
    if not reply.get("ok"):
        print(f"not saved: {reply['error']}", file=sys.stderr)
    return 0
