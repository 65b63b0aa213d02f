"""The gate in front of the web app: foreign names, other sites' writes, and the password."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import pytest

from smartcam.config import from_text
from smartcam.host import gate as gate_module
from smartcam.host.gate import Gate, host_name
from smartcam.host.process import self_check_url
from tests.host.wsgiclient import Client
from tests.waiting import Clock


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"ok": true}']


def gate(conf: str = "") -> Client:
    return Client(Gate(app, from_text("[camera]\nname = yard\n" + conf)))


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost", "yard.local", "YARD.local.",
                                  "smartcam-yard.local", "[::1]:80", "yard"])
def test_the_cameras_own_names_and_addresses_pass(host):
    assert gate().request("GET", "/api/v1/status", headers={"Host": host}).status == 200


@pytest.mark.parametrize("method, path", [("GET", "/api/v1/status"), ("GET", "/"),
                                          ("PUT", "/api/v1/settings"), ("POST", "/api/v1/record")])
def test_a_foreign_host_name_is_refused_whatever_it_asks(method, path):
    r = gate().request(method, path, body={}, headers={"Host": "evil.example:8080"})
    assert r.status == 403 and "does not answer to the name" in json.loads(r.body)["error"]


@pytest.mark.parametrize("listen", ["0.0.0.0", "::", "127.0.0.1", "192.0.2.1"])
def test_the_hosts_own_health_check_passes_whatever_it_listens_on(listen, monkeypatch):
    """The host asks itself for health every few seconds; refused, systemd restarts it."""
    monkeypatch.setattr(gate_module, "our_addresses", lambda: {"127.0.0.1", "::1", "192.0.2.1"})
    host = urlsplit(self_check_url(listen, 8080)).netloc
    assert gate().request("GET", "/api/v1/health", headers={"Host": host}).status == 200


def test_extra_names_come_from_the_config():
    client = gate("[web]\nhosts = cams.example.org, 192.0.2.50\n")
    for host in ("cams.example.org", "192.0.2.50:80"):
        assert client.request("GET", "/", headers={"Host": host}).status == 200


def test_a_new_address_answers_from_its_first_request(monkeypatch):
    """DHCP moved the camera: its old address list must not refuse the new one for long."""
    addresses = {"127.0.0.1", "192.0.2.1"}
    monkeypatch.setattr(gate_module, "our_addresses", lambda: set(addresses))
    clock = Clock()
    monkeypatch.setattr(gate_module.time, "monotonic", clock)
    client = gate()
    assert client.request("GET", "/", headers={"Host": "192.0.2.1"}).status == 200
    addresses.remove("192.0.2.1")
    addresses.add("192.0.2.12")
    clock.advance(gate_module.ADDRESSES_RETRY + 0.1)  # well inside ADDRESSES_SECONDS
    assert client.request("GET", "/", headers={"Host": "192.0.2.12"}).status == 200
    assert client.request("GET", "/", headers={"Host": "192.0.2.1"}).status == 403


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "http://evil.example"}, 403),
    ({"Origin": "null"}, 403),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "http://yard.local"}, 200),  # the camera's own page, through nginx
    ({"Origin": "http://yard.local:8080"}, 200),
    ({}, 200),  # not a browser: a peer, the master, curl
])
def test_writes_from_another_sites_page_are_refused(headers, status):
    r = gate().request("PUT", "/api/v1/settings", body={"motion": {"enabled": "false"}},
                       headers={"Host": "yard.local", **headers})
    assert r.status == status
    # reading is not a write: the same Origin may GET
    assert gate().request("GET", "/api/v1/status", headers={"Host": "yard.local",
                                                             **headers}).status == 200


def test_a_password_guards_all_but_health_and_signed_triggers():
    client = gate("[web]\npassword = correct horse\n")

    def basic(secret: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}

    r = client.request("GET", "/")
    assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    assert client.request("GET", "/", headers=basic("anyone:wrong horse")).status == 401
    assert client.request("GET", "/", headers={"Authorization": "Basic !!!"}).status == 401
    assert client.request("GET", "/", headers=basic("anyone:correct horse")).status == 200
    assert client.request("GET", "/api/v1/health").status == 200
    assert client.request("POST", "/api/v1/trigger", body={}).status == 200


def test_host_names_lose_their_port_and_case():
    assert host_name("Yard.Local:8080") == "yard.local"
    assert host_name("[fe80::1]:80") == "fe80::1" and host_name("10.0.0.7") == "10.0.0.7"


def test_the_real_host_refuses_a_rebinding_page_and_changes_nothing(tmp_path):
    import http.client

    from tests.host.hostproc import HostProcess

    with HostProcess(tmp_path, source="synthetic:empty") as proc:
        before = proc.conf.read_text()
        body = json.dumps({"motion": {"min_area": 42}})
        for headers in ({"Host": "attacker.example"},  # DNS rebinding: the page's own name
                        {"Host": f"127.0.0.1:{proc.port}", "Origin": "http://attacker.example"}):
            conn = http.client.HTTPConnection("127.0.0.1", proc.port, timeout=10)
            conn.request("PUT", "/api/v1/settings", body,
                         {"Content-Type": "application/json", **headers})
            answer = conn.getresponse()
            assert answer.status == 403, answer.read()
            conn.close()
        assert proc.conf.read_text() == before
        status, settings = proc.json("GET", "/api/v1/settings")
        assert status == 200 and settings["values"]["motion"]["min_area"] != 42
