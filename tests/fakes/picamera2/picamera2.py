"""Fake of picamera2/picamera2.py: a Picamera2 whose "sensor" is a thread drawing a test scene.

The public methods keep the real names, parameters and defaults (see tests/fakes/README.md), and
the real request flow: each frame goes through process_requests, which runs queued jobs (such as
capture_request), feeds the encoders, and keeps at most one completed request when queue=True.
SensorTimestamp is CLOCK_MONOTONIC nanoseconds, as on a Raspberry Pi.
"""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any

from ._fake import hooks
from .encoders import Encoder
from .job import Job
from .request import CompletedRequest
from .scene import scene

YUV_FORMATS = ("YUV420", "YVU420")
KNOWN_FORMATS = YUV_FORMATS + ("XBGR8888", "XRGB8888", "BGR888", "RGB888")
RAW_FORMAT = "SRGGB10_CSI2P"  # what an IMX219 reports; only recorded, the fake has no raw stream
# Row alignment (stride) of YUV420 luma in bytes: chroma rows are aligned to 64 bytes on a Pi 5
# (PiSP) and 32 on a Pi 4 (VC4), luma to twice that; picamera2's align_stream() describes the
# same hardware rule. So a 320-wide lores has no padding on a Pi 4 and 64 bytes on a Pi 5.
YUV420_ROW_ALIGN = {"pisp": 128, "vc4": 64}


