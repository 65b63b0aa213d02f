"""Group triggers at scale: one origin fanning out to 50 peers, side by side with one peer.

The origin is bench_triggers' (a real `Cooperation` on a real `CameraLink` to a stand-in camera
on a real control socket) with static peers. The peers are lightweight: each a real `Receiver`
(signature, clock, rate and nonce checks) behind a small asyncio HTTP/1.1 server that keeps
connections alive as waitress does, ten to a process (a real peer has a CPU of its own: 50
receivers in one interpreter would measure the GIL, and a thread per request this machine's
two cores). A peer's "camera" notes the moment it is asked to record and answers at once: what
is measured is the fan-out and the receivers, not 50 cameras' clip writers (bench_triggers
measures that path with real cameras).
Latency per trigger: from the origin's motion decision to the LAST peer's recording start
(one machine, one wall clock). Cost: the CPU seconds per trigger of the origin's process and of
the peers' processes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from smartcam.config import from_text
from smartcam.coop.receiver import Receiver
from smartcam.coop.sender import MotionLease
from smartcam.coop.worker import Cooperation
from smartcam.host.camlink import CameraLink
from tests.bench.bench_host import cpu_by_pid, cpu_since
from tests.bench.bench_triggers import (
    LEASE_MARGIN,
    ORIGIN,
    SECRET,
    SPACING,
    OriginCamera,
    percentile,
)

PEERS = 50
PROCESSES = 5  # the peers' processes: a real peer has a CPU of its own, not 1/50 of a GIL
EPISODES = 150  # for each of the two: 50 peers, and one peer as the baseline


class NotingCamera:
    """A peer's camera: notes when it is asked to record, and says yes."""

    def __init__(self, name: str, starts: Starts):
        self.name, self.starts = name, starts
        self.connected = True

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        self.starts.note(fields.get("incident", ""), time.time())
        return {"event": fields.get("incident", ""), "incident": fields.get("incident", "")}


class Starts:
    """A peers' process's recording starts: one JSON line per incident on stdout once every
    peer of the process has started (no line, no write, for each start on its way)."""

    def __init__(self, peers: int):
        self.peers = peers
        self.by_incident: dict[str, list[float]] = {}

    def note(self, incident: str, at: float) -> None:
        times = self.by_incident.setdefault(incident, [])
        times.append(at)
        if len(times) == self.peers:
            print(json.dumps({"incident": incident, "at": times}), flush=True)


