"""Fake of picamera2/encoders/encoder.py: the Encoder base class and Quality.

Same timestamps as the real base class: outputframe() gets microseconds since the first frame
this encoder saw, from SensorTimestamp // 1000; the first one is kept in `firsttimestamp`
(microseconds on the sensor clock). No audio.
"""

from __future__ import annotations

import threading
from enum import Enum
from typing import Any

from ..outputs import Output


class Quality(Enum):
    VERY_LOW = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    VERY_HIGH = 4


class Encoder:
    def __init__(self) -> None:
        self._width = 0
        self._height = 0
        self._stride = 0
        self._format: str | None = None
        self._output: list[Output] = []
        self._running = False
        self._name: str | None = None
        self._lock = threading.Lock()
        self.firsttimestamp: int | None = None
        self.frame_skip_count = 1
        self._skip_count = 0
        self._output_lock = threading.Lock()
        self.audio = False

    @property
    def running(self) -> bool:
        return self._running

    @property
    def width(self) -> int:
        return self._width

    @width.setter
    def width(self, value: int) -> None:
        if not isinstance(value, int):
            raise RuntimeError("Width must be integer")
        self._width = value

    @property
    def height(self) -> int:
        return self._height

    @height.setter
    def height(self, value: int) -> None:
        if not isinstance(value, int):
            raise RuntimeError("Height must be integer")
        self._height = value

    @property
    def size(self) -> tuple[int, int]:
        return (self._width, self._height)

    @property
    def stride(self) -> int:
        return self._stride

    @stride.setter
    def stride(self, value: int) -> None:
        if not isinstance(value, int):
            raise RuntimeError("Stride must be integer")
        self._stride = value

    @property
    def format(self) -> str | None:
        return self._format

    @format.setter
    def format(self, value: str) -> None:
        self._format = value

    @property
    def output(self) -> Any:
        return self._output[0] if len(self._output) == 1 else self._output

    @output.setter
    def output(self, value: Any) -> None:
        if isinstance(value, list):
            for out in value:
                if not isinstance(out, Output):
                    raise RuntimeError("Must pass Output")
        elif isinstance(value, Output):
            value = [value]
        else:
            raise RuntimeError("Must pass Output")
        self._output = value

    @property
    def name(self) -> str | None:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str):
            raise RuntimeError("Name must be string")
        self._name = value

    def encode(self, stream: Any, request: Any) -> None:
        if self._skip_count == 0:
            with self._lock:
                self._encode(stream, request)
        self._skip_count = (self._skip_count + 1) % self.frame_skip_count

    def _encode(self, stream: Any, request: Any) -> None:
        raise NotImplementedError

    def start(self, quality: Quality | None = None) -> None:
        with self._lock:
            if self._running:
                raise RuntimeError("Encoder already running")
            self._setup(quality)
            self._running = True
            self.firsttimestamp = None
            for out in self._output:
                out.start()
            self._start()

    def _start(self) -> None:
        pass

    def stop(self) -> None:
        with self._lock:
            if not self._running:
                raise RuntimeError("Encoder already stopped")
            self._running = False
            self._stop()
            for out in self._output:
                out.stop()

    def _stop(self) -> None:
        pass

    def outputframe(
        self,
        frame: Any,
        keyframe: bool = True,
        timestamp: int | None = None,
        packet: Any = None,
        audio: bool = False,
    ) -> None:
        with self._output_lock:
            for out in self._output:
                out.outputframe(frame, keyframe, timestamp, packet, audio)

    def _setup(self, quality: Quality | None) -> None:
        pass

    def _timestamp(self, request: Any) -> int:
        # The real one reads request.request.metadata[controls.SensorTimestamp] (libcamera).
        ts = int(request.get_metadata()["SensorTimestamp"] / 1000)  # ns to us
        if self.firsttimestamp is None:
            self.firsttimestamp = ts
            return 0
        return ts - self.firsttimestamp
