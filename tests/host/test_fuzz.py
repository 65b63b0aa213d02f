"""Schemathesis against the OpenAPI document on the in-process app (under wsgiref.validate)
with a real camera process behind it: no answer may be a 5xx, and every answer must match the
document. Examples are bounded so the whole run stays well under a minute.

The schema is loaded from smartcam.host.api.openapi at import (schemathesis' lazy fixture loader
does not work with pytest 9); the app fixture checks that the app serves that same document.
"""

from __future__ import annotations

import json
import time
from wsgiref.validate import validator

import pytest
import schemathesis

# Imported here, not lazily deep inside a Hypothesis test: pytest rewrites the asserts of
# plugin modules on import, which trips CPython 3.11's AST recursion check at that depth.
import schemathesis.wfc.escalation  # noqa: F401
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from werkzeug.test import Client

from smartcam import __version__
from smartcam.config import load
from smartcam.host.api.openapi import document
from smartcam.host.api.settings import EDITABLE
from smartcam.host.process import Host
from smartcam.host.web import make_app
from tests.camera.camproc import CameraProcess

MAX_EXAMPLES = 60
# schemathesis tries methods such as QUERY on purpose (the app answers 405); the validator
# warns about any method it does not know.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Unknown REQUEST_METHOD:wsgiref.validate.WSGIWarning"
)

schema = schemathesis.openapi.from_dict(document(__version__, EDITABLE))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    directory = tmp_path_factory.mktemp("fuzz")
    camera = CameraProcess(directory, source="synthetic:empty")
    with open(camera.conf, "a") as f:
        f.write(f"nas = {directory}/nas\ntype = local\n\n[motion]\n# fuzzed\nmin_area = 0.5\n")
    camera.start()
    host = Host(load(camera.conf))
    host.link.start()
    try:
        deadline = time.monotonic() + 10
        while not host.link.connected:
            assert time.monotonic() < deadline, "the camera link did not connect"
            time.sleep(0.02)
        # one clip, so the event routes have something real to find besides random ids
        host.link.request("trigger", cause="manual", seconds=1)
        wsgi = validator(make_app(host))
        served = Client(wsgi).get("/api/v1/openapi.json")
        try:
            assert served.status_code == 200
            assert json.loads(served.get_data()) == document(host.version, EDITABLE)
        finally:
            served.close()
        yield wsgi
    finally:
        host.close()
        camera.stop()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_api_matches_its_document(case, app):
    # The config schema's ranges and cross-key rules (max_clip > pre_record, polygons...) are
    # richer than JSON Schema: a settings body the document allows may still be refused (400).
    excluded = [positive_data_acceptance] if case.operation.path == "/settings" else []
    # buffered: werkzeug then closes every response, as wsgiref.validate insists
    response = case.call_and_validate(app=app, buffered=True, excluded_checks=excluded)
    assert response.status_code < 500
