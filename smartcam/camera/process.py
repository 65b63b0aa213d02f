"""`smartcam camera`: the realtime loop that turns frames into motion events and clips.

It never touches the network or the NAS. If the host process is down it still detects and
records into the spool. A frame that does not arrive within stall_timeout ends the process
with EX_TEMPFAIL so systemd restarts it; the watchdog is pinged only while frames advance.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smartcam import __version__
from smartcam.camera import feed
from smartcam.camera.detector import MotionDetector, MotionSettings
from smartcam.camera.finisher import Finisher, Leftover
from smartcam.camera.frames import Capture, Source
from smartcam.camera.live import LiveView
from smartcam.camera.recorder import Recorder, RecordSettings, Trigger
from smartcam.camera.source import open_source
from smartcam.camera.spool import Spool
from smartcam.camera.stallguard import StallGuard
from smartcam.clips.names import CAUSES
from smartcam.clips.spool import headroom
from smartcam.config import SETTINGS, Config, load_or_exit, setting_problem
from smartcam.control.server import ControlServer
from smartcam.errors import ConfigError, ControlError, SettingError
from smartcam.sdnotify import Notifier

log = logging.getLogger("smartcam.camera")
HEARTBEAT_SECONDS = 5.0
PREROLL_SHARE = 0.25  # of the machine's memory the pre-roll may take
LEVEL_SECONDS = 1.0  # the motion level graph's resolution

Listener = Callable[[dict[str, Any]], None]


def record_settings(cfg: Config) -> RecordSettings:
    c = cfg.camera
    return RecordSettings(c.pre_record, c.post_record, c.max_clip)


class Camera:
    """One camera: source -> detector -> recorder, steered through the control socket."""

    def __init__(self, cfg: Config, source: Source, notifier: Notifier | None = None):
        self.cfg = cfg
        self.source = source
        self.notifier = notifier or Notifier()
        self.listeners: list[Listener] = []
        self._lock = threading.RLock()  # the frame loop and control requests take turns
        info = source.info
        self.spool = Spool(cfg.storage.spool)
        self.detector = MotionDetector(
            MotionSettings.from_section(cfg.motion), info.lores_width, info.lores_height, info.fps
        )
        recovered, waiting = self.spool.recover()  # what a killed process left, first
        for card in recovered:
            log.warning("recovered an interrupted clip: %s", card["video"])
        self.finisher = Finisher(self.spool, self._clip_ready)
        for stem in waiting:  # no room to finish them yet: the finisher tries again
            self.finisher.submit(Leftover(stem))
        self.recorder = Recorder(
            record_settings(cfg),
            info,
            source.epoch,
            self.spool,
            self.finisher,
            cfg.camera.name,
            cfg.camera.group,
            headroom(cfg.camera.bitrate),
        )
        self.live = LiveView(cfg.camera.live_path, cfg.camera.live_fps)
        self.live.frame_interval(1.0 / info.fps)
        self.started = time.time()
        self.frames = 0
        self.now = 0.0  # source-clock time of the newest frame
        self.motion_active = False
        self.score = 0.0
        self._last_heartbeat = 0.0
        self._last_level = 0.0
        self._level = 0.0  # the highest score since the last level event
        self.server = None  # the ControlServer, once serve() has opened it
        self.guard: StallGuard | None = None  # watches run() and the close() after it

    # -- events -------------------------------------------------------------------------------

    def emit(self, kind: str, /, **fields: Any) -> None:
        message = {**fields, "event": kind, "camera": self.cfg.camera.name, "time": time.time()}
        if self.server is not None:
            self.server.broadcast(message)
        for listener in self.listeners:
            listener(message)

    def _clip_ready(self, card: dict[str, Any]) -> None:
        log.info("clip ready: %s (%s s, %s)", card["video"], card["duration"], card["cause"])
        self.emit("clip_ready", clip=card, path=str(self.spool.outbox / str(card["video"])))

    # -- the frame loop -----------------------------------------------------------------------

    def step(self, capture: Capture) -> None:
        with self._lock:
            self.frames += 1
            self.now = t = capture.t
            self.recorder.epoch = self.source.epoch  # follows the wall clock being set late
            for packet in capture.packets:
                self.recorder.push(packet)
            if self.server is not None and self.server.video_clients and capture.packets:
                self.server.broadcast_video(feed.pack(capture.packets))
            result = self.detector.update(capture.lores, t)
            self.score = result.score
            if result.motion:
                self.recorder.trigger(Trigger("motion", t, t + self.recorder.settings.post_record))
            self.recorder.motion(t, result)
            if result.motion != self.motion_active:
                self.motion_active = result.motion
                name = "motion_start" if result.motion else "motion_end"
                self.emit(name, score=round(result.score, 3), boxes=result.boxes)
            self.source.want_main = self.live.active(t)
            if capture.yuv is not None and self.live.due(t):
                self.live.write(capture.yuv, t)
        self.notifier.watchdog()
        self._level = max(self._level, result.score)
        if t - self._last_level >= LEVEL_SECONDS:
            self._last_level = t
            self.emit("level", score=round(self._level, 3), motion=self.motion_active)
            self._level = 0.0
        if t - self._last_heartbeat >= HEARTBEAT_SECONDS:
            self._last_heartbeat = t
            self.emit("heartbeat", status=self.status())

    def run(self, stop: threading.Event, duration: float | None = None) -> None:
        """Read frames until stop is set (or duration seconds of video have passed)."""
        self.notifier.ready(f"recording {self.cfg.camera.name}")
        timeout = self.cfg.camera.stall_timeout
        self.guard = self.guard or StallGuard(timeout)
        first = None
        while not stop.is_set():
            capture = self.source.read(timeout)
            self.guard.beat()
            first = capture.t if first is None else first
            self.step(capture)
            if duration is not None and capture.t - first >= duration:
                break

    def close(self) -> None:
        self.notifier.stopping()
        if self.guard is not None:  # letting go of the camera gets its own stall_timeout:
            self.guard.beat()  # a wedged driver hangs that too
        tail = self.source.close()  # the encoder's last packets still belong to the open clip
        if self.guard is not None:
            self.guard.close()
        with self._lock:
            for packet in tail:
                self.recorder.push(packet)
            self.recorder.stop()
        self.finisher.close()
        if self.server is not None:
            self.server.close()
        self.notifier.close()

    # -- control requests ---------------------------------------------------------------------

    def start_video(self, start: Callable[[dict[str, Any], bytes], None]) -> None:
        """A new video client (control socket): it starts at the newest keyframe in the ring,
        handed over under the frame loop's lock so the next packet it gets is the next one."""
        info = self.source.info
        with self._lock:
            start({"width": info.width, "height": info.height, "fps": info.fps,
                   "epoch": self.source.epoch}, feed.pack(self.recorder.ring.since(self.now)))

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        command = request.get("cmd")
        handler = getattr(self, f"_cmd_{command}", None) if isinstance(command, str) else None
        if handler is None:
            raise ControlError(f"unknown cmd {command!r}; known: status, trigger, set, live")
        with self._lock:
            return handler(request)

    def status(self) -> dict[str, Any]:
        meta = self.recorder.recording
        return {
            "camera": self.cfg.camera.name,
            "group": self.cfg.camera.group,
            "version": __version__,
            "state": "recording" if meta else "idle",
            "clip": {"event": meta.event, "cause": meta.cause, "incident": meta.incident}
            if meta
            else None,
            "motion": self.motion_active,
            "score": round(self.score, 3),
            "frames": self.frames,
            "uptime": round(time.time() - self.started, 1),
            "preroll_seconds": round(self.recorder.ring.duration, 2),
            "preroll_bytes": self.recorder.ring.nbytes,
            "live": self.live.active(self.now),
            "spool_error": self.recorder.write_error,
            "source_problem": self.source.problem,
        }

    def _cmd_status(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"status": self.status()}

    def _cmd_trigger(self, request: dict[str, Any]) -> dict[str, Any]:
        cause = request.get("cause", "api")
        if cause not in CAUSES:
            raise ControlError(f"cause {cause!r} is not one of {', '.join(CAUSES)}")
        if "until" in request:
            until = _number(request, "until") - self.source.epoch  # wall clock -> source clock
        else:
            until = self.now + _number(request, "seconds", self.recorder.settings.post_record)
        if until <= self.now:
            raise ControlError("until is in the past")
        incident, origin = request.get("incident", ""), request.get("origin", "")
        if not isinstance(incident, str) or not isinstance(origin, str):
            raise ControlError("incident and origin are strings")
        meta = self.recorder.trigger(Trigger(cause, self.now, until, incident, origin))
        if meta is None:
            raise ControlError(f"cannot record: the spool failed ({self.recorder.write_error})")
        self.emit("recording", clip={"event": meta.event, "incident": meta.incident,
                                     "cause": meta.cause})
        return {"event": meta.event, "incident": meta.incident}

    def _cmd_set(self, request: dict[str, Any]) -> dict[str, Any]:
        values = request.get("motion")
        if not isinstance(values, dict) or not values:
            raise ControlError('set takes {"motion": {key: value, ...}}')
        try:
            cfg = self.cfg.replace("motion", **values)
        except ConfigError as err:
            raise ControlError(str(err)) from err
        self.cfg = cfg
        self.detector.set_settings(MotionSettings.from_section(cfg.motion))
        motion = SETTINGS["motion"]
        return {"motion": {k: motion[k].json_value(v) for k, v in cfg.motion.as_dict().items()}}

    def _cmd_live(self, request: dict[str, Any]) -> dict[str, Any]:
        on = request.get("on", True)
        if not isinstance(on, bool):
            raise ControlError("on is true or false")
        if on:
            self.live.watch(self.now, _number(request, "seconds", 10.0))
        else:
            self.live.stop()
        return {"live": on, "path": str(self.live.path)}


