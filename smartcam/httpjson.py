"""JSON in and out for bottle apps (the host's API and the master's): replies, errors with a
status, bodies read with a size limit, so a request never sees a traceback; and the building
blocks of their OpenAPI documents."""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from bottle import HTTPResponse, request

from smartcam.errors import SmartcamError

MAX_BODY = 64 * 1024
JSON = "application/json"


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


# -- OpenAPI building blocks ------------------------------------------------------------


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    return out


def body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def error(description: str) -> dict[str, Any]:
    return body(ref("Error"), description)
