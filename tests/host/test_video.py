"""Live H.264 without re-encoding: the camera's video stream on its control socket, the fMP4 the
host makes of it, the hub that shares it among viewers, and the WebSocket server's gate.

The browser end (MSE in Debian's chromium, the MJPEG fallback, latency) is in test_page.py.
"""

from __future__ import annotations

import io
import json
import socket
import struct
import subprocess
import threading
import time
from types import SimpleNamespace

import av
import numpy as np
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from smartcam.camera import feed
from smartcam.camera.encoder import H264Encoder
from smartcam.camera.frames import Packet
from smartcam.camera.ring import PacketRing
from smartcam.config.parse import from_text
from smartcam.control.server import ControlServer
from smartcam.host import fmp4
from smartcam.host.gate import Gate
from smartcam.host.livesocket import LiveSocket
from smartcam.host.video import VideoHub
from tests.host.nginx import free_port

FPS = 10  # the encoder makes a keyframe every 10 frames: a GOP a second


def encode(frames: int, width: int = 64, height: int = 48) -> list[Packet]:
    encoder = H264Encoder(width, height, FPS, 200_000)
    packets = []
    for i in range(frames):
        yuv = np.full((height * 3 // 2, width), 128, np.uint8)
        yuv[:height, (i * 3) % width :][:, :8] = 230  # something that moves
        packets += encoder.encode(yuv, i / FPS)
    return packets + encoder.flush()


PACKETS = encode(60)


def test_fmp4_from_the_second_keyframe_on_is_a_video_ffmpeg_plays():
    start = [i for i, p in enumerate(PACKETS) if p.keyframe][1]
    sps, pps = fmp4.parameter_sets(PACKETS[start].data)
    data = fmp4.init_segment(sps, pps, 64, 48)
    for n, packet in enumerate(PACKETS[start:], 1):
        ticks = round(packet.t * fmp4.TIMESCALE)
        data += fmp4.fragment(n, ticks, fmp4.TIMESCALE // FPS, packet.keyframe,
                              fmp4.sample(packet.data))
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 48)
        demuxed = list(container.demux(stream))
        frames = [f for p in demuxed for f in p.decode()]
    shown = [p for p in demuxed if p.size]
    assert len(shown) == len(frames) == len(PACKETS) - start
    assert shown[0].is_keyframe and sum(p.is_keyframe for p in shown) == 5
    assert [round(float(p.pts * p.time_base), 3) for p in shown] == [
        round(p.t, 3) for p in PACKETS[start:]]
    assert fmp4.codec(sps) == "avc1." + sps[1:4].hex().upper()


def test_ffprobe_reads_the_stream_as_the_browser_gets_it(tmp_path):
    sps, pps = fmp4.parameter_sets(PACKETS[0].data)
    data = fmp4.init_segment(sps, pps, 64, 48) + b"".join(
        fmp4.fragment(n, round(p.t * fmp4.TIMESCALE), 9000, p.keyframe, fmp4.sample(p.data))
        for n, p in enumerate(PACKETS, 1))
    (tmp_path / "live.mp4").write_bytes(data)
    probe = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-of", "json",
         str(tmp_path / "live.mp4")], capture_output=True, text=True, check=True).stdout)
    video = probe["streams"][0]
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 64, 48)
    assert int(video["nb_read_frames"]) == len(PACKETS)


def test_a_keyframe_without_its_parameter_sets_cannot_start_a_stream():
    picture = b"\x00\x00\x00\x01\x65" + bytes(20)  # an IDR slice alone
    with pytest.raises(ValueError, match="SPS and PPS"):
        fmp4.parameter_sets(picture)


