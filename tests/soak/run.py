"""One soak: the site built on the stage, watched, broken by the fault script, drained, reckoned.

Three cameras with their hosts in network namespaces (tests/net/site.py): cam-a and cam-b watch
the synthetic walkers (someone crosses every 20 s), cam-c an empty yard and only records for the
group; cam-c's clock is the one stepped. They share a NAS on a real mounted filesystem
(type = mount) and each has its spool on a tmpfs (tests/soak/stage.py). A peer that answers
garbage sits in every camera's [peers] static, and a live viewer watches each host's page.
"""

from __future__ import annotations

import random
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.net import netns
from tests.net.site import BRIDGE, PORT, Site, wait_for
from tests.soak import reconcile
from tests.soak.faults import Faults, Window, wait_until
from tests.soak.stage import Stage
from tests.soak.watch import Memory, Recordings, Viewer

SCENES = {"a": "walkers", "b": "walkers", "c": "empty"}
CLOCKED = "c"
GARBAGE_PORT = 8099
GAP = (5.0, 20.0)  # seconds between faults after the first round
DRAIN = 180.0  # seconds the hosts get to upload what is left once the cameras stop


def say(line: str) -> None:
    print(f"soak {time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


class GarbagePeer:
    """A 'peer' that answers every trigger with something that is not HTTP, or half of it."""

    ANSWERS = (b"HTTP/1.1 ???\r\n\r\n", b"\x00\xffnot http at all\r\n\r\n",
               b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"ok', b"")

    def __init__(self) -> None:
        self.connections = 0
        self.halt = threading.Event()

    def run(self) -> None:
        with socket.create_server((BRIDGE, GARBAGE_PORT)) as server:
            server.settimeout(0.5)
            while not self.halt.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.settimeout(2)
                    try:
                        conn.recv(65536)
                        conn.sendall(self.ANSWERS[self.connections % len(self.ANSWERS)])
                    except OSError:
                        pass
                self.connections += 1


def soak(root: Path, minutes: float, seed: int = 1) -> dict[str, Any]:
    """Run it; the report (reconcile.reckon's, and what else was measured)."""
    stage = Stage(root, list(SCENES))
    lab = netns.Lab(f"sk{seed % 100}x{time.time_ns() % 10000}")
    halts: list[threading.Event] = []
    try:
        stage.build()
        site = Site.wired(lab, root, SCENES, nas=stage.nas, nas_type="mount",
                          peers=f"static = {BRIDGE}:{GARBAGE_PORT}\n",
                          env={CLOCKED: stage.clock_env(CLOCKED)})
        garbage = GarbagePeer()
        lab.start("br", garbage.run)
        halts.append(garbage.halt)
        recordings = Recordings({x: stage.spool(x) for x in SCENES})
        recordings.start()
        halts.append(recordings.halt)

        began = time.time()
        faults = Faults(site, stage, random.Random(seed), say)
        settling = Window("settling", "*", began)  # until they have found each other
        faults.windows.append(settling)
        site.start()
        for x in SCENES:
            faults.wait_known(x)
        settling.end = time.time()
        say(f"site up in {settling.end - began:.0f} s; faults begin")

        memory = Memory(lambda: processes(site))
        memory.start()
        halts.append(memory.halt)
        viewers = {x: Viewer(lambda x=x: site.address[x], PORT) for x in SCENES}
        for viewer in viewers.values():
            lab.start("br", viewer.run)
            halts.append(viewer.halt)

        run_faults(faults, began + minutes * 60)
        # The last fault may have restarted a host, and a host counts its failing peers from its
        # first trigger on: until each walker's host has sent one again.
        wait_until(lambda: all(site.peers_json(x)["triggers"]["failing"]
                               for x, scene in SCENES.items() if scene == "walkers"), 45)
        stopping = Window("stopping", "*", time.time() - 1)
        faults.windows.append(stopping)
        coop = {f"cam-{x}": site.peers_json(x) for x in SCENES}
        drain(site, stage)
        stopping.end = time.time()
        recordings.look()
        for halt in halts:
            halt.set()

        return report(site, stage, faults, seed, began, recordings=recordings, memory=memory,
                      viewers=viewers, garbage=garbage, coop=coop)
    finally:
        for halt in halts:
            halt.set()
        lab.close()
        stage.close()


def report(site: Site, stage: Stage, faults: Faults, seed: int, began: float, *,
           recordings: Recordings, memory: Memory, viewers: dict[str, Viewer],
           garbage: GarbagePeer, coop: dict[str, Any]) -> dict[str, Any]:
    """The reckoning, then the bare mount point (with the NAS unmounted) and the rest."""
    out = {"soak_seconds": round(time.time() - began), "seed": seed,
           "faults": dict(Counter(w.kind for w in faults.windows
                                  if w.kind not in ("settling", "stopping")))}
    out.update(reconcile.reckon(evidence(site, stage, recordings, faults)))
    stage.unmount_nas()
    bare = stage.bare_files()
    out["bare_mount_point_bytes"] = sum(bare.values())
    out["bare_mount_point_files"] = sorted(bare)[:20]
    out["memory_growth"] = memory.growth()
    out["viewers"] = {f"cam-{x}": v.as_dict() for x, v in viewers.items()}
    out["garbage_peer"] = {"connections": garbage.connections,
                           "failing_on": sorted(n for n, c in coop.items()
                                                if c["triggers"]["failing"])}
    out["triggers"] = {n: c["triggers"] for n, c in coop.items()}
    out["fault_windows"] = faults.as_list()
    out["goals_met"] = goals_met(out)
    return out


def run_faults(faults: Faults, deadline: float) -> None:
    """Every fault once, then faults at random until the deadline."""
    for fault in faults.round():
        fault()
        time.sleep(2)
    while time.time() < deadline:
        faults.rng.choice(faults.round())()
        time.sleep(min(faults.rng.uniform(*GAP), max(0.0, deadline - time.time())))


def drain(site: Site, stage: Stage) -> None:
    """Cameras stopped as systemd would (the clip under way is finished), then the hosts get
    until everything waiting is on the NAS."""
    for x in SCENES:
        site.lab.end(site.cameras[x])
    say("cameras stopped; waiting for the uploads")
    try:
        wait_for(lambda: all(not reconcile.left_in(stage.spool(x))[0] for x in SCENES),
                 "every spool is empty", DRAIN, site)
    except AssertionError as err:
        say(str(err).splitlines()[0])  # what is left is reported as stuck
    for x in SCENES:
        site.lab.end(site.hosts[x])


def evidence(site: Site, stage: Stage, recordings: Recordings,
             faults: Faults) -> reconcile.Evidence:
    nas, corrupt = reconcile.nas_clips(stage.nas)
    e = reconcile.Evidence(tuple(f"cam-{x}" for x in SCENES), dict(recordings.started), nas,
                           corrupt, windows=faults.windows)
    for x in SCENES:
        for program in ("camera", "host"):
            empty, dropped = reconcile.from_logs(
                (site.dir(x) / f"{program}.log").read_text(errors="replace"))
            e.empty |= empty
            e.dropped |= dropped
        stuck, rejected = reconcile.left_in(stage.spool(x))
        e.stuck |= stuck
        e.rejected |= rejected
    return e


def processes(site: Site) -> dict[str, int]:
    out = {f"cam-{x} camera": p.pid for x, p in site.cameras.items() if p.poll() is None}
    out.update({f"cam-{x} host": p.pid for x, p in site.hosts.items() if p.poll() is None})
    return out


def goals_met(report: dict[str, Any]) -> bool:
    """Nothing lost, silently or with an error (the faults never leave the spool too small for
    the NAS's absence), nothing corrupt or stuck, nothing on the SD card, nobody silenced."""
    return all(report[key] == 0 for key in (
        "lost", "dropped_with_error", "rejected_with_error", "corrupt", "stuck_in_spool",
        "bare_mount_point_bytes")) and report["peer_triggers"]["missed"] == 0
