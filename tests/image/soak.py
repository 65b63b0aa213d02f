"""The soak on the qemu rig: a real share, a real cifs client, faults in a random order.

    make soak-rig                                  # 20 minutes of faults; JSON on stdout
    .venv/bin/python -m tests.image.soak --minutes 60 --seed 3 --keep /var/tmp/rig-soak

One card boots as a camera whose scene has people walking by (so it records by itself), with its
share on Samba on this machine's loopback (tests/image/samba.py). Until the time is up (and at
least one of each), one fault after another, each mended before the next:

  frozen    every smbd process stopped (a NAS that hangs: nothing answers, nothing resets)
  stopped   smbd gone (a NAS rebooting: each mount fails at once)
  link      the camera's network down (Wi-Fi dropped)
  powercut  a clip's files deleted on the server right after its upload (what the NAS held
            only in memory when its power went)

The page's health is timed through nginx every two seconds while the faults last. Then the
reckoning: every clip the camera says it finished ("clip ready" in its journal) must be on the
share, whole (its sha256 is its sidecar's); none dropped or rejected; no unit restarted. Exit 1
when a goal is missed. The same faults, once each, run in `make test` (test_card.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.image import card, samba, standin, vm
from tests.image.booted import clips, conf, get_json, page_up, timed
from tests.image.conftest import unavailable
from tests.roles import package
from tests.waiting import wait_for

UNITS = "smartcam-host smartcam-camera nginx mnt-nas.automount"
FAULTS = ("frozen", "stopped", "link", "powercut")


def boot(scratch: Path) -> tuple[samba.Samba, vm.Guest]:
    (scratch / "ansible-tmp").mkdir(exist_ok=True)
    key = scratch / "id_ed25519"
    key.unlink(missing_ok=True)
    key.with_suffix(".pub").unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    tree = standin.build_image(package.build(scratch / "dist"), standin.wheelhouse(),
                               scratch) / "tree"  # fmt: skip
    image = card.assemble(tree, scratch / "smartcam.img")
    card.configure(image, {**conf("porch", key, "walkers"), "peers": {"enabled": "false"}})
    nas = samba.Samba(scratch / "nas")
    nas.start()
    guest = vm.Guest("porch", image, standin.kernel(tree), nas.port, key)
    guest.start()
    guest.wait_ssh(timeout=1200)
    wait_for(lambda: clips(nas, "porch"), timeout=1200, what="the first clip", poll=5)
    return nas, guest


def watch_page(guest: vm.Guest, seconds: float) -> list[float]:
    """Health through nginx every two seconds for `seconds`: each answer's time (30: none)."""
    took, ends = [], time.monotonic() + seconds
    while time.monotonic() < ends:
        status, spent = timed(guest, "/api/v1/health", timeout=30)
        took.append(spent if status == 200 else 30.0)
        time.sleep(2)
    return took


def fault(kind: str, nas: samba.Samba, guest: vm.Guest, seconds: float) -> dict:
    """Break one thing for `seconds`, mend it; what the page did meanwhile."""
    on_the_nas = {"frozen": (nas.freeze, nas.thaw), "stopped": (nas.stop, nas.start)}
    if kind in on_the_nas:
        breaks, mends = on_the_nas[kind]
        breaks()
        try:
            return {"health_seconds": watch_page(guest, seconds)}
        finally:
            mends()
    if kind == "link":  # scheduled in the guest: its SSH and page go over the same link
        guest.ssh(f"systemd-run --on-active=1 sh -c 'ip link set enp0s3 down; "
                  f"sleep {seconds:.0f}; ip link set enp0s3 up'")
        time.sleep(seconds)
        wait_for(lambda: page_up(guest), timeout=300, what="the page over the link", poll=5)
        return {}
    known = {side for side in nas.path.glob("porch/*/*.json")}
    new = wait_for(lambda: set(nas.path.glob("porch/*/*.json")) - known, timeout=600,
                   what="an upload to cut the power after", poll=0.5)  # fmt: skip
    stem = next(iter(new)).stem
    for lost in nas.path.glob(f"porch/*/{stem}.*"):
        lost.unlink()
    return {"clip": stem}


def recorded(guest: vm.Guest) -> list[str]:
    """The videos the camera finished, from its journal."""
    log = guest.ssh("journalctl -u smartcam-camera --no-pager -o cat | grep 'clip ready: '",
                    check=False, timeout=300)  # fmt: skip
    return [line.split("clip ready: ", 1)[1].split(" ", 1)[0] for line in log.splitlines()
            if "clip ready: " in line]


def reckon(nas: samba.Samba, guest: vm.Guest, restarts: list[str]) -> dict:
    made = recorded(guest)

    def missing() -> list[str]:
        here = {Path(d["video"]).name: (video, d) for video, d in clips(nas, "porch")}
        return [name for name in made if name not in here or hashlib.sha256(
            here[name][0].read_bytes()).hexdigest() != here[name][1]["sha256"]]

    try:  # the last clips are still being uploaded, or uploaded again
        wait_for(lambda: not missing(), timeout=900, what="every clip on the share", poll=10)
    except AssertionError:
        pass
    storage = get_json(guest, "/api/v1/health")["storage"]
    return {"recorded": len(made), "lost": missing(), "dropped": storage["dropped"],
            "rejected": storage["rejected"], "reuploaded": storage["reuploaded"],
            "restarted": guest.ssh(f"systemctl show -p NRestarts --value {UNITS}").split()
            != restarts}


def soak(minutes: float, seed: int, scratch: Path) -> dict:
    nas, guest = boot(scratch)
    try:
        restarts = guest.ssh(f"systemctl show -p NRestarts --value {UNITS}").split()
        rng, done = random.Random(seed), []
        ends = time.monotonic() + minutes * 60
        order = list(FAULTS)  # each fault once first, then at random
        while time.monotonic() < ends or order:
            kind = order.pop(0) if order else rng.choice(FAULTS)
            seconds = rng.uniform(30, 120)
            started = time.monotonic()
            seen = fault(kind, nas, guest, seconds)
            took = seen.pop("health_seconds", [])
            done.append({"fault": kind, "seconds": round(time.monotonic() - started, 1),
                         **seen, **({"health_slowest_seconds": max(took)} if took else {})})
            watch_page(guest, rng.uniform(20, 60))  # the camera records between faults
        result = reckon(nas, guest, restarts)
        result["faults"] = done
        result["ok"] = not (result["lost"] or result["dropped"] or result["rejected"]
                            or result["restarted"]
                            or any(f.get("health_slowest_seconds", 0) >= 30 for f in done))
        return result
    finally:
        guest.poweroff()
        nas.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.image.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="how long to break things, one of each first (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="the fault script's random seed")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="work in DIR and keep it")
    args = parser.parse_args()
    if reason := unavailable():
        print(f"cannot soak on the rig here: {reason}", file=sys.stderr)
        return 2
    scratch = args.keep or Path(tempfile.mkdtemp(prefix="smartcam-rig-soak-", dir="/var/tmp"))
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        result = soak(args.minutes, args.seed, scratch)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