class Picamera2:
    def __init__(self, camera_num=0, verbose_console=None, tuning=None, allocator=None):
        if camera_num >= hooks.cameras_attached:
            # The real constructor indexes global_camera_info() and fails the same way.
            raise IndexError("list index out of range")
        self.camera_idx = camera_num
        self.tuning = tuning
        self.request_lock = threading.Lock()
        self.lock = threading.Lock()  # protects _job_list and completed_requests, as the real one
        self.is_open = True
        self.camera_config: dict[str, Any] | None = None
        self.stream_map: dict[str, Any] = {}
        self.started = False
        self.stop_count = 0
        self.configure_count = 0
        self.frames = 0
        self.completed_requests: list[CompletedRequest] = []
        self._job_list: list[Job] = []
        self._encoders: set[Encoder] = set()
        self._max_queue_len = 1
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._prod = threading.Event()  # the real loop's notifyme pipe
        self.sensor_resolution = (3280, 2464)
        hooks.cameras.append(self)

    # -- configuration -------------------------------------------------------------------------

    @staticmethod
    def _make_initial_stream_config(stream_config, updates, ignore_list=()):
        if updates is None:
            return None
        valid = ("format", "size", "stride", "preserve_ar")
        for key, value in updates.items():
            if key in valid:
                stream_config[key] = value
            elif key not in ignore_list:
                raise ValueError(f"Bad key {key!r}: valid stream configuration keys are {valid}")
        return stream_config

    @staticmethod
    def align_stream(stream_config, optimal=True):
        align = YUV420_ROW_ALIGN if optimal else 2
        w, h = stream_config["size"]
        stream_config["size"] = (w - w % align, h - h % 2)

    # The real signature, dict defaults included (they are only read, never mutated).
    def create_video_configuration(
        self,
        main={},  # noqa: B006
        lores=None,
        raw={},  # noqa: B006
        transform=None,
        colour_space=None,
        buffer_count=6,
        controls={},  # noqa: B006
        display="main",
        encode="main",
        queue=True,
        sensor={},  # noqa: B006
        use_case="video",
    ):
        """Real defaults, except transform and colour_space, which are libcamera objects there."""
        if not self.is_open:
            raise RuntimeError("Camera not opened")
        main = self._make_initial_stream_config(
            {"format": "XBGR8888", "size": (1280, 720), "preserve_ar": True}, main
        )
        self.align_stream(main, optimal=False)
        lores = self._make_initial_stream_config(
            {"format": "YUV420", "size": main["size"], "preserve_ar": False}, lores
        )
        if lores is not None:
            self.align_stream(lores, optimal=False)
        raw = self._make_initial_stream_config(
            {"format": RAW_FORMAT, "size": main["size"]},
            raw,
            ["bit_depth", "crop_limits", "exposure_limits", "fps", "unpacked"],
        )
        if colour_space is None:
            small = main["size"][0] < 1280 or main["size"][1] < 720
            colour_space = "Smpte170m" if small else "Rec709"
        controls = {"FrameDurationLimits": (33333, 33333)} | controls
        config = {
            "use_case": use_case,
            "transform": transform,
            "colour_space": colour_space,
            "buffer_count": buffer_count,
            "queue": queue,
            "main": main,
            "lores": lores,
            "raw": raw,
            "controls": controls,
            "sensor": sensor,
        }
        for role, name in (("Display", display), ("Encode", encode)):
            if name is not None and config.get(name) is None:
                raise RuntimeError(f"{role} stream {name} was not defined")
        config["display"] = display
        config["encode"] = encode
        return config

    @staticmethod
    def _check_stream_config(stream_config, name):
        if type(stream_config) is not dict:
            raise RuntimeError(name + " stream should be a dictionary")
        for key in ("format", "size"):
            if key not in stream_config:
                raise RuntimeError(f"{key} not found in {name} stream")
        if name != "raw" and stream_config["format"] not in KNOWN_FORMATS:
            raise RuntimeError("Bad format " + str(stream_config["format"]) + " in stream " + name)
        size = stream_config["size"]
        if type(size) is not tuple or len(size) != 2:
            raise RuntimeError("size in " + name + " stream should be (width, height)")
        if size[0] % 2 or size[1] % 2:
            raise RuntimeError("width and height should be even")

    def check_camera_config(self, camera_config):
        for name in ("colour_space", "transform", "main", "lores", "raw"):
            if name not in camera_config:
                raise RuntimeError(f"{name!r} key expected in camera configuration")
        self._check_stream_config(camera_config["main"], "main")
        if camera_config["lores"] is not None:
            self._check_stream_config(camera_config["lores"], "lores")
            main_w, main_h = camera_config["main"]["size"]
            lores_w, lores_h = camera_config["lores"]["size"]
            if lores_w > main_w or lores_h > main_h:
                raise RuntimeError("lores stream dimensions may not exceed main stream")
            if camera_config["lores"]["format"] not in YUV_FORMATS:
                raise RuntimeError("lores stream must be YUV")
        if camera_config["raw"] is not None:
            self._check_stream_config(camera_config["raw"], "raw")

    def configure(self, camera_config=None):
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        if not isinstance(camera_config, dict):
            raise NotImplementedError("the fake Picamera2 only takes configuration dicts")
        camera_config = camera_config.copy()
        self.check_camera_config(camera_config)
        for name in ("main", "lores"):
            stream = camera_config[name]
            if stream is None:
                continue
            stream = camera_config[name] = dict(stream)
            w, h = stream["size"]
            if stream["format"] in YUV_FORMATS:
                align = YUV420_ROW_ALIGN[hooks.platform]
                stride = -(-w // align) * align
                stream["stride"], stream["framesize"] = stride, stride * h * 3 // 2
            else:
                stride = w * (3 if stream["format"].endswith("888") else 4)
                stream["stride"], stream["framesize"] = stride, stride * h
        self.stream_map = {
            "main": "main",
            "lores": "lores" if camera_config["lores"] else None,
            "raw": None,
        }
        self._max_queue_len = (
            1 if camera_config["queue"] and camera_config["buffer_count"] > 1 else 0
        )
        self.camera_config = camera_config
        self.configure_count += 1

    def camera_configuration(self):
        return self.camera_config

    def stream_configuration(self, name="main"):
        return self.camera_config[name]

    @property
    def encoders(self):
        return self._encoders

    # -- running -------------------------------------------------------------------------------

    def start(self, config=None, show_preview=False):
        if config is not None:
            self.configure(config)
        if self.camera_config is None:
            raise RuntimeError("Camera has not been configured")
        if self.started:
            return
        for name in ("main", "lores"):
            stream = self.camera_config[name]
            if stream is not None and stream["format"] not in YUV_FORMATS:
                raise NotImplementedError(
                    f"the fake sensor draws YUV420 only, not {name} {stream['format']}"
                )
        self.started = True
        self._running.set()
        self._thread = threading.Thread(target=self._sensor, name="fake-picamera2", daemon=True)
        self._thread.start()

    def stop(self):
        if not self.started:
            return
        self._running.clear()
        self._prod.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._thread = None
        self.stop_count += 1
        self.started = False
        with self.lock:
            stale, self.completed_requests = self.completed_requests, []
        for request in stale:
            request.release()

    def close(self):
        if not self.is_open:
            return
        self.stop()
        self.is_open = False
        self.camera_config = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_traceback):
        self.close()

    # -- encoders ------------------------------------------------------------------------------

    def start_encoder(self, encoder=None, output=None, pts=None, quality=None, name=None):
        _encoder = encoder
        if _encoder is None:
            if len(self._encoders) > 1:
                raise RuntimeError("Multiple possible encoders, need to pass encoder")
            if len(self._encoders) == 1:
                _encoder = next(iter(self._encoders))
        if _encoder is None:
            raise RuntimeError("No encoder specified")
        if output is not None:
            if isinstance(output, str):
                raise NotImplementedError("the fake has no FileOutput")
            _encoder.output = output
        streams = self.camera_configuration()
        if name is None:
            name = streams["encode"]
        if streams.get(name, None) is None:
            raise RuntimeError(f"Encode stream {name} was not defined")
        _encoder.name = name
        _encoder.width, _encoder.height = streams[name]["size"]
        _encoder.format = streams[name]["format"]
        _encoder.stride = streams[name]["stride"]
        min_frame_duration = max(self.camera_config["controls"]["FrameDurationLimits"][0], 33333)
        if getattr(_encoder, "framerate", None) is None:
            _encoder.framerate = 1000000 / min_frame_duration
        _encoder.start(quality=quality)
        with self.lock:
            self._encoders.add(_encoder)

    def stop_encoder(self, encoders=None):
        if encoders is None:
            remove = list(self._encoders)
        elif isinstance(encoders, Encoder):
            remove = [encoders]
        else:
            remove = list(encoders)
        for encoder in remove:
            encoder.stop()
        with self.lock:
            for encoder in remove:
                self._encoders.remove(encoder)

    def start_recording(self, encoder, output, pts=None, config=None, quality=None, name=None):
        if self.camera_config is None and config is None:
            raise NotImplementedError("the fake needs a configuration dict")
        if config is not None:
            self.configure(config)
        self.start_encoder(encoder, output, pts=pts, quality=quality, name=name)
        self.start()

    def stop_recording(self):
        self.stop()
        self.stop_encoder()

    # -- jobs: the real asynchronous machinery, one frame at a time ---------------------------

    def dispatch_functions(self, functions, wait, signal_function=None, immediate=False):
        """wait: True, False (return the job), None (wait unless signal_function) or seconds."""
        if wait is None:
            wait = signal_function is None
        timeout = None if wait is True else wait
        with self.lock:
            only_job = not self._job_list
            job = Job(functions, signal_function)
            self._job_list.append(job)
            if only_job and (self.completed_requests or immediate):
                self._run_process_requests()
        return job.get_result(timeout=timeout) if wait else job

    def _run_process_requests(self):
        """Make the event loop (the sensor thread) run process_requests again, as the real one
        does by writing to a pipe: jobs run only on that thread."""
        self._prod.set()

    def wait(self, job, timeout=None):
        return job.get_result(timeout=timeout)

    def cancel_all_and_flush(self):
        with self.lock:
            for job in self._job_list:
                job.cancel()
            self._job_list = []

    def _run_jobs(self):
        finished = []
        while self._job_list:
            if self._job_list[0].execute():
                finished.append(self._job_list.pop(0))
            else:
                break
        return finished

    def wait_for_timestamp_(self, timestamp_ns):
        if not timestamp_ns:
            return (True, None)
        while self.completed_requests:
            md = self.completed_requests[0].get_metadata()
            if md["SensorTimestamp"] - 1000 * md["ExposureTime"] >= timestamp_ns:
                return (True, None)
            self.completed_requests.pop(0).release()
        return (False, None)

    def capture_request_(self):
        if not self.completed_requests:
            return (False, None)
        request = self.completed_requests.pop(0)
        request._handed_out = True
        hooks.count("handed_out")
        return (True, request)

    def capture_request(self, wait=None, signal_function=None, flush=None):
        if flush is True:
            flush = time.monotonic_ns()
        functions = [partial(self.wait_for_timestamp_, flush), self.capture_request_]
        return self.dispatch_functions(functions, wait, signal_function)

    # -- the sensor ----------------------------------------------------------------------------

    def _frame_duration_ns(self):
        limits = self.camera_config["controls"]["FrameDurationLimits"]
        return max(int(limits[0]), 1000) * 1000

    def _sensor(self):
        duration = self._frame_duration_ns()
        buffer_count = self.camera_config["buffer_count"]
        next_ns = time.monotonic_ns()
        while self._running.is_set():
            delay = (next_ns - time.monotonic_ns()) / 1e9
            if delay > 0:
                if self._prod.wait(delay):  # a job was queued (or stop): run the loop now
                    self._prod.clear()
                    if self._running.is_set():
                        self.process_requests([])
                continue
            stamp, next_ns = next_ns, next_ns + duration
            if time.monotonic_ns() - next_ns > duration:  # fell behind: skip, as a sensor would
                next_ns = time.monotonic_ns()
            if hooks.stall or hooks.outstanding >= buffer_count:
                continue  # no frame: stalled sensor, or every buffer is still held by someone
            self.process_requests([self._draw(stamp, duration)])

    def _draw(self, stamp_ns, duration_ns):
        phase = (stamp_ns / 1e9 / 4.0) % 1.0  # the square crosses the frame every 4 seconds
        buffers = {}
        for name in ("main", "lores"):
            stream = self.camera_config[name]
            if stream is not None:
                buffers[name] = scene(stream["size"], stream["stride"], phase)
        metadata = {
            "SensorTimestamp": stamp_ns,
            "ExposureTime": duration_ns // 2000,
            "FrameDuration": duration_ns // 1000,
            "AnalogueGain": 1.0,
            "DigitalGain": 1.0,
            "ColourTemperature": 5000,
            "Lux": 400.0,
            "SensorBlackLevels": (4096, 4096, 4096, 4096),
        }
        return CompletedRequest(self, buffers, metadata)

    def process_requests(self, requests):
        """The real event loop's step: jobs first, then encoders, then trim the queue."""
        self.frames += len(requests)
        with self.lock:
            hooks.wait_while_wedged()  # a wedged loop holds the lock: nobody can queue a job
            for req in requests:
                req.acquire()  # the use for being in completed_requests
            self.completed_requests += requests
            finished = self._run_jobs()
            for req in requests:
                for encoder in self._encoders:
                    if encoder.name in self.stream_map:
                        encoder.encode(encoder.name, req)
                req.release()
            while len(self.completed_requests) > self._max_queue_len:
                self.completed_requests.pop(0).release()
        for job in finished:
            job.signal()
