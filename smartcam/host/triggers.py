"""Group triggers: signed HTTP messages that make every camera of a group record together.

Wire format (contract, DESIGN.md): `POST /api/v1/trigger` with the JSON body
`{incident, origin, group, until, sent_at, nonce}` and the header
`X-Smartcam-Signature: sha256=<hex>`, an HMAC-SHA256 of the exact body bytes keyed with the
group secret. `until` and `sent_at` are unix times (wall clock, seconds).

- `Receiver.handle_trigger` checks, in this order: size, signature, shape, group, origin is not
  us, clock skew, per-origin rate, replayed nonce, until ahead; then asks our camera to record
  (cause "peer") until `until`. It never forwards a trigger. Each rejection is one log line
  and a 4xx with a JSON message; nothing reaches the camera.
- `MotionLease` turns our camera's motion events into triggers: one at motion start, a
  refresh about every post_record/2 while motion lasts, and a last one at motion end if the
  lease would not cover our own post-roll. The incident is the one our camera's clip carries,
  so the origin's clip and the peers' clips share it.
- `Fanout` posts one message to many peers concurrently, at most one request in flight per
  peer (a newer message replaces one still waiting), each with a short timeout, so a slow or
  dead peer delays nobody, and the camera records on its own motion without waiting for any.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import math
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from smartcam.camera.clipinfo import new_id
from smartcam.errors import ControlError
from smartcam.host.camlink import CameraUnavailable

if TYPE_CHECKING:
    from smartcam.host.peers import Peer

log = logging.getLogger(__name__)
HEADER = "X-Smartcam-Signature"
PATH = "trigger"  # under the peer's api prefix: /api/v1/trigger
MAX_BODY = 4096
SKEW = 30.0  # seconds of clock difference tolerated between origin and receiver
NONCE_SECONDS = 2 * SKEW + 5  # a nonce is remembered past the time any copy could pass the skew
NONCE_MAX = 20_000
MAX_LEASE = 660.0  # a trigger never makes us record longer than this from now
RATE = 5.0  # triggers per second per origin, sustained ...
BURST = 10  # ... after a burst of this many
SEND_TIMEOUT = 2.0  # seconds for one peer, all its addresses together
LEASE_MARGIN = 2.0  # added to post_record in `until`: delivery time and clock differences
MIN_REFRESH = 1.0
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
ID = re.compile(r"[0-9a-f]{8,32}")


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(body: bytes, header: str | None, secret: str) -> bool:
    return bool(header) and hmac.compare_digest(sign(body, secret), str(header).strip())


@dataclass(frozen=True)
class TriggerMessage:
    incident: str
    origin: str
    group: str
    until: float
    sent_at: float
    nonce: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def decode(cls, body: bytes) -> TriggerMessage:
        """The message in a body, or Rejected(400) saying what is wrong with it."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as err:
            raise Rejected(400, f"the body is not JSON: {err}") from err
        if not isinstance(data, dict):
            raise Rejected(400, "the body must be a JSON object")
        for key, pattern in (("incident", ID), ("origin", NAME), ("group", NAME), ("nonce", ID)):
            if not isinstance(data.get(key), str) or not pattern.fullmatch(data[key]):
                raise Rejected(400, f"{key} must be a string matching {pattern.pattern}")
        for key in ("until", "sent_at"):
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Rejected(400, f"{key} must be a unix time in seconds")
            if not math.isfinite(value):
                raise Rejected(400, f"{key} must be finite")
        return cls(data["incident"], data["origin"], data["group"], float(data["until"]),
                   float(data["sent_at"]), data["nonce"])


