"""`smartcam demo`: a simulated fleet on this machine, everything under ./demo/.

Two cameras, each a real camera process and a real host process, as on two Pis:
  yard    a synthetic scene: someone walks by every 20 s, light changes in between
  plaza   real footage (Debian's opencv-doc vtest.avi: pedestrians), looped
Their pages are on http://127.0.0.1:8081 and :8082, and a local folder stands in for the NAS.
They are one group: when one sees motion, both record, and their clips share an incident id.
Each clip is printed as it lands. With `mosquitto` installed, a broker on 127.0.0.1:18830 takes
what the cameras say over MQTT (as Home Assistant would see it).
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartcam.config import load
from smartcam.control.client import ControlClient
from smartcam.demo.footage import FootageError, footage_path

CONF = """\
# smartcam demo camera {name}: written by `smartcam demo`; edit, then run the demo again.
[camera]
name = {name}
group = demo
source = {source}
resolution = {resolution}
fps = {fps}
bitrate = 2M
pre_record = 3
post_record = 4
max_clip = 60
control_socket = {dir}/run/control.sock
live_path = {dir}/run/live.jpg

[storage]
spool = {dir}/spool
nas = {nas}
type = local
retention_days = 7

[web]
listen = 127.0.0.1:{port}
video_listen = 127.0.0.1:{video_port}
{motion}
[peers]
# One group: motion in either camera makes both record, each with its own pre-roll.
enabled = true
secret = {secret}
port = {port}
# mDNS stays on loopback (multicast is switched on for lo when the demo may); the static
# peers find each other even where it is not.
interfaces = 127.0.0.1
static = {peers}
{mqtt}"""


DEMO_SECRET = "demo-only-secret-0123456789"  # a real group gets its own: openssl rand -hex 16
MQTT_PORT = 18830  # not 1883: a broker of the machine's own may be there
MASTER_PORT = 8443

MASTER_CONF = """\
# smartcam demo master: written by `smartcam demo`. HTTPS on 127.0.0.1:{https} (nginx, with a
# self-signed certificate), the app itself on 127.0.0.1:{app}.
[master]
enabled = true
listen = 127.0.0.1:{app}
https_listen = 127.0.0.1:{https}
http_listen = 127.0.0.1:{http}
url = https://127.0.0.1:{https}
state_dir = {dir}/state

[storage]
nas = {nas}
type = local

[peers]
enabled = false
interfaces = 127.0.0.1
static = {cameras}
"""


@dataclass(frozen=True)
class DemoCamera:
    name: str
    source: str
    resolution: str
    fps: int
    port: int
    motion: str = ""  # a [motion] section of its own, if any


def cameras() -> list[DemoCamera]:
    yard = DemoCamera("yard", "synthetic:walkers", "1280x720", 15, 8081)
    try:
        # The plaza is never empty: only its busiest moments count, or it would keep the
        # whole group recording all the time.
        busy = "\n[motion]\nmin_area = 4\nmin_frames = 5\n"
        plaza = DemoCamera("plaza", f"file:{footage_path()}", "768x576", 10, 8082, busy)
    except FootageError as err:  # not on Debian: a second synthetic camera instead
        print(f"no real footage ({err}); using a second synthetic scene", file=sys.stderr)
        plaza = DemoCamera("plaza", "synthetic:walkers", "640x480", 10, 8082)
    return [yard, plaza]


def start_broker(directory: Path, procs: list[subprocess.Popen[bytes]]) -> bool:
    """Mosquitto on loopback for the cameras' MQTT, if it is installed."""
    mosquitto = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/sbin")
    if mosquitto is None:
        return False
    home = (directory / "mqtt").resolve()
    home.mkdir(parents=True, exist_ok=True)
    conf = home / "mosquitto.conf"
    conf.write_text(f"# written by `smartcam demo`\nlistener {MQTT_PORT} 127.0.0.1\n"
                    f"allow_anonymous true\npersistence false\nuser {getpass.getuser()}\n")
    with open(home / "mosquitto.log", "ab") as log:
        procs.append(subprocess.Popen([mosquitto, "-c", str(conf)], stdout=log,
                                      stderr=subprocess.STDOUT))
    return True


def write_config(directory: Path, camera: DemoCamera, fleet: list[DemoCamera],
                 mqtt: bool = False) -> Path:
    home = (directory / camera.name).resolve()
    home.mkdir(parents=True, exist_ok=True)
    conf = home / "smartcam.conf"
    peers = ", ".join(f"127.0.0.1:{other.port}" for other in fleet if other is not camera)
    conf.write_text(CONF.format(
        name=camera.name, source=camera.source, resolution=camera.resolution, fps=camera.fps,
        dir=home, nas=(directory / "nas").resolve(), port=camera.port, peers=peers,
        video_port=camera.port + 100,
        secret=DEMO_SECRET, motion=camera.motion,
        mqtt=f"\n[mqtt]\nenabled = true\nbroker = 127.0.0.1:{MQTT_PORT}\n" if mqtt else "",
    ))
    load(conf)  # a mistake in the template fails here, with the file and line
    return conf


