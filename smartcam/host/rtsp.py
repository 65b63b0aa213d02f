"""RTSP out: rtsp://<camera>:8554/<name>, the camera's own H.264 for NVRs ([rtsp] enabled).

GStreamer's RTSP server (Debian's gst-rtsp-server through PyGObject, as picamera2's own stack
is on the Pi): it speaks RTSP over UDP, TCP and HTTP tunnels, with Digest auth, as
Frigate, Blue Iris, Home Assistant's go2rtc and VLC expect. One pipeline is shared by every
client, `appsrc ! rtph264pay`, and fed only while someone plays it: a thread reads
the camera's video stream (camera/feed.py) and pushes its packets untouched, timestamped by the
camera's own clock. A camera restart is bridged: the feed reconnects and the timestamps run on.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from typing import Any

from smartcam.camera.feed import VideoFeed
from smartcam.config import Config
from smartcam.errors import SmartcamError

log = logging.getLogger(__name__)
LAUNCH = (
    "( appsrc name=src is-live=true format=time "
    "caps=video/x-h264,stream-format=byte-stream,alignment=au "
    "! rtph264pay name=pay0 pt=96 )"
)
RETRY_SECONDS = 1.0
LIVE_SECONDS = 0.25  # a keyframe captured longer ago than this is from the pre-roll ring
PACKAGES = "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good"


class RtspUnavailable(SmartcamError):
    """GStreamer's RTSP server is not installed here."""


def gstreamer() -> tuple[Any, Any, Any, Any]:
    """(GLib, Gst, GstRtsp, GstRtspServer), imported only when RTSP out is switched on."""
    try:
        import gi

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtsp", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        with warnings.catch_warnings():  # Debian 12's PyGObject 3.42 on Python 3.11 warns
            warnings.simplefilter("ignore", ImportWarning)  # about its importer; harmless
            from gi.repository import GLib, Gst, GstRtsp, GstRtspServer
    except (ImportError, ValueError) as err:
        raise RtspUnavailable(f"[rtsp] enabled needs GStreamer's RTSP server ({err}); on "
                              f"Debian: apt-get install {PACKAGES}") from err
    Gst.init(None)
    return GLib, Gst, GstRtsp, GstRtspServer


