"""What every route of the API shares: JSON in and out (smartcam/httpjson.py), and the
boundary that turns our own exceptions into `{"error": "..."}` with a 4xx status (503 while the
camera is away), so a request never sees a traceback."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from bottle import HTTPResponse, request

from smartcam.clips.library import BadQuery
from smartcam.coop.wire import HEADER, Rejected, check_signed
from smartcam.errors import CameraUnavailable, ControlError
from smartcam.httpjson import (  # noqa: F401 - the API's modules import them from here
    MAX_BODY,
    ApiError,
    error_reply,
    fail,
    json_body,
    query,
    reply,
)

log = logging.getLogger(__name__)
PREFIX = "/api/v1/"


def boundary(callback: Callable[..., Any]) -> Callable[..., Any]:
    """The API's edge: our exceptions become JSON errors, dicts become JSON."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            out = callback(*args, **kwargs)
        except HTTPResponse:
            raise
        except ApiError as err:
            return error_reply(err.status, str(err))
        except BadQuery as err:
            return error_reply(400, str(err))
        except CameraUnavailable as err:
            return error_reply(503, str(err))
        except ControlError as err:
            return error_reply(409, f"the camera refused: {err}")
        except UnicodeError:  # bottle decodes headers and query strings as UTF-8
            return error_reply(400, "the request has text that is not UTF-8")
        except Exception:  # a bug: logged with its traceback, answered without one
            log.exception("%s %s failed", request.method, request.path)
            return error_reply(500, "internal error; the host's log has the details")
        return reply(out) if isinstance(out, dict) else out

    return wrapper


def signed_payload(host: Any, what: str) -> dict[str, Any]:
    """The payload of the master's signed request (coop.wire.check_signed), or a 4xx."""
    body = request.body.read(MAX_BODY + 1)
    # the header as the server read it (latin-1): bottle would decode it as UTF-8 and raise
    signature = request.environ.get("HTTP_" + HEADER.upper().replace("-", "_"))
    try:
        return check_signed(body, signature, host.cfg.peers.secret,
                            host.cooperation.receiver.nonces.add, time.time())
    except Rejected as err:
        log.warning("signed %s refused (%d): %s", what, err.status, err)
        fail(err.status, str(err))
