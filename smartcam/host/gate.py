"""Who may ask the camera's web server anything: every request passes this gate first.

- The Host header must be one of the camera's own names or addresses (or `[web] hosts`): a web
  page elsewhere that points a DNS name at the camera (DNS rebinding) gets 403, whatever it
  asks, so it can neither read the page nor switch detection off.
- A write (POST, PUT, DELETE, PATCH) from a browser must come from the camera's own page: an
  `Origin` of another site, or `Sec-Fetch-Site: cross-site`, gets 403. Clients that are not
  browsers send no Origin (peers, the master, curl) and are not affected.
- With `[web] password` set, everything but GET /api/v1/health and signed requests (a peer's
  trigger, the master's settings) asks for it (HTTP Basic, any user name); a wrong one gets 401.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import ifaddr

from smartcam.config import Config

WRITES = {"POST", "PUT", "DELETE", "PATCH"}
# the fleet's health gate; signed triggers and the master's signed settings
OPEN_PATHS = {"/api/v1/health", "/api/v1/trigger", "/api/v1/signed/settings",
              "/api/v1/signed/arming"}
ADDRESSES_SECONDS = 10.0  # our addresses are looked up again after this (DHCP may move them)
ADDRESSES_RETRY = 1.0  # ... or after this, when a request names an address we do not know
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def our_names(cfg: Config) -> set[str]:
    """The names this camera answers to, besides its addresses."""
    name, hostname = cfg.camera.name, socket.gethostname().lower()
    return {name, f"{name}.local", f"smartcam-{name}.local", hostname, f"{hostname}.local",
            "localhost", *cfg.web.hosts}


def our_addresses() -> set[str]:
    """Every address of every interface, loopback included."""
    found = {"127.0.0.1", "::1"}
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            found.add(ip.ip if isinstance(ip.ip, str) else ip.ip[0])
    return found


def host_name(header: str) -> str:
    """The name or address of a Host header, without its port: `[::1]:80` is `::1`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")]
    return header.rsplit(":", 1)[0].rstrip(".")


class Gate:
    """WSGI middleware around the web app; see the module docstring."""

    def __init__(self, app: Wsgi, cfg: Config):
        self.app, self.password = app, cfg.web.password
        self.names = our_names(cfg)
        self._addresses: set[str] = set()
        self._addresses_at = float("-inf")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        problem = self.problem(environ)
        if problem is None:
            return self.app(environ, start_response)
        status, message, headers = problem
        body = (json.dumps({"error": message}) + "\n").encode()
        start_response(status, [("Content-Type", "application/json"),
                                ("Cache-Control", "no-store"),
                                ("Content-Length", str(len(body))), *headers])
        return [body]

    def problem(self, environ: dict[str, Any]) -> tuple[str, str, list[tuple[str, str]]] | None:
        """(status, message, headers) of a refusal, or None when the request may pass."""
        host = environ.get("HTTP_HOST", "")
        if host and not self._ours(host_name(host)):
            return ("403 Forbidden", f"this camera does not answer to the name {host!r}: use "
                    "its address or one of its names (or add the name to [web] hosts)", [])
        if environ.get("REQUEST_METHOD", "GET") in WRITES and self._cross_site(environ, host):
            return ("403 Forbidden", "a write from another site's page is refused: change "
                    "settings on the camera's own page", [])
        if self.password and environ.get("PATH_INFO") not in OPEN_PATHS:
            if not self._password_ok(environ.get("HTTP_AUTHORIZATION", "")):
                return ("401 Unauthorized", "this camera asks for its password",
                        [("WWW-Authenticate", 'Basic realm="smartcam", charset="UTF-8"')])
        return None

    def _ours(self, name: str) -> bool:
        if name in self.names or name.startswith("127."):
            return True
        # Looked up again when old, and at once (at most once a second) for a name we do not
        # know: after DHCP moves the camera, its new address must work from the first request.
        age = time.monotonic() - self._addresses_at
        if age > ADDRESSES_SECONDS or (name not in self._addresses and age > ADDRESSES_RETRY):
            self._addresses, self._addresses_at = our_addresses(), time.monotonic()
        return name in self._addresses

    @staticmethod
    def _cross_site(environ: dict[str, Any], host: str) -> bool:
        if environ.get("HTTP_SEC_FETCH_SITE") == "cross-site":
            return True
        origin = environ.get("HTTP_ORIGIN")
        if origin is None:
            return False  # not a browser, or a same-origin request that names none
        # By name only: nginx passes $host, which has no port, and a rebinding page differs
        # in its name, not its port.
        name = (urlsplit(origin).hostname or "").lower()
        return origin == "null" or not host or name != host_name(host)

    def _password_ok(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(token.strip(), validate=True).partition(b":")[2]
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self.password.encode())
