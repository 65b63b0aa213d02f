"""The sending side of group triggers: our motion as leases, delivered to every peer at once.

- `MotionLease` turns our camera's motion events into triggers: one at motion start, a
  refresh about every post_record/2 while motion lasts, and a last one at motion end if the
  lease would not cover our own post-roll. The incident is the one our camera's clip carries,
  so the origin's clip and the peers' clips share it.
- `Fanout` posts one message to many peers concurrently, at most one request in flight per
  peer (a newer message replaces one still waiting), each with a short timeout, so a slow or
  dead peer delays nobody, and the camera records on its own motion without waiting for any.
  Its requests go over `Connections`, kept alive, all on one asyncio loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from smartcam.clips.names import new_id
from smartcam.coop.client import Connections
from smartcam.coop.table import Peer
from smartcam.coop.wire import HEADER, TriggerMessage, sign

log = logging.getLogger(__name__)
SEND_TIMEOUT = 2.0  # seconds for one peer, all its addresses together
LEASE_MARGIN = 2.0  # added to post_record in `until`: delivery time and clock differences
MIN_REFRESH = 1.0

Post = Callable[[Peer, bytes, dict[str, str], float], Awaitable[tuple[int, bytes]]]


def taken(status: int, answer: bytes) -> bool:
    """Whether a refusal says the peer took this very trigger already: our nonces are new, so
    a replay is our own copy of it, sent over MQTT too (or a retry of ours), that came first."""
    if status != 409:
        return False
    try:
        return json.loads(answer).get("replayed") is True
    except (ValueError, AttributeError):
        return False


class Fanout:
    """Concurrent delivery of signed messages on an asyncio loop of its own thread; at most one
    request in flight per peer."""

    def __init__(self, secret: str, timeout: float = SEND_TIMEOUT, post: Post | None = None):
        self.secret, self.timeout = secret, timeout
        self._connections = Connections()
        self.post = post or self._connections.post
        self._loop: asyncio.AbstractEventLoop | None = None  # and its thread: from the first send
        self._thread: threading.Thread | None = None
        self._closed = False
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references
        self._busy: set[str] = set()  # peers with a request in flight (on the loop only)
        self._waiting: dict[str, tuple[Peer, bytes, dict[str, str]]] = {}  # and their next
        self._lock = threading.Lock()
        self.sent = 0
        self.delivered = 0
        self.failures = 0
        self.failed: dict[str, str] = {}  # peer -> the last failure, until it answers again

    def send(self, message: TriggerMessage, peers: Sequence[Peer]) -> int:
        """Queue the message to every peer and return at once; how many requests it makes."""
        body = message.encode()
        headers = {"Content-Type": "application/json", HEADER: sign(body, self.secret)}
        with self._lock:
            if self._closed:
                return 0
            self.sent += len(peers)
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="trigger",
                                                daemon=True)
                self._thread.start()
            self._loop.call_soon_threadsafe(self._queue, self._loop, list(peers), body, headers)
        return len(peers)

    def _queue(self, loop: asyncio.AbstractEventLoop, peers: list[Peer], body: bytes,
               headers: dict[str, str]) -> None:
        for peer in peers:
            if peer.name in self._busy:
                self._waiting[peer.name] = (peer, body, headers)  # the newer lease wins
                continue
            self._busy.add(peer.name)
            task = loop.create_task(self._deliver(peer, body, headers))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, peer: Peer, body: bytes, headers: dict[str, str]) -> None:
        while True:
            try:
                status, answer = await self.post(peer, body, headers, self.timeout)
                problem = None if status < 300 or taken(status, answer) else f"answered {status}"
            except Exception as err:  # whatever a peer answers, the next trigger must still go
                problem = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            self._count(peer.name, problem)
            nxt = self._waiting.pop(peer.name, None)
            if nxt is None:
                self._busy.discard(peer.name)
                return
            peer, body, headers = nxt

    def _count(self, name: str, problem: str | None) -> None:
        with self._lock:
            if problem is None:
                self.delivered += 1
                self.failed.pop(name, None)
                return
            self.failures += 1
            if self.failed.get(name) != problem:
                self.failed[name] = problem
                log.warning("trigger to %s failed: %s", name, problem)

    def failing(self) -> dict[str, str]:
        with self._lock:
            return dict(self.failed)

    def close(self) -> None:
        """Stop: what is still in flight is abandoned."""
        async def stop() -> None:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._connections.close()

        with self._lock:
            loop, thread, self._closed = self._loop, self._thread, True
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


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