async def answer(receiver: Receiver, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    """One peer's connection: each request to the real receiver, kept alive like waitress."""
    while await reader.readline():  # the request line: POST /api/v1/trigger HTTP/1.1
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip()] = value.strip()
        body = await reader.readexactly(int(headers.get("Content-Length", 0)))
        status, reply = receiver.handle_trigger(body, headers, remote="127.0.0.1")
        data = json.dumps(reply).encode()
        writer.write(f"HTTP/1.1 {status} -\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    writer.close()


async def serve_peers(first: int, count: int) -> None:
    """A peers' process: their ports on the first line, then a line per incident."""
    starts = Starts(count)
    servers = [await asyncio.start_server(
        functools.partial(answer, Receiver(f"peer{i}", "bench", SECRET,
                                           NotingCamera(f"peer{i}", starts))), "127.0.0.1", 0)
        for i in range(first, first + count)]
    print(json.dumps([s.sockets[0].getsockname()[1] for s in servers]), flush=True)
    await asyncio.to_thread(sys.stdin.read)  # until the bench closes our stdin
    for server in servers:
        server.close()


class Peers:
    """The peers' processes and the starts they report: incident -> [time, ...]."""

    def __init__(self, count: int, processes: int):
        share = count // processes
        self.procs = [subprocess.Popen(
            [sys.executable, "-m", "tests.bench.bench_fanout", str(n * share), str(share)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for n in range(processes)]
        self.ports = [port for proc in self.procs for port in json.loads(proc.stdout.readline())]
        self.by_incident: dict[str, list[float]] = {}
        self.cond = threading.Condition()
        for proc in self.procs:
            threading.Thread(target=self._read, args=(proc,), name="bench-starts",
                             daemon=True).start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            note = json.loads(line)
            with self.cond:
                self.by_incident.setdefault(note["incident"], []).extend(note["at"])
                self.cond.notify_all()

    def wait_all(self, incident: str, timeout: float) -> list[float]:
        """The starts of an incident, once every peer has started or at the timeout (then the
        processes that had not all started are left out: their peers count as missed)."""
        with self.cond:
            self.cond.wait_for(lambda: len(self.by_incident.get(incident, ())) >= len(self.ports),
                               timeout)
            return list(self.by_incident.get(incident, ()))

    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    def close(self) -> None:
        for proc in self.procs:
            proc.stdin.close()
        for proc in self.procs:
            proc.wait(timeout=30)


def run() -> dict[str, Any]:
    """50 peers side by side with one: what the fan-out adds to a trigger's latency and cost."""
    one, fifty = fan_out(1, 1, EPISODES), fan_out(PEERS, PROCESSES, EPISODES)
    return {"one_peer": one, "fifty_peers": fifty,
            "last_peer_p99_vs_one_peer": round(fifty["last_peer_ms"]["p99"]
                                               / one["last_peer_ms"]["p99"], 2),
            "origin_cpu_vs_one_peer": round(fifty["origin_cpu_ms_per_trigger"]
                                            / one["origin_cpu_ms_per_trigger"], 2),
            "target_last_peer_p99_ms": 20}


def fan_out(count: int, processes: int, episodes: int) -> dict[str, Any]:
    peers = Peers(count, processes)
    stop = threading.Event()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
            cfg = from_text(ORIGIN.format(
                dir=tmp, secret=SECRET, static=", ".join(f"127.0.0.1:{p}" for p in peers.ports)))
            origin_cam = OriginCamera(Path(tmp) / "origin.sock")
            link = CameraLink(cfg.camera.control_socket).start()
            coop = Cooperation(cfg, link)
            coop.lease = MotionLease("origin", "bench", cfg.camera.post_record, coop._send,
                                     coop._incident, margin=LEASE_MARGIN)
            worker = threading.Thread(target=coop.run, args=(stop,), name="cooperation")
            worker.start()
            try:
                while not link.connected:
                    time.sleep(0.01)
                time.sleep(1.0)
                figures = measure(origin_cam, peers, episodes)
                figures["posts_per_trigger"] = round(coop.lease.messages / episodes, 1)
                return figures
            finally:
                stop.set()
                worker.join()
                link.close()
                origin_cam.server.close()
    finally:
        peers.close()


def measure(origin_cam: OriginCamera, peers: Peers, episodes: int) -> dict[str, Any]:
    last, all_starts, missed = [], [], 0
    cpu, peers_cpu = time.process_time(), cpu_by_pid(peers.pids())
    for n in range(episodes):
        incident = f"{n + 1:012x}"
        t0 = origin_cam.motion(True, incident)
        got = peers.wait_all(incident, timeout=2.0)
        missed += len(peers.ports) - len(got)
        if got:
            last.append((max(got) - t0) * 1000)
            all_starts += [(t - t0) * 1000 for t in got]
        origin_cam.motion(False)
        time.sleep(max(0.0, t0 + SPACING - time.time()))
    spent = time.process_time() - cpu  # the origin: its link, lease, signing and 50 POSTs
    peers_spent = cpu_since(peers_cpu)
    return {
        "path": f"loopback: motion_start -> host fan-out -> {len(peers.ports)} HTTP POSTs -> "
                f"receivers ({len(peers.procs)} processes) -> recording start",
        "peers": len(peers.ports),
        "triggers": episodes,
        "missed": missed,
        "last_peer_ms": {"p50": round(statistics.median(last), 2),
                         "p99": round(percentile(last, 99), 2), "max": round(max(last), 2)},
        "any_peer_ms": {"p50": round(statistics.median(all_starts), 2),
                        "p99": round(percentile(all_starts, 99), 2)},
        "origin_cpu_ms_per_trigger": round(1000 * spent / episodes, 2),
        "peers_cpu_ms_per_trigger": round(1000 * peers_spent / episodes, 2),
    }


if __name__ == "__main__":
    asyncio.run(serve_peers(int(sys.argv[1]), int(sys.argv[2])))
