"""Fake of picamera2/outputs/output.py: the Output base class encoders write to (same API)."""

from __future__ import annotations

from typing import Any


class Output:
    def __init__(self, pts: Any = None) -> None:
        self.recording = False
        self.ptsoutput = pts
        self.needs_pacing = False

    def start(self) -> None:
        self.recording = True

    def stop(self) -> None:
        self.recording = False

    def outputframe(
        self,
        frame: Any,
        keyframe: bool = True,
        timestamp: int | None = None,
        packet: Any = None,
        audio: bool = False,
    ) -> None:
        """frame: encoded bytes; timestamp: microseconds since the encoder's first frame."""

    def outputtimestamp(self, timestamp: int | None) -> None:
        if self.ptsoutput is not None and timestamp is not None:
            print(f"{timestamp // 1000}.{timestamp % 1000:03}", file=self.ptsoutput, flush=True)

    def _add_stream(self, encoder_stream: Any, *args: Any, **kwargs: Any) -> None:
        pass
