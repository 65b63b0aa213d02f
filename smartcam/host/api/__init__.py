"""The host's REST API under /api/v1/."""

from smartcam.host.api.app import make_api
from smartcam.host.api.base import error_reply

__all__ = ["error_reply", "make_api"]
