"""Fake of picamera2/outputs/__init__.py: only the Output base class (no file or ffmpeg outputs)."""

from .output import Output

__all__ = ["Output"]
