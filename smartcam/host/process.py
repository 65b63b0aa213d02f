"""`smartcam host`: the web page and API, the NAS uploader and retention for one camera.

Each part runs on its own thread so a slow or dead NAS stalls only the uploader, never the page
or the link to the camera. The systemd watchdog is pinged only while the camera link's loop
turns and the web server answers its own health check; the uploader is left out on purpose: it
may legitimately wait a long time on a NAS that went away, and restarting would not help.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any, Protocol

import waitress

from smartcam import __version__
from smartcam.apiclient import CameraApi
from smartcam.clips.library import ClipLibrary
from smartcam.config import Config, default, load
from smartcam.coop.worker import Cooperation
from smartcam.errors import ConfigError, SmartcamError
from smartcam.host.api.base import MAX_BODY
from smartcam.host.camlink import CameraLink
from smartcam.host.gate import Gate
from smartcam.host.livesocket import LiveSocket
from smartcam.host.mqttlink import MqttLink
from smartcam.host.rtsp import RtspOut
from smartcam.host.video import VideoHub
from smartcam.host.web import make_app
from smartcam.sdnotify import Notifier
from smartcam.storage.retention import Retention
from smartcam.storage.uploader import Uploader
from smartcam.timing import Timing

log = logging.getLogger("smartcam.host")
SELF_CHECK_SECONDS = 5.0
STALE_SECONDS = 30.0  # a loop that has not turned for this long is stuck


class Worker(Protocol):
    alive: float  # time.monotonic() of the loop's last turn

    def run(self, stop: threading.Event) -> None: ...


STOP_SECONDS = 10.0  # for all the parts together, well inside the unit's TimeoutStopSec=20


class Host:
    """What the web app sees of the host: config, camera link, uploader, retention, peers."""

    def __init__(self, cfg: Config, config_error: str | None = None, timing: Timing | None = None):
        self.cfg = cfg
        self.config_error = config_error  # shown as a banner until the file is fixed
        self.arming: dict[str, Any] | None = None  # what the master last said (signed)
        self.version = __version__
        self.started = time.time()
        self.link = CameraLink(cfg.camera.control_socket)
        self.video = VideoHub(cfg.camera.control_socket)  # live H.264, while anyone watches
        self.video_port: int | None = None  # the live WebSocket server's, once it listens
        self.uploader = Uploader(cfg, timing)
        self.retention = Retention(cfg, timing)
        # The clip list's indexer: its own thread does the I/O, on the NAS only while mounted.
        self.library = ClipLibrary(cfg, nas_mounted=self.uploader.nas.mounted)
        self.uploader.on_full = self.retention.wake
        self.uploader.on_uploaded = self.library.wake
        self.link.listeners.append(self._on_event)
        self.cooperation = Cooperation(cfg, self.link, timing=timing)  # peers, group triggers
        self.mqtt = MqttLink(self) if cfg.mqtt.enabled else None  # Home Assistant, a broker
        self.rtsp = RtspOut(cfg) if cfg.rtsp.enabled else None  # for NVRs
        self.stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") == "clip_ready":
            self.library.wake()  # list a new clip at once, not at the next look

    def start_worker(self, name: str, worker: Worker) -> None:
        thread = threading.Thread(target=worker.run, args=(self.stop,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def close(self) -> None:
        """Stop every part, waiting at most STOP_SECONDS in all: a thread stuck on a dead NAS
        is left behind (they are daemons), so systemd never has to kill a process that is
        shutting down cleanly (TimeoutStopSec=20)."""
        self.stop.set()
        self.link.close()
        self.video.close()
        deadline = time.monotonic() + STOP_SECONDS
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s did not stop in time (waiting on the NAS?); leaving it",
                            thread.name)


def serve(host: Host, notifier: Notifier | None = None) -> None:
    """Run every part until host.stop is set (SIGTERM, SIGINT)."""
    notifier = notifier or Notifier()
    listen = host.cfg.web.listen
    gate = Gate(make_app(host), host.cfg)
    server = waitress.create_server(
        gate, host=listen.host, port=listen.port or 8080, threads=24,
        ident="smartcam", channel_timeout=30,
        max_request_body_size=MAX_BODY,  # nothing we take is bigger; waitress spools more to disk
        # Waitress keeps what a streamed response sent in memory up to this mark; its 16 MiB
        # default grew the host by ~250 MB a minute with live viewers (Pylons/waitress#111).
        outbuf_high_watermark=1 << 20,
    )
    web = threading.Thread(target=server.run, name="waitress", daemon=True)
    live = LiveSocket(host, gate, host.video)
    host.video_port = live.port
    host.link.start()
    host.start_worker("library", host.library)  # only reads: runs in safe mode too
    if host.config_error is None:
        # In safe mode the NAS and spool settings are only defaults: nothing may be moved,
        # dropped or deleted on their say-so. Clips wait in the spool until the file is fixed.
        host.start_worker("uploader", host.uploader)
        host.start_worker("retention", host.retention)
        host.start_worker("cooperation", host.cooperation)
        if host.mqtt is not None:
            host.start_worker("mqtt", host.mqtt)
        if host.rtsp is not None:
            host.start_worker("rtsp", host.rtsp)
    web.start()
    live.start()
    url = f"http://{listen.host}:{server.effective_port}"  # type: ignore[attr-defined]
    notifier.ready(f"serving {url}")
    log.info("serving %s", url)
    api = CameraApi(self_check_url(listen.host, server.effective_port),  # type: ignore[attr-defined]
                    timeout=SELF_CHECK_SECONDS)
    try:
        while not host.stop.wait(SELF_CHECK_SECONDS / 2):
            if _healthy(host, api):
                notifier.watchdog()
    finally:
        notifier.stopping()
        server.close()
        live.close()
        host.close()
        notifier.close()


def self_check_url(listen: str, port: int) -> str:
    """Where the host asks itself for health: a wildcard listen address is reached on loopback
    (the gate would refuse a Host header of 0.0.0.0: it is none of the camera's names)."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(listen, listen)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _healthy(host: Host, api: CameraApi) -> bool:
    if time.monotonic() - host.link.alive > STALE_SECONDS:
        log.error("the camera link's loop is stuck")
        return False
    try:
        api.health()
        return True
    except SmartcamError as err:
        log.error("the web server does not answer its health check: %s", err)
        return False


def load_for_host(path: str | None) -> tuple[Config, str | None]:
    """The config, or (in safe mode) the defaults plus the problems to show on the page."""
    try:
        return load(path), None
    except ConfigError as err:
        log.error("smartcam.conf has problems; serving the page in safe mode:\n%s", err)
        return default(), str(err)


def run(args: Any) -> int:
    cfg, problem = load_for_host(args.config)
    host = Host(cfg, problem)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: host.stop.set())
    serve(host)
    return 0
