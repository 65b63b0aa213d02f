"""What every route of the API shares: JSON in and out, and the boundary that turns our own
exceptions into `{"error": "..."}` with a 4xx status (503 while the camera is away), so a
request never sees a traceback."""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from typing import Any, NoReturn

from bottle import HTTPResponse, request

from smartcam.clips.library import BadQuery
from smartcam.errors import CameraUnavailable, ControlError, SmartcamError

log = logging.getLogger(__name__)
PREFIX = "/api/v1/"
MAX_BODY = 64 * 1024


class ApiError(SmartcamError):
    """An answer other than 200, with its status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def fail(status: int, message: str) -> NoReturn:
    raise ApiError(status, message)


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HTTPResponse:
    body = json.dumps(data, separators=(",", ":")) + "\n"
    head = {"Content-Type": "application/json", "Cache-Control": "no-store", **(headers or {})}
    return HTTPResponse(body, status=status, headers=head)


def error_reply(status: int, message: str) -> HTTPResponse:
    headers = {"Retry-After": "5"} if status == 503 else {}
    return reply({"error": message}, status, headers)


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


def json_body(required: bool) -> dict[str, Any]:
    """The request's JSON object ({} when there is no body and none is required)."""
    if request.content_length > MAX_BODY:
        fail(413, f"the body is larger than {MAX_BODY} bytes")
    raw = request.body.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:  # sent chunked, without a Content-Length
        fail(413, f"the body is larger than {MAX_BODY} bytes")
    if not raw:
        if required:
            fail(400, "this needs a JSON object in the body")
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        fail(400, f"the body is not valid JSON: {err}")
    except RecursionError:
        fail(400, "the body is nested too deeply")
    if not isinstance(data, dict):
        fail(400, "the body must be a JSON object")
    return data


def query(name: str, pattern: str, meaning: str) -> str | None:
    value = request.query.getunicode(name)
    if value is None:
        return None
    if not re.fullmatch(pattern, value):
        fail(400, f"{name} must be {meaning}")
    return value
