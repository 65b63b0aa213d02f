"""`smartcam demo`: a simulated camera recording a scripted yard, its spool under ./demo/.

Someone walks by every 20 seconds; light steps and gain ramps in between must not record.
Each clip is printed as it lands in the outbox.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from smartcam.config import from_text

DEMO_CONF = """\
[camera]
name = demo-yard
group = demo
source = synthetic:walkers
resolution = 1280x720
fps = 25
bitrate = 2M
pre_record = 3
post_record = 4
max_clip = 60
control_socket = {dir}/run/control.sock
live_path = {dir}/run/live.jpg

[storage]
spool = {dir}/spool
"""


def demo_config_text(directory: Path) -> str:
    return DEMO_CONF.format(dir=directory.resolve())


def print_event(event: dict[str, Any]) -> None:
    if event["event"] == "motion_start":
        print(f"motion   score {event['score']:5.1f}%  boxes {event['boxes']}", flush=True)
    elif event["event"] == "clip_ready":
        c = event["clip"]
        print(
            f"clip     {event['path']}\n"
            f"         {c['cause']}, {c['duration']:.1f} s, {c['frames']} frames, "
            f"pre-roll {c['pre_record']:.1f} s, peak {c['motion_peak']:.1f}%",
            flush=True,
        )


def run(args: Any) -> int:
    from smartcam.camera.process import serve

    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "smartcam.conf"
    conf.write_text(demo_config_text(directory))
    cfg = from_text(conf.read_text(), str(conf))
    print(f"smartcam demo: camera {cfg.camera.name!r}, config {conf}, spool {cfg.storage.spool}")
    print("someone walks by every 20 s; stop with Ctrl-C", flush=True)
    serve(cfg, duration=args.duration, listeners=[print_event])
    outbox = Path(cfg.storage.spool) / "outbox"
    print(f"done: {len(list(outbox.glob('*.mp4')))} clips in {outbox}", file=sys.stderr)
    return 0
