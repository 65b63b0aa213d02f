"""Group triggers as they leave: the origin's motion lease and the concurrent fan-out."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import pytest

from smartcam.coop.client import Connections
from smartcam.coop.receiver import Receiver
from smartcam.coop.sender import Fanout, MotionLease
from smartcam.coop.table import Peer
from smartcam.coop.wire import HEADER, TriggerMessage, sign
from smartcam.errors import ControlError
from tests.coop.triggers import SECRET, FakeLink
from tests.net import TriggerServer
from tests.waiting import NOW, Clock, wait_for


class Sent(list):
    def __call__(self, msg: TriggerMessage) -> int:
        self.append(msg)
        return 3  # three peers


def lease(clock: Clock, incidents: list[str | None] | None = None, post: float = 10.0):
    sent = Sent()
    queue = list(incidents or ["c0ffee000001"])

    def incident_of():
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return MotionLease("cam-a", "yard", post, sent, incident_of, clock, margin=2.0), sent


def test_motion_start_sends_one_trigger_with_our_clips_incident():
    clock = Clock()
    origin, sent = lease(clock)
    assert origin.on_event({"event": "motion_start", "score": 3.0})
    origin.step()
    assert len(sent) == 1
    msg = sent[0]
    assert (msg.incident, msg.origin, msg.group) == ("c0ffee000001", "cam-a", "yard")
    assert msg.sent_at == NOW and msg.until == NOW + 10 + 2
    assert origin.messages == 3 and origin.episodes == 1


def test_the_lease_is_refreshed_every_half_post_record_while_motion_lasts():
    clock = Clock()
    origin, sent = lease(clock)  # post_record 10: refresh every 5 s, until = now + 12
    origin.on_event({"event": "motion_start"})
    origin.step()
    times = []
    for _ in range(120):  # 12 s of motion, stepped every 0.1 s, with level events
        clock.advance(0.1)
        if round(clock() - NOW, 1) % 1 == 0:
            origin.on_event({"event": "level", "score": 2.0, "motion": True})
        origin.step()
        times = [round(m.sent_at - NOW, 1) for m in sent]
    assert times == pytest.approx([0.0, 5.0, 10.0], abs=0.25)  # at the first step past due
    assert all(m.until - m.sent_at == pytest.approx(12) for m in sent)
    assert {m.incident for m in sent} == {"c0ffee000001"}
    assert len({m.nonce for m in sent}) == 3
    assert origin.episodes == 1


def test_motion_end_sends_a_last_refresh_only_when_the_lease_would_not_cover_our_post_roll():
    clock = Clock()
    origin, sent = lease(clock)
    origin.on_event({"event": "motion_start"})
    origin.step()
    clock.advance(0.5)
    origin.on_event({"event": "motion_end"})
    origin.step()
    assert len(sent) == 1  # sent 0.5 s ago: until = end + 11.5, covers the 10 s post-roll
    origin.on_event({"event": "motion_start"})
    origin.step()
    clock.advance(4)
    origin.on_event({"event": "motion_end"})
    origin.step()
    assert len(sent) == 2  # 4 s since the last: until would be end + 8 < end + 10
    assert sent[-1].until == clock() + 12
    clock.advance(30)
    assert origin.step() == float("inf") and len(sent) == 2  # quiet: nothing more


def test_motion_back_within_the_same_clip_keeps_the_incident_and_sends_nothing_new():
    clock = Clock()
    origin, sent = lease(clock, ["c0ffee000001"])
    origin.on_event({"event": "motion_start"})
    origin.step()
    clock.advance(1)
    origin.on_event({"event": "motion_end"})
    origin.step()
    clock.advance(1)
    origin.on_event({"event": "motion_start"})
    origin.step()
    assert len(sent) == 1 and origin.episodes == 1


def test_a_new_clip_is_a_new_episode_with_its_own_incident():
    clock = Clock()
    origin, sent = lease(clock, ["c0ffee000001", "c0ffee000002"])
    origin.on_event({"event": "motion_start"})
    origin.step()
    origin.on_event({"event": "motion_end"})
    origin.step()
    clock.advance(60)
    origin.on_event({"event": "motion_start"})
    origin.step()
    assert [m.incident for m in sent] == ["c0ffee000001", "c0ffee000002"]
    assert origin.episodes == 2


def test_without_an_answer_from_our_camera_the_episode_gets_an_incident_of_its_own():
    clock = Clock()
    origin, sent = lease(clock, [None])
    origin.on_event({"event": "level", "score": 4.0, "motion": True})  # no motion_start seen
    origin.step()
    clock.advance(5)
    origin.step()
    assert len(sent) == 2 and sent[0].incident == sent[1].incident
    assert len(sent[0].incident) == 12


def test_level_events_that_agree_wake_nobody():
    origin, _ = lease(Clock())
    assert not origin.on_event({"event": "level", "score": 0.1, "motion": False})
    assert origin.on_event({"event": "motion_start"})
    assert not origin.on_event({"event": "level", "score": 3, "motion": True})
    assert not origin.on_event({"event": "heartbeat", "status": {}})


def test_short_post_record_still_refreshes_before_the_lease_runs_out():
    clock = Clock()
    origin, sent = lease(clock, post=0.0)
    origin.on_event({"event": "motion_start"})
    origin.step()
    for _ in range(50):
        clock.advance(0.1)
        origin.step()
    assert all(b.sent_at < a.until - 0.5 for a, b in zip(sent, sent[1:], strict=False))
    assert len(sent) in (5, 6)  # every MIN_REFRESH = 1 s (at the first step past it), 2 s long


# -- the fan-out -------------------------------------------------------------------------------


def peer(name: str, port: int = 9, address: str = "127.0.0.1") -> Peer:
    return Peer(name, "yard", (address,), port, "/api/v1", "", "", {"mdns": NOW})


def test_one_slow_peer_delays_neither_the_others_nor_the_origin():
    release = threading.Event()
    delivered: dict[str, list[float]] = {}
    start = time.monotonic()

    async def post(p, body, headers, timeout):
        if p.name == "slow":
            await asyncio.to_thread(release.wait, 5)
        delivered.setdefault(p.name, []).append(time.monotonic() - start)
        return 200, b"{}"

    fanout = Fanout(SECRET, post=post)
    try:
        clock = Clock()
        origin = MotionLease("cam-a", "yard", 10, lambda m: fanout.send(
            m, [peer("slow"), peer("b"), peer("c"), peer("d")]), lambda: "c0ffee000001", clock)
        origin.on_event({"event": "motion_start"})
        origin.step()  # returns while "slow" is still stuck: the origin never waits for a peer
        wait_for(lambda: len(delivered) >= 3, timeout=10, what="the fast peers")
        assert sorted(delivered) == ["b", "c", "d"] and not release.is_set()
        clock.advance(5)  # two refreshes while "slow" still hangs: it gets only the newest
        origin.step()
        clock.advance(5)
        origin.step()
        release.set()
        deadline = time.monotonic() + 2
        while fanout.delivered < 11 and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        fanout.close()
    assert [len(delivered[n]) for n in ("b", "c", "d", "slow")] == [3, 3, 3, 2]
    assert fanout.sent == 12 and fanout.delivered == 11


def test_real_http_fanout_with_a_peer_that_never_answers():
    links = [FakeLink() for _ in range(3)]
    receivers = [Receiver(f"cam-{i}", "yard", SECRET, link) for i, link in enumerate(links)]
    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(8)  # accepts connections, never answers
    fanout = Fanout(SECRET, timeout=30.0)
    try:
        with TriggerServer(receivers[0]) as s0, TriggerServer(receivers[1]) as s1, \
                TriggerServer(receivers[2]) as s2:
            targets = [peer("hang", hang.getsockname()[1])] + [
                peer(f"cam-{i}", s.port) for i, s in enumerate((s0, s1, s2))
            ]
            msg = TriggerMessage("c0ffee000001", "cam-a", "yard", time.time() + 12, time.time(),
                                 "0" * 32)
            assert fanout.send(msg, targets) == 4
            wait_for(lambda: all(link.requests for link in links), timeout=10,
                     what="the fast peers")
            assert "hang" not in fanout.failing()  # still waiting for it: nobody waited behind it
            hang.close()  # now it fails, as a dead peer does
            assert all(link.requests[0][1]["origin"] == "cam-a" for link in links)
            deadline = time.monotonic() + 3
            while "hang" not in fanout.failing() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert "hang" in fanout.failing()
    finally:
        fanout.close()
        hang.close()
    assert fanout.delivered == 3


def test_a_dead_address_falls_back_to_the_next_one():
    link = FakeLink()
    with TriggerServer(Receiver("cam-b", "yard", SECRET, link)) as server:
        # the server listens on 127.0.0.1 only: 127.0.0.2 refuses on its port
        target = Peer("cam-b", "yard", ("127.0.0.2", "127.0.0.1"), server.port, "/api/v1", "",
                      "", {})
        msg = TriggerMessage("c0ffee000001", "cam-a", "yard", time.time() + 12, time.time(),
                             "1" * 32)
        body = msg.encode()
        post = Connections(idle=0).post(target, body, {HEADER: sign(body, SECRET)}, 2.0)
        assert asyncio.run(post)[0] == 200
    assert link.requests


@pytest.mark.parametrize("camera_refuses", [False, True])
def test_a_copy_the_peer_took_first_is_delivered_a_camera_that_refuses_is_not(camera_refuses):
    """A trigger also goes over MQTT: when that copy arrives first, the HTTP one is answered 409
    as a replay, and the page must not say the peer is out of reach. The camera refusing to
    record is a 409 too, and is a failure."""
    link = FakeLink(ControlError("the spool failed") if camera_refuses else None)
    receiver = Receiver("cam-b", "yard", SECRET, link)
    msg = TriggerMessage("c0ffee000001", "cam-a", "yard", time.time() + 12, time.time(), "2" * 32)
    body = msg.encode()
    if not camera_refuses:  # the MQTT copy, first
        assert receiver.handle_trigger(body, {HEADER: sign(body, SECRET)})[0] == 200
    fanout = Fanout(SECRET)
    try:
        with TriggerServer(receiver) as server:
            fanout.send(msg, [peer("cam-b", server.port)])
            wait_for(lambda: fanout.delivered + fanout.failures, timeout=10, what="an answer")
    finally:
        fanout.close()
    assert receiver.rejected == {409: 1}
    if camera_refuses:
        assert fanout.failing() == {"cam-b": "answered 409"}
    else:
        assert fanout.delivered == 1 and fanout.failing() == {}


class OddPeer:
    """A peer on one address that first answers with `first`, then like a camera."""

    def __init__(self, first: bytes):
        self.first, self.served = first, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                conn.sendall(self.first if self.served == 0 else ok)
                self.served += 1

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() in the thread
        self.sock.close()
        self.thread.join()


@pytest.mark.parametrize("first", [
    b"garbage without a status line\r\n\r\n",  # BadStatusLine
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",  # cut short: IncompleteRead
    b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 70000 + b"\r\n\r\n",  # LineTooLong
])
def test_a_garbled_answer_is_a_failure_and_the_next_trigger_still_goes(first):
    peer_server = OddPeer(first)
    fanout = Fanout(SECRET, timeout=2.0)
    peer = Peer("cam-b", "yard", ("127.0.0.1",), peer_server.port, "/api/v1", "", "", {})
    try:
        msg = TriggerMessage("aabbccddeeff", "cam-a", "yard", NOW + 12, NOW, "1" * 32)
        fanout.send(msg, [peer])
        failing = wait_for(lambda: fanout.failing(), what="the failure to be counted")
        assert "cam-b" in failing and fanout.failures == 1
        fanout.send(TriggerMessage("aabbccddeeff", "cam-a", "yard", NOW + 12, NOW, "2" * 32),
                    [peer])
        wait_for(lambda: fanout.delivered == 1, what="the next trigger to get through")
        assert fanout.failing() == {} and peer_server.served == 2
    finally:
        fanout.close()
        peer_server.close()


def test_a_bad_api_path_in_an_announcement_is_not_a_peer():
    from zeroconf import ServiceInfo

    from smartcam.coop.mdns import SERVICE, sighting_of

    def info(**props):
        return ServiceInfo(SERVICE, f"x.{SERVICE}", addresses=[socket.inet_aton("192.0.2.5")],
                           port=80, properties=props, server="x.local.")

    assert sighting_of(info(name="cam-b", group="yard", api="/api/v1"), NOW) is not None
    for bad in ({"api": "/api v1"}, {"api": "http://evil/"}, {"name": "Cam B"},
                {"group": "../x"}, {"name": ""}):
        props = {"name": "cam-b", "group": "yard", "api": "/api/v1", **bad}
        assert sighting_of(info(**props), NOW) is None, bad


class ScriptedPeer:
    """A peer on one address that answers 200 and keeps the connection open, except where its
    script says, by the request's number on its connection: "close" without answering, or
    "answer-close" (answer, then close without saying so, as an idle timeout does)."""

    def __init__(self, script: dict[int, str]):
        self.script, self.connections, self.requests = script, 0, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.threads = [threading.Thread(target=self._accept)]
        self.threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.threads.append(threading.Thread(target=self._serve, args=(conn,)))
            self.threads[-1].start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as stream:
            number = 0
            while stream.readline():
                length = 0
                while (line := stream.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                stream.read(length)
                number += 1
                self.requests += 1
                action = self.script.get(number, "answer")
                if action == "close":
                    return
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                if action == "answer-close":
                    return

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for thread in self.threads:
            thread.join(timeout=5)


def deliver_twice(script: dict[int, str]) -> tuple[Fanout, ScriptedPeer]:
    """Two triggers, one after the other, to a peer acting out the script."""
    peer_server = ScriptedPeer(script)
    fanout = Fanout(SECRET, timeout=2.0)
    peer = Peer("cam-b", "yard", ("127.0.0.1",), peer_server.port, "/api/v1", "", "", {})
    try:
        for n in (1, 2):
            fanout.send(TriggerMessage("aabbccddeeff", "cam-a", "yard", NOW + 12, NOW,
                                       f"{n}" * 32), [peer])
            wait_for(lambda n=n: fanout.delivered + fanout.failures == n, what=f"trigger {n}")
            time.sleep(0.05)  # the peer's "close" reaches the sender's loop
    finally:
        fanout.close()
        peer_server.close()
    return fanout, peer_server


def test_triggers_to_a_peer_share_one_kept_connection():
    fanout, peer_server = deliver_twice({})
    assert fanout.delivered == 2 and fanout.failures == 0
    assert (peer_server.connections, peer_server.requests) == (1, 2)


def test_a_connection_the_peer_closed_while_idle_is_not_used_again():
    fanout, peer_server = deliver_twice({1: "answer-close"})
    assert fanout.delivered == 2 and fanout.failures == 0
    assert (peer_server.connections, peer_server.requests) == (2, 2)


def test_a_kept_connection_that_fails_at_once_gets_the_request_again_on_a_new_one():
    fanout, peer_server = deliver_twice({2: "close"})  # closed as the second request came
    assert fanout.delivered == 2 and fanout.failures == 0
    assert (peer_server.connections, peer_server.requests) == (2, 3)


def test_a_new_connection_that_fails_is_a_failure_and_never_sent_twice():
    fanout, peer_server = deliver_twice({1: "close"})
    assert fanout.delivered == 0 and fanout.failures == 2
    assert (peer_server.connections, peer_server.requests) == (2, 2)
