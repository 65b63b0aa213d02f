"""The master's app in-process: login, sessions, CSRF, rights on every media URL, and no
traceback or 5xx for bad input."""

from __future__ import annotations

import json
import re
import time
from types import SimpleNamespace
from wsgiref.headers import Headers

import pytest

from smartcam.master.api.base import COOKIE
from smartcam.master.web import make_app
from tests.host.wsgiclient import Client
from tests.master.world import T0, make_master, put_clip

PASSWORD = "correct horse battery"


class Browser:
    """A WSGI client that keeps the session cookie and sends the CSRF token, like the page."""

    def __init__(self, app, address="192.0.2.10"):
        self.client, self.cookie, self.csrf, self.address = Client(app), "", None, address

    def request(self, method, url, body=None, headers=None, csrf=True):
        h = {"Host": "master.test", **(headers or {})}
        if self.cookie:
            h["Cookie"] = f"{COOKIE}={self.cookie}"
        if csrf and self.csrf and method != "GET":
            h["X-CSRF-Token"] = self.csrf
        environ, start_response, started = self.client.open(method, url, body, h)
        environ["REMOTE_ADDR"] = self.address
        result = self.client.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            result.close()
        r = SimpleNamespace(status=int(started["status"].split()[0]),
                            headers=Headers(started["headers"]), body=content)
        for value in r.headers.get_all("Set-Cookie"):
            if match := re.match(rf"{COOKIE}=([^;]*);", value):
                self.cookie = match.group(1)
        return r

    def json(self, method, url, body=None, **kw):
        r = self.request(method, url, body, **kw)
        assert b"Traceback" not in r.body
        data = json.loads(r.body) if r.body else None
        if isinstance(data, dict) and data.get("csrf"):
            self.csrf = data["csrf"]
        return r.status, data

    def login(self, name, password=PASSWORD):
        return self.json("POST", "/api/login", {"username": name, "password": password})


@pytest.fixture
def master(tmp_path):
    m = make_master(tmp_path)
    m.accounts.add("alice", PASSWORD, "admin")
    m.accounts.add("viola", PASSWORD, "viewer", ("cam-b",))
    nas = tmp_path / "nas"
    put_clip(nas, "cam-a", T0, "aaaaaaaa0001")
    put_clip(nas, "cam-b", T0 + 1, "bbbbbbbb0001", incident="aaaaaaaa0001", cause="peer",
             origin="cam-a")
    put_clip(nas, "cam-a", T0 + 900, "aaaaaaaa0002")
    m.index.reconcile()
    yield m
    m.close()


@pytest.fixture
def app(master):
    return make_app(master)


def test_the_first_admin_comes_from_a_one_time_link(tmp_path):
    m = make_master(tmp_path)
    link = m.first_admin()
    assert link.startswith("https://master.test/setup#")
    assert (tmp_path / "state" / "setup-link").stat().st_mode & 0o777 == 0o600
    token = link.split("#")[1]
    b = Browser(make_app(m))
    assert b.json("GET", "/api/health")[1]["setup_needed"] is True
    status, data = b.json("POST", "/api/setup", {"token": "nope", "username": "root",
                                                 "password": PASSWORD})
    assert status == 400 and "not valid" in data["error"]
    status, data = b.json("POST", "/api/setup", {"token": token, "username": "root",
                                                 "password": "short"})
    assert status == 400 and "12 characters" in data["error"]
    status, data = b.json("POST", "/api/setup", {"token": token, "username": "root",
                                                 "password": PASSWORD})
    assert status == 200 and data["user"]["role"] == "admin" and b.cookie
    assert b.json("GET", "/api/me")[1]["user"]["name"] == "root"
    again = Browser(make_app(m))
    assert again.json("POST", "/api/setup", {"token": token, "username": "evil",
                                             "password": PASSWORD})[0] == 400
    assert m.first_admin() is None  # a user exists: no new link
    m.close()


def test_a_configured_hash_makes_the_first_admin(tmp_path):
    from smartcam.master import passwords
    m = make_master(tmp_path, "")
    m.close()
    conf = tmp_path / "smartcam.conf"
    conf.write_text(conf.read_text().replace(
        "[master]\n", f"[master]\nusername = owner\npassword_hash = "
        f"{passwords.hash_password(PASSWORD)}\n"))
    from smartcam import config
    from smartcam.master.process import Master
    (tmp_path / "state" / "master.db").unlink()
    m = Master(config.load(str(conf)), mdns=False)
    assert m.first_admin() is None
    assert Browser(make_app(m)).login("owner")[0] == 200
    m.close()


