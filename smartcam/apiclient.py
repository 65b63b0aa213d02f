"""A client for one camera's REST API (/api/v1/, documented by host/api/openapi.py).

What the host's own health check, the master, the tests and the benchmarks use to talk to a
camera. http.client, not urllib: an http_proxy in the environment must never see a camera.
Every answer other than 2xx raises ApiFailed with the camera's own message; a camera that
cannot be reached raises ApiUnreachable (an OSError).
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from smartcam.errors import SmartcamError

PREFIX = "/api/v1"


class ApiFailed(SmartcamError):
    """The camera answered with an error status; str() is its message."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


class ApiUnreachable(SmartcamError, OSError):
    """No answer from the camera (down, wrong address, or too slow)."""


class CameraApi:
    """One camera's API at `base` (http://host[:port], the page's address)."""

    def __init__(self, base: str, timeout: float = 10.0):
        parts = urlsplit(base)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"a camera's address is http://host[:port], not {base!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout

    # -- the routes -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self.call("GET", "/health")

    def status(self) -> dict[str, Any]:
        """The camera's live status, its motion levels and threshold (503 while it restarts)."""
        return self.call("GET", "/status")

    def events(self, day: str | None = None, cause: str | None = None, limit: int = 20,
               cursor: str | None = None) -> dict[str, Any]:
        """One page of clips, newest first, and `next`, the cursor of the following page."""
        query = {k: v for k, v in (("day", day), ("cause", cause), ("cursor", cursor)) if v}
        return self.call("GET", "/events?" + urlencode({**query, "limit": limit}))

    def event(self, event: str) -> dict[str, Any]:
        return self.call("GET", f"/events/{event}")

    def incident(self, incident: str) -> dict[str, Any]:
        return self.call("GET", f"/incidents/{incident}")

    def record(self, seconds: float | None = None) -> dict[str, Any]:
        return self.call("POST", "/record", {} if seconds is None else {"seconds": seconds})

    def peers(self) -> dict[str, Any]:
        return self.call("GET", "/peers")

    def settings(self) -> dict[str, Any]:
        return self.call("GET", "/settings")

    def change_settings(self, changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return self.call("PUT", "/settings", changes)

    def snapshot(self) -> bytes:
        """A fresh JPEG of what the camera sees (the page's /snapshot.jpg, not under the API)."""
        response, raw = self._send("GET", "/snapshot.jpg", None, {})
        if response.status != 200 or response.getheader("Content-Type") != "image/jpeg":
            raise ApiFailed(response.status, raw[:200].decode("utf-8", "replace"))
        return raw

    # -- the wire -------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """The JSON object a route answers; ApiFailed or ApiUnreachable otherwise."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        response, raw = self._send(method, PREFIX + path, data, headers)
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not 200 <= response.status < 300:
            message = answer.get("error") if isinstance(answer, dict) else None
            raise ApiFailed(response.status, message or raw[:200].decode("utf-8", "replace"))
        if not isinstance(answer, dict):
            raise ApiFailed(response.status, "the answer is not a JSON object")
        return answer

    def _send(self, method: str, path: str, data: bytes | None,
              headers: dict[str, str]) -> tuple[http.client.HTTPResponse, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, data, headers)
            response = conn.getresponse()
            return response, response.read()
        except (OSError, http.client.HTTPException) as err:
            raise ApiUnreachable(f"{self.host}:{self.port}: {err}") from err
        finally:
            conn.close()
