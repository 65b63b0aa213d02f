"""Schemathesis against the master's OpenAPI document, logged in as an admin with the CSRF
token: no answer may be a 5xx, and every answer must match the document."""

from __future__ import annotations

import json
from wsgiref.validate import validator

import pytest
import schemathesis
import schemathesis.wfc.escalation  # noqa: F401 - see tests/host/test_fuzz.py
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from werkzeug.test import Client

from smartcam import __version__
from smartcam.master.api.base import COOKIE
from smartcam.master.openapi import document
from smartcam.master.web import make_app
from tests.master.world import T0, make_master, put_clip

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.filterwarnings(
    "ignore:Unknown REQUEST_METHOD:wsgiref.validate.WSGIWarning")
# Logging out, a new password and ending sessions would end the fuzzing session itself
# (test_web.py tests them).
schema = (schemathesis.openapi.from_dict(document(__version__))
          .exclude(path_regex="^/api/(logout|password)$")
          .exclude(method="DELETE", path_regex="^/api/sessions/"))


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    directory = tmp_path_factory.mktemp("master-fuzz")
    master = make_master(directory)
    master.accounts.add("alice", PASSWORD, "admin")
    master.accounts.add("bob", PASSWORD, "viewer")
    put_clip(directory / "nas", "cam-a", T0, "aaaaaaaa0001")
    master.index.reconcile()
    wsgi = validator(make_app(master))
    client = Client(wsgi)
    answer = client.post("/api/login", json={"username": "alice", "password": PASSWORD},
                         headers={"Host": "localhost"})
    login = json.loads(answer.get_data())
    cookie = answer.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    answer.close()
    served = client.get("/api/openapi.json", headers={"Cookie": f"{COOKIE}={cookie}"})
    assert json.loads(served.get_data()) == document(__version__)
    served.close()
    yield wsgi, {"Cookie": f"{COOKIE}={cookie}", "X-CSRF-Token": login["csrf"]}
    master.close()


@schema.parametrize()
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
def test_the_master_api_matches_its_document(case, app):
    wsgi, session = app
    # a body the document allows may still be refused: a weak password, an unknown role
    excluded = [positive_data_acceptance]
    response = case.call_and_validate(app=wsgi, buffered=True, headers=session,
                                      excluded_checks=excluded)
    assert response.status_code < 500