def test_login_sets_a_host_cookie_and_a_new_id_every_time(app):
    b = Browser(app)
    b.cookie = "chosen-by-an-attacker"
    r = b.request("POST", "/api/login", {"username": "alice", "password": PASSWORD})
    assert r.status == 200
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "chosen" not in cookie
    for flag in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert flag in cookie
    assert "Domain" not in cookie  # __Host- cookies carry none
    first = b.cookie
    assert b.login("alice")[0] == 200 and b.cookie != first
    b2 = Browser(app)
    b2.cookie = first
    assert b2.json("GET", "/api/me")[0] == 401  # the old id died at the new login


def test_wrong_passwords_are_refused_alike_and_audited(master, app):
    b = Browser(app)
    s1, d1 = b.login("alice", "wrong password!!")
    s2, d2 = b.login("nobody", "wrong password!!")
    assert (s1, d1) == (s2, d2) == (401, {"error": "wrong user name or password"})
    log = master.accounts.audit_log()
    assert [(e["user"], e["ok"]) for e in log[:2]] == [("nobody", False), ("alice", False)]
    assert all(PASSWORD not in str(e) and "wrong password" not in e["detail"] for e in log)


def test_guessing_gets_429_with_retry_after_and_the_right_password_waits_too(app):
    b = Browser(app, address="198.51.100.7")
    for _ in range(3):
        assert b.login("alice", "not the password")[0] == 401
    r = b.request("POST", "/api/login", {"username": "alice", "password": PASSWORD})
    assert r.status == 429 and int(r.headers["Retry-After"]) >= 1


