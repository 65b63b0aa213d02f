"""Fake of picamera2/encoders/__init__.py as it resolves on a Pi 5 (no /dev/video11 encoder):
H264Encoder is LibavH264Encoder."""

from .encoder import Encoder, Quality
from .libav_h264_encoder import LibavH264Encoder
from .libav_h264_encoder import LibavH264Encoder as H264Encoder

__all__ = ["Encoder", "H264Encoder", "LibavH264Encoder", "Quality"]
