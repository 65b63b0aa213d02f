"""The REST API under /api/v1/, one Bottle app; each group of routes is a module beside this
one, and openapi.py documents them all (the tests fuzz the API against it)."""

from __future__ import annotations

from typing import Any

from bottle import Bottle

from smartcam.host.api.base import boundary
from smartcam.host.api.camera import add_camera_routes
from smartcam.host.api.events import add_event_routes
from smartcam.host.api.openapi import document
from smartcam.host.api.settings import EDITABLE, add_settings_routes


def make_api(host: Any) -> Bottle:
    api = Bottle()
    api.install(boundary)

    @api.get("/openapi.json")
    def openapi() -> dict[str, Any]:
        return document(host.version, EDITABLE)

    add_camera_routes(api, host)
    add_event_routes(api, host)
    add_settings_routes(api, host)
    return api