def _number(request: dict[str, Any], key: str, default: float | None = None) -> float:
    value = request.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(f"{key} must be a number, not {value!r}")
    return float(value)


def check_paths(cfg: Config) -> None:
    """The folders the camera writes must be writable by it: under systemd's sandbox only the
    ones the unit names are (a setting changed by hand would otherwise fail deep inside)."""
    for section, key, folder in (
        ("storage", "spool", cfg.storage.spool),
        ("camera", "control_socket", cfg.camera.control_socket.parent),
        ("camera", "live_path", cfg.camera.live_path.parent),
    ):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            writable = os.access(folder, os.W_OK)
            why = "it is read-only here"
        except OSError as err:
            writable, why = False, err.strerror or str(err)
        if not writable:
            default = SETTINGS[section][key].default_text()
            raise SettingError(section, key, f"the camera cannot write in {folder} ({why}); "
                               f"its service may write only where the image puts it "
                               f"(the default, {default})")


def check_memory(cfg: Config, meminfo: Path = Path("/proc/meminfo")) -> None:
    """The pre-roll lives in RAM: bitrate x pre_record. A Pi Zero 2 has 512 MB in all."""
    try:
        total_kb = next(int(line.split()[1]) for line in meminfo.read_text().splitlines()
                        if line.startswith("MemTotal:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return
    c = cfg.camera
    ring = c.bitrate / 8 * (c.pre_record + 1)  # and a keyframe interval
    if ring > total_kb * 1024 * PREROLL_SHARE:
        most = max(0, int(total_kb * 1024 * PREROLL_SHARE / (c.bitrate / 8)) - 1)
        raise SettingError("camera", "pre_record", f"{v_mb(ring)} of pre-roll at bitrate "
                           f"{c.bitrate} bit/s is more than this machine can keep in memory "
                           f"({v_mb(total_kb * 1024)} in all); use at most {most} s, or a "
                           "lower bitrate")


def v_mb(size: float) -> str:
    return f"{size / 1e6:.0f} MB"


def serve(
    cfg: Config,
    pace: bool = True,
    duration: float | None = None,
    listeners: list[Listener] | None = None,
) -> None:
    """Run a camera with its control socket until SIGTERM/SIGINT or duration."""
    try:
        check_paths(cfg)
        check_memory(cfg)
        source = open_source(cfg.camera, pace=pace)
    except SettingError as err:  # this machine cannot do a setting: say where it is written
        raise setting_problem(cfg, err.section, err.key, err.message) from None
    camera = Camera(cfg, source)
    camera.listeners.extend(listeners or [])
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    try:
        camera.server = ControlServer(cfg.camera.control_socket, camera.handle, camera.start_video)
        camera.run(stop, duration)
    finally:
        camera.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(args: Any) -> int:
    cfg = load_or_exit(args.config)
    serve(cfg)
    return 0
