"""A fake picamera2 for tests: the parts smartcam uses, with the real names and signatures.

See tests/fakes/README.md for what it fakes and where each signature comes from. Test hooks
(stall the sensor, fail make_array, count requests) live in picamera2._fake.
"""

from .picamera2 import Picamera2
from .request import CompletedRequest

__all__ = ["CompletedRequest", "Picamera2"]