class RtspOut:
    """A host worker: the RTSP server on its own GLib main loop, until stop is set."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.alive = time.monotonic()
        self.problem: str | None = None  # why it is not serving, for the page
        self._feeders: list[Feeder] = []
        self._lock = threading.Lock()

    def run(self, stop: threading.Event) -> None:
        try:
            self._serve(stop)
        except RtspUnavailable as err:
            log.error("%s", err)
            self.problem = str(err)
        except Exception as err:  # a GStreamer that behaves unlike 1.22: say so on the page
            log.exception("RTSP out failed")
            self.problem = f"it failed ({err}); the host's log has the details"

    def _serve(self, stop: threading.Event) -> None:
        glib, gst, methods, rtsp = gstreamer()
        context = glib.MainContext.new()
        loop = glib.MainLoop.new(context, False)
        server = rtsp.RTSPServer()
        server.set_address(self.cfg.rtsp.listen.host)
        server.set_service(str(self.cfg.rtsp.listen.port))
        factory = rtsp.RTSPMediaFactory()
        factory.set_launch(LAUNCH)
        factory.set_shared(True)  # one pipeline, and one camera stream, for every client
        factory.connect("media-configure", lambda _, media: self._configure(gst, media))
        if self.cfg.rtsp.username:
            self._require_password(rtsp, methods.RTSPAuthMethod, server, factory)
        server.get_mount_points().add_factory(f"/{self.cfg.camera.name}", factory)
        if server.attach(context) == 0:
            raise RtspUnavailable(f"it cannot listen on {self.cfg.rtsp.listen} (in use?); "
                                  "see [rtsp] listen")
        log.info("RTSP out at rtsp://%s:%d/%s", self.cfg.rtsp.listen.host,
                 server.get_bound_port(), self.cfg.camera.name)

        def turn(*_: Any) -> bool:
            self.alive = time.monotonic()
            if stop.is_set():
                loop.quit()
            return not stop.is_set()

        timer = glib.timeout_source_new(500)
        timer.set_callback(turn)
        timer.attach(context)
        try:
            loop.run()
        finally:
            with self._lock:
                for feeder in self._feeders:
                    feeder.stop()

    def _require_password(self, rtsp: Any, method: Any, server: Any, factory: Any) -> None:
        section = self.cfg.rtsp
        auth = rtsp.RTSPAuth()
        token = rtsp.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        # Digest only: RTSP is plain text, and Basic would send the password as it is. Every
        # NVR client speaks Digest (IP cameras ask for it). The binding takes one method, not
        # the flags the C API ORs together.
        auth.add_digest(section.username, section.password, token)
        auth.set_supported_methods(method.DIGEST)
        server.set_auth(auth)
        permissions = rtsp.RTSPPermissions()
        permissions.add_permission_for_role("viewer", "media.factory.access", True)
        permissions.add_permission_for_role("viewer", "media.factory.construct", True)
        factory.set_permissions(permissions)

    def _configure(self, gst: Any, media: Any) -> None:
        """A client asked for the stream and nobody was playing it: start feeding it."""
        appsrc = media.get_element().get_child_by_name("src")
        feeder = Feeder(self.cfg.camera.control_socket, appsrc, gst)
        with self._lock:
            self._feeders = [f for f in self._feeders if f.running] + [feeder]
        media.connect("unprepared", lambda _: feeder.stop())
        feeder.start()


class Feeder:
    """Pushes the camera's packets into one shared pipeline's appsrc until stopped."""

    def __init__(self, control_socket: Any, appsrc: Any, gst: Any):
        self.path, self.appsrc, self.gst = control_socket, appsrc, gst
        self._stop = threading.Event()
        self._feed: VideoFeed | None = None
        self._thread = threading.Thread(target=self._run, name="rtsp-feed", daemon=True)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._feed is not None:
            self._feed.close()

    def _run(self) -> None:
        gst, next_pts = self.gst, 0
        while not self._stop.is_set():
            try:
                with VideoFeed(self.path) as feed:
                    self._feed = feed
                    frame = round(gst.SECOND / float(feed.info["fps"]))
                    next_pts = self._push(feed, next_pts, frame)
            except (OSError, ValueError) as err:
                if not self._stop.is_set():
                    log.info("RTSP out: the camera's stream ended (%s); reconnecting", err)
            self._stop.wait(RETRY_SECONDS)

    def _push(self, feed: VideoFeed, start_pts: int, frame: int) -> int:
        """Push packets from the first keyframe on; returns where the next stream's pts start,
        so they run on across a camera restart."""
        gst, origin, pts = self.gst, None, start_pts
        epoch = float(feed.info["epoch"])
        for packet in feed:
            if self._stop.is_set():
                break
            if origin is None:
                # From the first keyframe captured just now, not the ring's older one: the
                # server's sinks pace buffers by their timestamps, so starting with old frames
                # would hold every later one back by their age.
                if not packet.keyframe or time.time() - (packet.t + epoch) > LIVE_SECONDS:
                    continue
                origin = packet.t
            # A copy into GStreamer's own memory: PyGObject's new_wrapped() does not keep the
            # Python bytes alive while the pipeline still reads them (garbled pictures).
            buffer = gst.Buffer.new_allocate(None, len(packet.data), None)
            buffer.fill(0, packet.data)
            pts = start_pts + round((packet.t - origin) * gst.SECOND)
            buffer.pts = buffer.dts = pts
            buffer.duration = frame
            if self.appsrc.emit("push-buffer", buffer) != gst.FlowReturn.OK:
                self._stop.set()  # the pipeline is shutting down
                break
        return pts + frame