def test_state_changes_need_the_csrf_token_and_our_own_origin(app):
    b = Browser(app)
    b.login("alice")
    body = {"username": "eve", "password": PASSWORD, "role": "viewer"}
    status, data = b.json("POST", "/api/users", body, csrf=False)
    assert status == 403 and "CSRF" in data["error"]
    status, data = b.json("POST", "/api/users", body,
                          headers={"Origin": "https://evil.example"})
    assert status == 403 and "another site" in data["error"]
    status, _ = b.json("POST", "/api/users", body, headers={"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    status, _ = b.json("POST", "/api/users", body, headers={"Origin": "https://master.test"})
    assert status == 201
    # a login form posted from another site is refused too (login CSRF)
    assert Browser(app).json("POST", "/api/login", {"username": "alice", "password": PASSWORD},
                             headers={"Origin": "https://evil.example"})[0] == 403


def test_logout_ends_the_session_on_the_server(app):
    b = Browser(app)
    b.login("alice")
    token = b.cookie
    assert b.json("POST", "/api/logout")[0] == 200
    b.cookie = token  # a copy of the cookie kept by someone
    assert b.json("GET", "/api/me")[0] == 401


def test_a_viewer_of_one_camera_sees_nothing_of_another(master, app):
    b = Browser(app)
    b.login("viola")
    a_stem = master.index.incident("aaaaaaaa0001", None)[0]["stem"]
    b_stem = master.index.incident("aaaaaaaa0001", None)[1]["stem"]
    assert b.request("GET", f"/media/{b_stem}.mp4").status == 200
    for url in (f"/media/{a_stem}.mp4", f"/media/{a_stem}.jpg", "/api/incidents/aaaaaaaa0002",
                "/api/cameras/cam-a/picture.jpg", "/api/cameras/cam-a/live.mjpg"):
        assert b.request("GET", url).status in (403, 404), url
    status, data = b.json("GET", "/api/incidents")
    assert [i["incident"] for i in data["incidents"]] == ["aaaaaaaa0001"]
    assert data["incidents"][0]["cameras"] == ["cam-b"]
    status, data = b.json("GET", "/api/incidents/aaaaaaaa0001")
    assert [c["camera"] for c in data["clips"]] == ["cam-b"]
    assert b.json("GET", "/api/users")[0] == 403
    assert b.request("GET", "/users").status == 403


def test_every_route_but_login_needs_a_session(master, app):
    b = Browser(app)
    stem = master.index.incident("aaaaaaaa0001", None)[0]["stem"]
    for url in ("/api/me", "/api/cameras", "/api/incidents", "/api/incidents/aaaaaaaa0001",
                f"/media/{stem}.mp4", "/api/users", "/api/audit", "/api/sessions"):
        assert b.request("GET", url).status == 401, url
    r = b.request("GET", "/")
    assert r.status in (302, 303) and r.headers["Location"].endswith("/login")


def test_traversal_and_junk_in_every_path_parameter_is_a_clean_4xx(app):
    b = Browser(app)
    b.login("alice")
    for url in ("/media/..%2f..%2fetc%2fpasswd.mp4", "/media/cam-a_x_y.mp4",
                "/media/%2e%2e.jpg", "/api/incidents/..%2f..", "/api/incidents/%00",
                "/api/cameras/..%2fetc/picture.jpg", "/api/cameras/<script>/live.mjpg",
                "/static/..%2f..%2fweb.py", "/incident/%2e%2e", "/api/sessions/x",
                "/api/incidents?day=yesterday", "/api/incidents?limit=-1",
                "/api/incidents?cause=bogus", "/api/incidents?camera=%3Cb%3E"):
        method = "DELETE" if url.startswith("/api/sessions") else "GET"
        r = b.request(method, url)
        assert 400 <= r.status < 500 or url.startswith("/incident/"), (url, r.status)
        assert b"Traceback" not in r.body and b"root:" not in r.body


def test_security_headers_on_pages_and_api(app):
    b = Browser(app)
    for url in ("/login", "/api/health"):
        r = b.request("GET", url)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "object-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "same-origin"


def test_the_incident_aligns_clips_by_their_utc_start(master, app):
    b = Browser(app)
    b.login("alice")
    status, data = b.json("GET", "/api/incidents/aaaaaaaa0001")
    assert status == 200 and data["origin"] == "cam-a"
    assert [(c["camera"], c["offset"]) for c in data["clips"]] == [("cam-a", 0.0),
                                                                   ("cam-b", 1.0)]
    assert data["clips"][0]["pre_record"] == 2.0
    r = b.request("GET", data["clips"][1]["video"], headers={"X-Accel-Base": "/_nas/"})
    assert r.headers["X-Accel-Redirect"] == (
        f"/_nas/cam-b/2026-03-01/{data['clips'][1]['stem']}.mp4")


def test_two_step_login_with_an_authenticator_app(master, app):
    from smartcam.master import totp

    b = Browser(app)
    b.login("alice")
    assert b.json("POST", "/api/totp/offer", {"password": "wrong password!!"})[0] == 403
    status, offer = b.json("POST", "/api/totp/offer", {"password": PASSWORD})
    assert status == 200 and offer["qr"].startswith("data:image/svg+xml;base64,")
    assert offer["uri"].startswith("otpauth://totp/smartcam:alice?secret=")
    step = int(time.time() // totp.STEP)
    status, done = b.json("POST", "/api/totp/confirm", {"code": totp.code(offer["secret"], step)})
    assert status == 200 and len(done["recovery_codes"]) == 10
    other = Browser(app, address="192.0.2.77")
    status, data = other.login("alice")
    assert status == 401 and data["code_needed"] is True and not other.cookie
    status, data = other.json("POST", "/api/login", {"username": "alice", "password": PASSWORD,
                                                     "code": "123456"})
    assert status == 401 and not other.cookie
    status, data = other.json("POST", "/api/login", {
        "username": "alice", "password": PASSWORD,
        "code": totp.code(offer["secret"], step + 1)})
    assert status == 200 and data["user"]["totp"] is True and other.cookie
    log = master.accounts.audit_log()
    assert any(e["detail"] == "wrong one-time code" and not e["ok"] for e in log)


def test_the_pages_build_text_never_html():
    """Camera names, titles, versions and messages come from the network (mDNS, the NAS, a
    camera's health): the pages put them in with textContent, never as HTML."""
    from smartcam.master.web import STATIC

    for script in STATIC.glob("*.js"):
        code = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in code, f"{script.name} uses {sink}"


def test_an_export_holds_every_clip_its_sums_and_says_which_was_changed(master, app, tmp_path):
    import hashlib
    import io
    import zipfile

    b = Browser(app)
    b.login("alice")
    clips = master.index.incident("aaaaaaaa0001", None)
    r = b.request("GET", "/api/incidents/aaaaaaaa0001/export.zip")
    assert r.status == 200 and r.headers["Content-Type"] == "application/zip"
    assert "attachment" in r.headers["Content-Disposition"]
    z = zipfile.ZipFile(io.BytesIO(r.body))
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["all_intact"] and manifest["exported_by"] == "alice"
    names = set(z.namelist())
    for c in clips:
        assert {f"clips/{c['stem']}.mp4", f"clips/{c['stem']}.json",
                f"clips/{c['stem']}.jpg"} <= names
    for line in z.read("SHA256SUMS").decode().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256(z.read(name)).hexdigest() == digest
    page = z.read("index.html").decode()
    assert "function replay" in page and "export function" not in page
    assert 'src="http' not in page and "fetch(" not in page  # offline: nothing from a server
    # a clip changed on the NAS after upload: still packed, and said so
    day = tmp_path / "nas" / "cam-b" / "2026-03-01"
    (day / f"{clips[1]['stem']}.mp4").write_bytes(b"\1" * 1000)
    r = b.request("GET", "/api/incidents/aaaaaaaa0001/export.zip")
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(r.body)).read("manifest.json"))
    assert not manifest["all_intact"]
    assert [c["intact"] for c in manifest["clips"]] == [True, False]
    assert "does not match" in zipfile.ZipFile(io.BytesIO(r.body)).read("index.html").decode()
    # a viewer of cam-b exports only cam-b's part; another's clip is not in it
    v = Browser(app)
    v.login("viola")
    r = v.request("GET", "/api/incidents/aaaaaaaa0001/export.zip")
    assert {n.split("/")[1].split("_")[0] for n in zipfile.ZipFile(io.BytesIO(r.body)).namelist()
            if n.startswith("clips/")} == {"cam-b"}
    assert any(e["action"] == "export" for e in master.accounts.audit_log())
    # retention took a file: a clean 409 before any byte of zip
    (day / f"{clips[1]['stem']}.mp4").unlink()
    status, data = b.json("GET", "/api/incidents/aaaaaaaa0001/export.zip")
    assert status == 409 and "cannot be read" in data["error"]


def test_a_share_link_shows_one_incident_until_revoked_or_expired(master, app, monkeypatch):
    b = Browser(app)
    b.login("alice")
    status, data = b.json("POST", "/api/incidents/aaaaaaaa0001/shares", {"seconds": 3600})
    assert status == 201 and data["link"].startswith("/s/")
    link = data["link"]
    stranger = Browser(app, address="203.0.113.9")  # no account, no session
    assert stranger.request("GET", link).status == 200
    status, shown = stranger.json("GET", link + "/incident.json")
    assert status == 200 and [c["camera"] for c in shown["clips"]] == ["cam-a", "cam-b"]
    video = shown["clips"][0]["video"]
    assert video.startswith(link + "/media/")
    assert stranger.request("GET", video).status == 200
    # nothing else: another incident's clip through this link, or the rest of the system
    other = master.index.incident("aaaaaaaa0002", None)[0]["stem"]
    assert stranger.request("GET", f"{link}/media/{other}.mp4").status == 404
    assert stranger.request("GET", f"/media/{other}.mp4").status == 401
    assert stranger.json("GET", "/api/incidents")[0] == 401
    assert stranger.request("GET", link[:-3] + "abc/incident.json").status == 404  # forged
    share_id = data["share"]["id"]
    assert any(e["action"] == "share view" for e in master.accounts.audit_log())
    # revoked
    assert b.json("DELETE", f"/api/shares/{share_id}")[0] == 200
    status, gone = stranger.json("GET", link + "/incident.json")
    assert status == 410 and "revoked" in gone["error"]
    assert stranger.request("GET", video).status == 410
    # expired
    _, data = b.json("POST", "/api/incidents/aaaaaaaa0001/shares", {"seconds": 60})
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    status, gone = stranger.json("GET", data["link"] + "/incident.json")
    assert status == 410 and "expired" in gone["error"]
    # a ceiling on how long a link may live
    assert b.json("POST", "/api/incidents/aaaaaaaa0001/shares",
                  {"seconds": 365 * 86400})[0] == 400


def test_a_share_link_with_a_pin_and_a_viewers_share(master, app):
    b = Browser(app)
    b.login("viola")  # sees cam-b alone: her link shows cam-b alone
    status, data = b.json("POST", "/api/incidents/aaaaaaaa0001/shares",
                          {"seconds": 600, "pin": "4711"})
    link = data["link"]
    stranger = Browser(app, address="203.0.113.10")
    status, err = stranger.json("GET", link + "/incident.json")
    assert status == 401 and "PIN" in err["error"]
    assert stranger.json("POST", link + "/pin", {"pin": "1234"})[0] == 403
    r = stranger.request("POST", link + "/pin", {"pin": "4711"})
    assert r.status == 200 and f"Path={link}" in r.headers["Set-Cookie"]
    pin_cookie = r.headers["Set-Cookie"].split(";")[0]
    r = stranger.request("GET", link + "/incident.json", headers={"Cookie": pin_cookie})
    assert r.status == 200
    assert [c["camera"] for c in json.loads(r.body)["clips"]] == ["cam-b"]
    # viola may not revoke alice's links, nor alice see hers unless admin
    assert b.json("GET", "/api/shares")[1]["shares"][0]["pin"] is True