class Rejected(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class NonceCache:
    """Nonces seen in the last NONCE_SECONDS; bounded, refusing (not forgetting) when full."""

    def __init__(self, keep: float = NONCE_SECONDS, limit: int = NONCE_MAX):
        self.keep, self.limit = keep, limit
        self._seen: OrderedDict[str, float] = OrderedDict()  # nonce -> expiry, oldest first

    def add(self, nonce: str, now: float) -> None:
        """Remember a nonce; Rejected(409) if it was seen, 429 if too many are held."""
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if nonce in self._seen:
            raise Rejected(409, "replayed trigger (this nonce was already used)")
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
            return self._reject(err.status, str(err), remote)
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
        if message.until <= now:
            raise Rejected(400, "until is not in the future")
        if message.until > now + MAX_LEASE:
            message = TriggerMessage(message.incident, message.origin, message.group,
                                     now + MAX_LEASE, message.sent_at, message.nonce)
        return message

    def _reject(self, status: int, reason: str, remote: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.rejected[status] = self.rejected.get(status, 0) + 1
        log.warning("trigger%s rejected (%d): %s", f" from {remote}" if remote else "", status,
                    reason)
        return status, {"error": reason}

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"accepted": self.accepted,
                    "rejected": {str(k): v for k, v in sorted(self.rejected.items())}}


# -- the origin's side -------------------------------------------------------------------------

Post = Callable[["Peer", bytes, dict[str, str], float], int]


def http_post(peer: Peer, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST the body to the peer's trigger URL, trying its addresses in order; the status.

    http.client, not urllib: an http_proxy in the environment must never see a trigger.
    """
    deadline = time.monotonic() + timeout
    error: OSError | None = None
    for address in peer.addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        host, port, path = peer.url(address, PATH)
        conn = http.client.HTTPConnection(host, port, timeout=left)
        try:
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            response.read()
            return response.status
        except OSError as err:
            error = err
        finally:
            conn.close()
    raise error or TimeoutError(f"no address of {peer.name} answered in {timeout} s")


class Fanout:
    """Concurrent delivery of signed messages; at most one request in flight per peer."""

    def __init__(self, secret: str, timeout: float = SEND_TIMEOUT, workers: int = 32,
                 post: Post = http_post):
        self.secret, self.timeout, self.post = secret, timeout, post
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trigger")
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._waiting: dict[str, tuple[Peer, bytes, dict[str, str]]] = {}
        self.sent = 0
        self.delivered = 0
        self.failed: dict[str, str] = {}  # peer -> the last failure, until it answers again

    def send(self, message: TriggerMessage, peers: Sequence[Peer]) -> int:
        """Queue the message to every peer and return at once; how many requests it makes."""
        body = message.encode()
        headers = {"Content-Type": "application/json", HEADER: sign(body, self.secret)}
        for peer in peers:
            with self._lock:
                if peer.name in self._busy:
                    self._waiting[peer.name] = (peer, body, headers)  # the newer lease wins
                    continue
                self._busy.add(peer.name)
            self._pool.submit(self._deliver, peer, body, headers)
        with self._lock:
            self.sent += len(peers)
        return len(peers)

    def _deliver(self, peer: Peer, body: bytes, headers: dict[str, str]) -> None:
        while True:
            try:
                status = self.post(peer, body, headers, self.timeout)
                problem = None if status < 300 else f"answered {status}"
            except OSError as err:
                problem = str(err) or type(err).__name__
            with self._lock:
                if problem is None:
                    self.delivered += 1
                    self.failed.pop(peer.name, None)
                elif self.failed.get(peer.name) != problem:
                    self.failed[peer.name] = problem
                    log.warning("trigger to %s failed: %s", peer.name, problem)
                nxt = self._waiting.pop(peer.name, None)
                if nxt is None:
                    self._busy.discard(peer.name)
                    return
            peer, body, headers = nxt

    def failing(self) -> dict[str, str]:
        with self._lock:
            return dict(self.failed)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class MotionLease:
    """Our motion episodes as triggers to the group: start, refresh while it lasts, last one."""

    def __init__(
        self,
        name: str,
        group: str,
        post_record: float,
        send: Callable[[TriggerMessage], int],
        incident_of: Callable[[], str | None],
        clock: Callable[[], float] = time.time,
        margin: float = LEASE_MARGIN,
    ):
        self.name, self.group, self.post_record = name, group, post_record
        self.send, self.incident_of, self.clock = send, incident_of, clock
        self.margin = margin
        self.length = post_record + margin  # how far ahead `until` reaches
        # about every post_record/2, never so rarely that a lease could run out in between
        self.refresh_every = min(max(post_record / 2, MIN_REFRESH), self.length / 2)
        self.incident = ""
        self.lease_until = 0.0
        self.last_sent = -math.inf
        self.episodes = 0
        self.messages = 0  # requests made, over all peers
        self.sends = 0  # messages signed (each to every peer)
        self._lock = threading.Lock()
        self._motion = self._start = self._end = False

    def on_event(self, event: Mapping[str, Any]) -> bool:
        """Note a camera event (on the link's thread: no I/O); True if step() has work."""
        kind = event.get("event")
        with self._lock:
            if kind == "level":
                kind = "motion_start" if event.get("motion") else "motion_end"
                if bool(event.get("motion")) == self._motion:
                    return False  # the level only confirms what we know
            if kind == "motion_start":
                self._motion = self._start = True
            elif kind == "motion_end":
                self._motion, self._end = False, True
            else:
                return False
        return True

    def step(self) -> float:
        """Send what is due (may ask the camera for its incident); seconds until the next."""
        now = self.clock()
        with self._lock:
            motion, start, end = self._motion, self._start, self._end
            self._start = self._end = False
        if start:
            incident = self.incident_of() or (self.incident if now < self.lease_until else "")
            if incident != self.incident or not incident:
                self.incident = incident or new_id()
                self.episodes += 1
                self._send(now)
            elif now - self.last_sent >= self.refresh_every or (
                self.lease_until < now + self.post_record
            ):
                self._send(now)
        elif motion and now - self.last_sent >= self.refresh_every:
            self._send(now)
        if end and not motion and self.incident and (
            self.lease_until < now + self.post_record + self.margin / 2
        ):
            self._send(now)  # the peers keep recording as long as our own post-roll
        return max(0.0, self.last_sent + self.refresh_every - now) if motion else math.inf

    def _send(self, now: float) -> None:
        until = now + self.length
        message = TriggerMessage(self.incident, self.name, self.group, round(until, 3),
                                 round(now, 3), secrets.token_hex(16))
        self.lease_until, self.last_sent = until, now
        self.sends += 1
        self.messages += self.send(message)

    def stats(self) -> dict[str, Any]:
        return {"episodes": self.episodes, "sends": self.sends, "messages": self.messages,
                "incident": self.incident or None, "lease_until": self.lease_until or None}
