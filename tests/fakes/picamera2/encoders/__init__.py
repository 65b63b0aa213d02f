"""Fake of picamera2/encoders/__init__.py. The real one picks H264Encoder once, at import, by the
platform: the V4L2 hardware encoder on a Pi 4 (VC4), LibavH264Encoder (libx264) on a Pi 5
(PiSP). The fake picks it whenever it is looked up, by hooks.platform, so one test process can
run both."""

from .._fake import hooks
from .encoder import Encoder, Quality
from .h264_encoder import H264Encoder as V4L2H264Encoder
from .libav_h264_encoder import LibavH264Encoder

__all__ = ["Encoder", "H264Encoder", "LibavH264Encoder", "Quality"]


def __getattr__(name):
    if name == "H264Encoder":
        return V4L2H264Encoder if hooks.platform == "vc4" else LibavH264Encoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