class FakeCamera:
    """The camera's side as process.py wires it: its frame loop pushes each packet into the
    pre-roll ring and broadcasts it under one lock; a new video client starts under it too."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.ring = PacketRing(2.0)
        self.now = 0.0
        self.server = ControlServer(path, lambda request: {}, self.start_video)
        self.stop = threading.Event()
        self.pushed: list[Packet] = []

    def start_video(self, start):
        with self.lock:
            start({"width": 64, "height": 48, "fps": FPS, "epoch": 0.0},
                  feed.pack(self.ring.since(self.now)))

    def step(self, packet: Packet) -> None:
        with self.lock:
            self.ring.push(packet)
            self.now = packet.t
            self.pushed.append(packet)
            if self.server.video_clients:
                self.server.broadcast_video(feed.pack([packet]))

    def run(self, packets: list[Packet], pause: float = 0.0) -> threading.Thread:
        def loop() -> None:
            for n, packet in enumerate(packets):
                if self.stop.is_set():
                    return
                self.step(packet)
                time.sleep(pause if n % 3 == 0 else 0)

        thread = threading.Thread(target=loop)
        thread.start()
        return thread

    def close(self) -> None:
        self.stop.set()
        self.server.close()


def looped(count: int) -> list[Packet]:
    """PACKETS played again and again, their times running on."""
    span = len(PACKETS) / FPS
    return [Packet(p.data, p.t + span * (i // len(PACKETS)), p.keyframe)
            for i, p in enumerate(PACKETS * (count // len(PACKETS) + 1))][:count]


def test_a_video_client_joining_mid_stream_starts_at_a_keyframe_and_misses_nothing(tmp_path):
    camera = FakeCamera(tmp_path / "control.sock")
    packets = looped(600)
    loop = camera.run(packets, pause=0.001)
    try:
        time.sleep(0.05)
        with feed.VideoFeed(camera.server.path) as video:
            assert video.info["width"] == 64 and video.info["fps"] == FPS
            got = []
            for packet in video:
                got.append(packet)
                if packet.t == packets[-1].t:
                    break
        loop.join()
    finally:
        camera.close()
    assert got[0].keyframe
    times = [p.t for p in camera.pushed]
    first = times.index(got[0].t)
    assert [p.t for p in got] == times[first : first + len(got)], "no gap, nothing twice"
    assert [p.data for p in got] == [p.data for p in camera.pushed[first : first + len(got)]]
    assert len(got) > 100


def test_the_hub_shares_one_camera_stream_and_starts_each_viewer_at_the_current_gop(tmp_path):
    camera = FakeCamera(tmp_path / "control.sock")
    hub = VideoHub(camera.server.path, linger=0.5)
    loop = camera.run(looped(300), pause=0.003)
    try:
        first = hub.join()
        description = json.loads(first.take(5))
        assert description["mime"].startswith('video/mp4; codecs="avc1.')
        assert first.take(5)[4:8] == b"ftyp"
        time.sleep(0.3)
        second = hub.join()  # mid-GOP: it starts at that GOP's keyframe
        assert isinstance(second.take(5), str) and second.take(5)[4:8] == b"ftyp"
        fragment = second.take(5)
        assert fragment[4:8] == b"moof" and key_fragment(fragment)
        assert hub.streams == 1, "one camera stream for both viewers"
    finally:
        hub.close()
        loop.join()
        camera.close()


def key_fragment(fragment: bytes) -> bool:
    """The first sample's flags in the trun box say it is a sync sample."""
    # after the box type: version and flags, then count, data offset, duration, size, flags
    *_, flags = struct.unpack_from(">IiIII", fragment, fragment.find(b"trun") + 8)
    return flags == fmp4.KEY_FLAGS


def test_a_viewer_that_falls_behind_skips_to_the_next_keyframe(tmp_path):
    camera = FakeCamera(tmp_path / "control.sock")
    hub = VideoHub(camera.server.path, linger=0.5)
    slow = hub.join()
    deadline = time.monotonic() + 10
    while hub.streams == 0:  # the hub has the camera's stream before the flood starts
        assert time.monotonic() < deadline
        time.sleep(0.01)
    loop = camera.run(looped(200))  # far faster than a viewer that reads nothing
    loop.join()
    time.sleep(0.5)
    try:
        messages = []
        while True:
            try:
                messages.append(slow.take(0.2))
            except TimeoutError:
                break
        assert slow.skipped > 0
        assert isinstance(messages[0], str) and messages[1][4:8] == b"ftyp", "never dropped"
        fragments = messages[2:]
        assert fragments and key_fragment(fragments[0]), "it goes on from a keyframe"
        assert len(fragments) <= slow.limit
    finally:
        hub.close()
        camera.close()


def test_a_camera_restart_ends_every_viewer_stream(tmp_path):
    camera = FakeCamera(tmp_path / "control.sock")
    hub = VideoHub(camera.server.path, linger=0.5)
    loop = camera.run(looped(100), pause=0.003)
    viewer = hub.join()
    viewer.take(5)
    camera.close()  # the camera process goes away
    loop.join()
    deadline = time.monotonic() + 10
    while viewer.take(10) is not None:
        assert time.monotonic() < deadline
    assert hub.viewers == 0
    hub.close()


def gate_world(tmp_path, password: str = ""):
    camera = FakeCamera(tmp_path / "control.sock")
    text = (f"[camera]\ncontrol_socket = {camera.server.path}\n[web]\n"
            f"video_listen = 127.0.0.1:{free_port()}\n")
    if password:
        text += f"password = {password}\n"
    cfg = from_text(text)
    host = SimpleNamespace(cfg=cfg, link=SimpleNamespace(connected=True))
    server = LiveSocket(host, Gate(lambda e, s: [], cfg), VideoHub(camera.server.path)).start()
    return camera, server, f"ws://127.0.0.1:{server.port}"


def refused(url: str, **kwargs) -> int:
    with pytest.raises(InvalidStatus) as err:
        connect(url, **kwargs).close()
    return err.value.response.status_code


def test_the_websocket_server_lets_in_only_the_cameras_own_page(tmp_path):
    camera, server, base = gate_world(tmp_path, password="correct horse")
    loop = camera.run(looped(200), pause=0.003)
    try:
        auth = {"Authorization": "Basic OmNvcnJlY3QgaG9yc2U="}  # ":correct horse"
        assert refused(base + "/other", additional_headers=auth) == 404
        assert refused(base + "/live.ws") == 401
        assert refused(base + "/live.ws", additional_headers=auth,
                       origin="http://evil.example") == 403
        doubled = {**auth, "Host": "attacker.example"}  # beside the client's own
        assert refused(base + "/live.ws", additional_headers=doubled) == 400
        with socket.create_connection(("127.0.0.1", server.port)) as sock:  # DNS rebinding
            assert refused(f"ws://attacker.example:{server.port}/live.ws", sock=sock,
                           additional_headers=auth) == 403
        with connect(base + "/live.ws", additional_headers=auth,
                     origin=base.replace("ws:", "http:")) as ws:
            assert "mime" in json.loads(ws.recv(timeout=5))
            assert ws.recv(timeout=5)[4:8] == b"ftyp"
    finally:
        server.close()
        server.hub.close()
        loop.join()
        camera.close()
