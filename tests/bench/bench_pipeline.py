"""The camera pipeline's own cost per frame (encoder excluded) and its memory over a long run.

Cost: captures are generated and encoded first, then replayed into Camera.step, so the figure
is ring + detector + recorder + clip writing, idle and while recording.
Memory: a real camera process, unpaced, records 30 minutes of 1280x720 video at 4 Mbit/s with
a 10 s pre-roll (someone walking by every 20 s); its resident set is sampled throughout.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smartcam.camera.frames import Capture
from smartcam.camera.process import Camera
from smartcam.camera.source import source_info
from smartcam.camera.synthetic import SyntheticSource
from smartcam.config import from_text

CONF = """\
[camera]
name = bench
source = synthetic:walkers
resolution = {resolution}
fps = 30
bitrate = 4M
pre_record = 10
post_record = 5
control_socket = {dir}/control.sock
live_path = {dir}/live.jpg
[storage]
spool = {dir}/spool
"""
MEMORY_VIDEO_SECONDS = 1800


class Replay:
    """A source that hands out captures made beforehand."""

    def __init__(self, source: SyntheticSource, captures: list[Capture]):
        self.info, self.epoch, self.want_main = source.info, source.epoch, False
        self.problem = None
        self._captures = iter(captures)

    def read(self, timeout: float = 0.0) -> Capture:
        return next(self._captures)

    def close(self) -> list:
        return []


def pipeline_cost(directory: Path, frames: int = 600) -> dict[str, float]:
    cfg = from_text(CONF.format(resolution="1280x720", dir=directory))
    source = SyntheticSource(source_info(cfg.camera), cfg.camera.bitrate, "empty", pace=False)
    captures = [source.read() for _ in range(2 * frames)]
    camera = Camera(cfg, Replay(source, captures))
    idle, recording = [], []
    for i, capture in enumerate(captures):
        if i == frames:
            camera.handle({"cmd": "trigger", "cause": "api", "seconds": 3600})
        start = time.perf_counter_ns()
        camera.step(capture)
        (idle if i < frames else recording).append((time.perf_counter_ns() - start) / 1000)
    camera.close()
    return {
        "pipeline_idle_us_per_frame_1280x720": round(statistics.median(idle), 1),
        "pipeline_recording_us_per_frame_1280x720": round(statistics.median(recording), 1),
    }


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory(directory: Path) -> dict[str, float]:
    conf = directory / "memory.conf"
    conf.write_text(CONF.format(resolution="1280x720", dir=directory))
    script = (
        "import sys; from smartcam.config import load; from smartcam.camera.process import serve;"
        f"serve(load(sys.argv[1]), pace=False, duration={MEMORY_VIDEO_SECONDS})"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(conf)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples = []
    while proc.poll() is None:
        try:
            samples.append(rss_kib(proc.pid))
        except FileNotFoundError:
            break
        time.sleep(0.5)
    samples = [s for s in samples if s]
    settled = samples[len(samples) // 10 :]  # after start-up and the first pre-roll filled
    tenth = max(1, len(settled) // 10)
    clips = len(list((directory / "spool" / "outbox").glob("*.mp4")))
    return {
        "camera_rss_peak_mb": round(max(samples) / 1024, 1),
        "camera_rss_growth_mb": round(
            (statistics.median(settled[-tenth:]) - statistics.median(settled[:tenth])) / 1024, 1),
        "camera_memory_video_seconds": MEMORY_VIDEO_SECONDS,
        "camera_memory_clips": clips,
        "camera_exit_status": proc.returncode,
    }


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        results = pipeline_cost(Path(tmp) / "cost")
    with tempfile.TemporaryDirectory() as tmp:
        results.update(memory(Path(tmp)))
    return results
