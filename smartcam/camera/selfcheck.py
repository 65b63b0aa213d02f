"""The Pi camera path's self-check: one journal line, once per start, that says whether it is sound.

The picamera2 path is the one part no test here runs on real hardware, so the first real Pi has
to tell us. Over its first seconds the camera watches what picamera2 hands it and logs, once:
the streams libcamera configured (size, stride, frame size), the encoder, the first packet's
NAL unit types, the keyframe spacing, how many frames the packets trail the frames by, and the
packets' clock offset from their frames. A problem in any of them makes it a WARNING that
names the problem; README's "When a real Pi does not record" says what each one means.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from smartcam.camera.annexb import IDR, PPS, SPS, nal_types
from smartcam.camera.frames import Capture

log = logging.getLogger(__name__)
WINDOW_SECONDS = 3.0  # long enough for two keyframe intervals of one second


@dataclass
class SelfCheck:
    fps: float
    iperiod: int
    facts: list[str]  # what the source knows before the first frame (streams, encoder)
    problems: list[str]
    done: bool = False
    _frames: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    _seen: int = 0
    _first_packet: str = ""
    _keyframes: list[int] = field(default_factory=list)  # packet numbers of keyframes
    _packets: int = 0
    _lags: list[int] = field(default_factory=list)
    _offsets: list[float] = field(default_factory=list)
    _last_packet_t: float | None = None

    def observe(self, capture: Capture) -> None:
        if self.done:
            return
        self._frames.append(capture.t)
        self._seen += 1
        for packet in capture.packets:
            self._packet(packet.data, packet.t, packet.keyframe)
        if self._seen >= self.fps * WINDOW_SECONDS:
            self.report()

    def _packet(self, data: bytes, t: float, keyframe: bool) -> None:
        if not self._first_packet:
            types = nal_types(data)
            self._first_packet = f"{'keyframe' if keyframe else 'not a keyframe'} {types}"
            if not keyframe or types[:2] != [SPS, PPS] or IDR not in types:
                self.problems.append(f"the first packet is {self._first_packet}, not [7, 8, .. 5]")
        if self._last_packet_t is not None and t <= self._last_packet_t:
            self.problems.append(f"packet times go back ({self._last_packet_t:.6f} -> {t:.6f})")
        self._last_packet_t = t
        if keyframe:
            self._keyframes.append(self._packets)
        self._packets += 1
        frame_t = min(self._frames, key=lambda f: abs(f - t))
        self._offsets.append(t - frame_t)
        self._lags.append(len(self._frames) - 1 - list(self._frames).index(frame_t))

    def report(self) -> None:
        """Log what was seen, once (also called at close, when the window was cut short;
        with no frame at all there is nothing to judge, and the stall says so itself)."""
        if self.done or not self._seen:
            return
        self.done = True
        self._judge()
        seen = self.facts + self._seen_facts()
        if self.problems:
            log.warning("camera self-check found problems: %s. It saw: %s",
                        "; ".join(self.problems), "; ".join(seen))
        else:
            log.info("camera self-check passed: %s", "; ".join(seen))

    def _judge(self) -> None:
        frame = 1 / self.fps
        if not self._packets:
            self.problems.append(f"no encoded packet in {self._seen} frames")
            return
        spacing = {b - a for a, b in zip(self._keyframes, self._keyframes[1:], strict=False)}
        if spacing - {self.iperiod}:
            self.problems.append(f"keyframes every {sorted(spacing)} packets, not {self.iperiod}")
        worst = max(self._offsets, key=abs)
        if abs(worst) > frame / 2:
            self.problems.append(f"a packet is {worst * 1e3:+.1f} ms off every frame's time")

    def _seen_facts(self) -> list[str]:
        facts = [f"{self._seen} frames, {self._packets} packets"]
        if self._first_packet:
            facts.append(f"first packet {self._first_packet}")
        if len(self._keyframes) > 1:
            gaps = [b - a for a, b in zip(self._keyframes, self._keyframes[1:], strict=False)]
            facts.append(f"keyframes every {gaps} packets")
        if self._lags:
            facts.append(f"packets trail their frames by up to {max(self._lags)}")
            worst = max(self._offsets, key=abs)
            facts.append(f"packet clock offset up to {worst * 1e6:+.0f} µs")
        return facts
