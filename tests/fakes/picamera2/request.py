"""Fake of picamera2/request.py: CompletedRequest over numpy buffers instead of libcamera ones.

Keeps the real reference counting (acquire/release; the last release recycles the buffers) and
the real array layout: make_array on a YUV420 stream returns (height * 3 // 2, stride), stride
being the padded row length in bytes, with the U and V planes packed at stride // 2.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np

from ._fake import hooks


class CompletedRequest:
    def __init__(
        self, picam2: Any, buffers: dict[str, np.ndarray], metadata: dict[str, Any]
    ) -> None:
        self.ref_count = 1
        self.lock: threading.Lock = picam2.request_lock
        self.picam2 = picam2
        self.stop_count = picam2.stop_count
        self.configure_count = picam2.configure_count
        self.config = picam2.camera_config.copy()
        self.stream_map = picam2.stream_map.copy()
        self._buffers = buffers  # name -> flat uint8 buffer, as libcamera would have mapped it
        self._metadata = metadata
        self._handed_out = False
        hooks.count("created")

    def acquire(self) -> None:
        with self.lock:
            if self.ref_count == 0:
                raise RuntimeError("CompletedRequest: acquiring lock with ref_count 0")
            self.ref_count += 1

    def release(self) -> None:
        # The application's release of a request it was handed; picamera2's own modules (its
        # encoders keep a reference a frame or more) release theirs too, in any order.
        if self._handed_out and not sys._getframe(1).f_globals["__name__"].startswith("picamera2"):
            self._handed_out = False
            hooks.count("released_by_app")
        with self.lock:
            self.ref_count -= 1
            if self.ref_count < 0:
                raise RuntimeError("CompletedRequest: lock now has negative ref_count")
            if self.ref_count > 0:
                return
            self._buffers = {}
            self.config = None
            self.stream_map = None
        hooks.count("recycled")

    def make_buffer(self, name: str) -> np.ndarray:
        """A 1-d copy of the named stream's buffer (the real one copies too)."""
        if self.stream_map is None:
            raise RuntimeError("CompletedRequest: request already released")
        if self.stream_map.get(name, None) is None:
            raise RuntimeError(f"Stream {name!r} is not defined")
        return np.array(self._buffers[name], dtype=np.uint8)

    def make_array(self, name: str) -> np.ndarray:
        """A 2-d array of the named stream; YUV420 keeps the stride padding, as the real one."""
        if hooks.make_array_error is not None:
            raise hooks.make_array_error
        buffer = self.make_buffer(name)
        config = self.config[name]
        if config["format"] not in ("YUV420", "YVU420"):
            raise RuntimeError("Format " + config["format"] + " not supported by the fake")
        _, h = config["size"]
        return buffer.reshape((h * 3 // 2, config["stride"]))

    def get_metadata(self) -> dict[str, Any]:
        return dict(self._metadata)

    # Fake-only: what the fake encoder reads, bypassing the make_array hook.
    def _array(self, name: str) -> np.ndarray:
        config = self.config[name]
        return self._buffers[name].reshape((config["size"][1] * 3 // 2, config["stride"]))
