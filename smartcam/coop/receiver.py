"""The receiving side of group triggers: check each one, then ask our camera to record.

`Receiver.handle_trigger` checks, in this order: size, signature, shape, group, origin is not
us, clock skew, per-origin rate, replayed nonce, until ahead; then asks our camera to record
(cause "peer") until `until`. It never forwards a trigger. Each rejection is one log line and
a 4xx with a JSON message; nothing reaches the camera.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from smartcam.coop.wire import (
    HEADER,
    MAX_BODY,
    SKEW,
    Rejected,
    Replayed,
    TriggerMessage,
    signature_ok,
)
from smartcam.errors import CameraUnavailable, ControlError

log = logging.getLogger(__name__)
NONCE_SECONDS = 2 * SKEW + 5  # a nonce is remembered past the time any copy could pass the skew
NONCE_MAX = 20_000
MAX_LEASE = 660.0  # a trigger never makes us record longer than this from now
RATE = 5.0  # triggers per second per origin, sustained ...
BURST = 10  # ... after a burst of this many


class NonceCache:
    """Nonces seen in the last NONCE_SECONDS; bounded, refusing (not forgetting) when full."""

    def __init__(self, keep: float = NONCE_SECONDS, limit: int = NONCE_MAX):
        self.keep, self.limit = keep, limit
        self._seen: OrderedDict[str, float] = OrderedDict()  # nonce -> expiry, oldest first

    def add(self, nonce: str, now: float) -> None:
        """Remember a nonce; Replayed (409) if it was seen, Rejected(429) if too many are held."""
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if nonce in self._seen:
            raise Replayed()
        if len(self._seen) >= self.limit:
            raise Rejected(429, "too many triggers to remember; try again later")
        self._seen[nonce] = now + self.keep


class RateLimiter:
    """A token bucket per key (the origin): `rate` per second after a burst of `burst`."""

    def __init__(self, rate: float = RATE, burst: int = BURST, keys: int = 1024):
        self.rate, self.burst, self.keys = rate, burst, keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def allow(self, key: str, now: float) -> bool:
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.keys:
            self._buckets.popitem(last=False)
        return allowed


class Receiver:
    """Checks incoming triggers and hands the good ones to our camera."""

    def __init__(
        self,
        name: str,
        group: str,
        secret: str,
        link: Any,  # CameraLink: .request(cmd, **fields)
        enabled: bool = True,
        clock: Callable[[], float] = time.time,
        limiter: RateLimiter | None = None,
    ):
        self.name, self.group, self.secret, self.link = name, group, secret, link
        self.enabled = enabled
        self.clock = clock
        self.limiter = limiter or RateLimiter()
        self.nonces = NonceCache()
        self.accepted = 0
        self.rejected: dict[int, int] = {}  # status -> count
        self.offsets: dict[str, float] = {}  # origin -> how far its clock is ahead of ours, s
        self._lock = threading.Lock()  # waitress serves requests on many threads

    def handle_trigger(
        self, body: bytes, headers: Mapping[str, str], remote: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """The answer to POST /api/v1/trigger: (HTTP status, JSON body). Never raises."""
        try:
            message = self._check(body, headers)
            reply = self.link.request("trigger", cause="peer", until=message.until,
                                      incident=message.incident, origin=message.origin)
        except Rejected as err:
            status, answer = self._reject(err.status, str(err), remote)
            if isinstance(err, Replayed):  # the sender counts this trigger as delivered
                answer["replayed"] = True
            return status, answer
        except CameraUnavailable as err:
            return self._reject(503, str(err), remote)
        except ControlError as err:
            return self._reject(409, f"the camera refused: {err}", remote)
        with self._lock:
            self.accepted += 1
        log.info("trigger from %s (incident %s) until %.1f s from now: recording %s",
                 message.origin, message.incident, message.until - self.clock(),
                 reply.get("event"))
        return 200, {"accepted": True, "event": reply.get("event"),
                     "incident": reply.get("incident"), "until": message.until}

    def _check(self, body: bytes, headers: Mapping[str, str]) -> TriggerMessage:
        if not self.enabled:
            raise Rejected(404, "cooperation is off on this camera ([peers] enabled = false)")
        if len(body) > MAX_BODY:
            raise Rejected(413, f"the body is larger than {MAX_BODY} bytes")
        header = next((v for k, v in headers.items() if k.lower() == HEADER.lower()), None)
        if not signature_ok(body, header, self.secret):
            raise Rejected(401, f"missing or bad {HEADER} (another secret, or a forgery)")
        message = TriggerMessage.decode(body)
        if message.group != self.group:
            raise Rejected(403, f"group {message.group} is not ours ({self.group})")
        if message.origin == self.name:
            raise Rejected(403, "the origin is this camera itself")
        now = self.clock()
        if abs(now - message.sent_at) > SKEW:
            raise Rejected(403, f"sent_at is {now - message.sent_at:+.1f} s off our clock "
                                f"(more than {SKEW:.0f} s: stale, or a clock is wrong)")
        with self._lock:
            if not self.limiter.allow(message.origin, now):
                raise Rejected(429, f"too many triggers from {message.origin}")
            self.nonces.add(message.nonce, now)
            self.offsets[message.origin] = round(message.sent_at - now, 3)
        lease = message.until - message.sent_at
        if lease <= 0:
            raise Rejected(400, "until is not after sent_at")
        # The lease counts from now on our own clock: a peer's clock a few seconds off (no NTP
        # on an isolated camera LAN, no RTC on a Pi) must neither shorten nor refuse it.
        until = now + min(lease, MAX_LEASE)
        return TriggerMessage(message.incident, message.origin, message.group, until,
                              message.sent_at, message.nonce)

    def _reject(self, status: int, reason: str, remote: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.rejected[status] = self.rejected.get(status, 0) + 1
        # A copy of a trigger already taken is expected (over HTTP and MQTT both, or MQTT's
        # QoS 1 delivering twice) and records nothing: not worth a warning.
        level = logging.INFO if status == 409 else logging.WARNING
        log.log(level, "trigger%s rejected (%d): %s", f" from {remote}" if remote else "",
                status, reason)
        return status, {"error": reason}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"accepted": self.accepted,
                    "rejected": {str(k): v for k, v in sorted(self.rejected.items())},
                    "clock_offsets": dict(sorted(self.offsets.items()))}