def write_master_config(directory: Path, fleet: list[DemoCamera]) -> Path:
    home = (directory / "master").resolve()
    home.mkdir(parents=True, exist_ok=True)
    conf = home / "smartcam.conf"
    conf.write_text(MASTER_CONF.format(
        https=MASTER_PORT, app=MASTER_PORT - 353, http=MASTER_PORT - 363, dir=home,
        nas=(directory / "nas").resolve(),
        cameras=", ".join(f"127.0.0.1:{c.port}" for c in fleet)))
    load(conf)
    return conf


def start_master(conf: Path, procs: list[subprocess.Popen[bytes]]) -> str | None:
    """The master and an nginx of its own in front; returns its one-time setup link (None
    when it has users already, or when there is no nginx to give it HTTPS)."""
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if nginx is None:
        print("no master: it needs nginx (Debian: apt-get install nginx)", file=sys.stderr)
        return None
    home = conf.parent
    master = [sys.executable, "-m", "smartcam", "master", "--config", str(conf)]
    site = subprocess.run([*master, "--standalone-nginx", str(home / "nginx")], check=True,
                          capture_output=True, text=True).stdout.strip()
    log = open(home / "smartcam.log", "ab")
    procs.append(subprocess.Popen(master, stdout=log, stderr=subprocess.STDOUT))
    procs.append(subprocess.Popen(
        [nginx, "-p", str(home / "nginx"), "-e", str(home / "nginx" / "error.log"), "-c", site,
         "-g", "daemon off;"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE  # our own, self-signed
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"https://127.0.0.1:{MASTER_PORT}/api/health",
                                        timeout=2, context=insecure) as answer:
                if not json.load(answer)["setup_needed"]:
                    return None
                return (home / "state" / "setup-link").read_text().strip()
        except OSError:
            time.sleep(0.2)
    print("the master did not answer; see demo/master/smartcam.log", file=sys.stderr)
    return None


def loopback_multicast() -> None:
    """Let mDNS work on lo (only there: the demo never announces on a real network)."""
    if os.geteuid() == 0 and shutil.which("ip"):
        subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=False)


def print_clips(conf: Path, stop: threading.Event) -> None:
    """Print each of one camera's clips as it lands (reconnecting if the camera restarts)."""
    cfg = load(conf)
    while not stop.is_set():
        try:
            with ControlClient.wait(cfg.camera.control_socket, timeout=30) as client:
                while not stop.is_set():
                    try:
                        event = client.next_event("clip_ready", timeout=1)
                    except TimeoutError:
                        continue
                    print_clip(event)
        except OSError:
            stop.wait(1)


def print_clip(event: dict[str, Any]) -> None:
    c = event["clip"]
    why = c["cause"] if c["cause"] != "peer" else f"peer {c['origin']} saw motion"
    print(
        f"{c['camera']:>6}  clip {c['video']}\n"
        f"        {why}, incident {c['incident']}, {c['duration']:.1f} s, {c['frames']} frames, "
        f"pre-roll {c['pre_record']:.1f} s, peak motion {c['motion_peak']:.1f}%",
        flush=True,
    )


def run(args: Any) -> int:
    directory = Path(args.dir)
    procs: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()
    quit_ = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: quit_.set())
    try:
        loopback_multicast()
        fleet = cameras()
        mqtt = start_broker(directory, procs)
        for camera in fleet:
            conf = write_config(directory, camera, fleet, mqtt)
            log = open(conf.parent / "smartcam.log", "ab")
            for program in ("camera", "host"):
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "smartcam", program, "--config", str(conf)],
                    stdout=log, stderr=subprocess.STDOUT,
                ))
            threading.Thread(target=print_clips, args=(conf, stop), daemon=True).start()
            print(f"{camera.name:>6}  http://127.0.0.1:{camera.port}/   ({camera.source})")
        master_conf = write_master_config(directory, fleet)
        link = start_master(master_conf, procs)
        print(f"master  https://127.0.0.1:{MASTER_PORT}/   (self-signed certificate)")
        if link:
            print(f"        first admin: open {link}", flush=True)
        print(f"NAS folder: {(directory / 'nas').resolve()}; logs: {directory}/*/smartcam.log")
        if mqtt:
            print(f"MQTT    mosquitto_sub -h 127.0.0.1 -p {MQTT_PORT} -v -t 'smartcam/#'")
        print("someone walks by the yard every 20 s; stop with Ctrl-C", flush=True)
        deadline = time.monotonic() + args.duration if args.duration else None
        while not quit_.wait(0.5):
            if deadline and time.monotonic() > deadline:
                break
            if any(p.poll() is not None for p in procs):
                print("a demo process exited; see the logs", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for p in procs:
            p.terminate()  # each camera finishes its open clip, which is still printed
        for p in procs:
            p.wait(timeout=30)
        stop.set()
    return 0
