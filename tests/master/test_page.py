"""The master as a user meets it: `smartcam demo` (two cameras, the master behind nginx with
TLS), then Debian's Chromium: the setup link, the grid with live pictures, and an incident of
the demo's group replayed with both videos playing on one clock. Screenshots of the grid and
the incident page in desktop and phone sizes go to tests/artifacts/."""

from __future__ import annotations

import json
import re
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.host.nginx import NGINX
from tests.host.test_page import CHROMEDRIVER, CHROMIUM, shoot, start_browser
from tests.waiting import wait_for

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip)")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER and NGINX),
                       reason="needs chromium, chromium-driver and nginx (Debian packages)"),
]
MASTER = "https://127.0.0.1:8443"
PASSWORD = "a long demo password"
SYNC = 0.25  # seconds the videos may be apart while playing


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo")
    proc = subprocess.Popen(
        [sys.executable, "-m", "smartcam", "demo", "--duration", "240", "--dir", str(directory)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []

    def link() -> str | None:
        line = proc.stdout.readline()
        lines.append(line)
        assert proc.poll() is None, "".join(lines)
        found = re.search(r"first admin: open (https://\S+)", line)
        return found.group(1) if found else None

    try:
        setup = wait_for(link, timeout=60, what="the master's setup link")
        yield setup, directory
    finally:
        proc.terminate()
        proc.communicate(timeout=60)  # reads what is left, and closes the pipe


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium"),
                           "--ignore-certificate-errors",  # the demo's self-signed certificate
                           "--autoplay-policy=no-user-gesture-required")
    try:
        yield driver
    finally:
        driver.quit()


def shoot_sizes(browser, name: str) -> None:
    """Screenshots in the desktop size and a phone's."""
    shoot(browser, f"{name}-desktop.png")
    browser.set_window_size(390, 844)
    try:
        shoot(browser, f"{name}-phone.png")
    finally:
        browser.set_window_size(1280, 900)


def fill(browser, **fields):
    for id_, value in fields.items():
        box = browser.find_element("id", id_)
        box.clear()
        box.send_keys(value)


def test_setup_then_login_and_the_grid_shows_every_camera_live(demo, browser):
    setup, _ = demo
    browser.get(f"{MASTER}/")
    wait_for(lambda: browser.current_url.endswith("/login"), what="a redirect to the login page")
    browser.get(setup)
    fill(browser, username="owner", password=PASSWORD, again=PASSWORD)
    browser.find_element("css selector", "button[type=submit]").click()
    wait_for(lambda: browser.current_url == f"{MASTER}/", what="the grid after setup")
    cookies = {c["name"]: c for c in browser.get_cookies()}
    session = cookies["__Host-sc_session"]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Lax"
    tiles = wait_for(lambda: len(browser.find_elements("css selector", ".tile img")) == 2
                     and browser.find_elements("css selector", ".tile img"), what="two tiles")
    wait_for(lambda: all(browser.execute_script("return arguments[0].naturalWidth", t)
                         for t in tiles), timeout=30, what="a picture in every tile")
    names = {t.get_attribute("data-camera")
             for t in browser.find_elements("css selector", ".tile")}
    assert names == {"yard", "plaza"}
    wait_for(lambda: "group demo: armed" in browser.find_element("id", "arming").text,
             what="the demo group's arming")
    for text, expect in (("someday 8-9", "write days and times"),
                         ("daily 00:00-00:00", None)):
        plan = browser.find_element("css selector", "#arming input")
        plan.clear()
        plan.send_keys(text)
        browser.find_element("xpath", "//button[text()='Arm on this schedule']").click()
        if expect:
            wait_for(lambda e=expect: e in browser.find_element("id", "fleet-error").text,
                     what="a bad schedule explained")
    wait_for(lambda: "(on its schedule)" in browser.find_element("id", "arming").text,
             what="the group armed on its schedule")
    assert "armed" in browser.find_element("id", "arming").text
    assert browser.find_element("css selector", "#arming input").get_attribute(
        "value") == "mon,tue,wed,thu,fri,sat,sun 00:00-00:00"
    for info in browser.find_elements("css selector", ".tile .info"):
        assert "null" not in info.text and "undefined" not in info.text, info.text
    first = tiles[0].get_attribute("src")
    wait_for(lambda: tiles[0].get_attribute("src") != first, timeout=15,
             what="the tile's picture to be renewed")
    # the setup link is dead now
    browser.get(setup)
    fill(browser, username="mallory", password=PASSWORD, again=PASSWORD)
    browser.find_element("css selector", "button[type=submit]").click()
    wait_for(lambda: "not valid" in browser.find_element("id", "error").text
             or "users already" in browser.find_element("id", "error").text,
             what="the used link refused")
    # log out, then in again
    browser.get(f"{MASTER}/")
    wait_for(lambda: browser.find_elements("css selector", "#who button"), what="the user menu")
    browser.find_element("css selector", "#who button").click()
    wait_for(lambda: browser.current_url.endswith("/login"), what="the login page after logout")
    fill(browser, username="owner", password=PASSWORD)
    browser.find_element("css selector", "button[type=submit]").click()
    wait_for(lambda: browser.current_url == f"{MASTER}/", what="the grid after login")
    wait_for(lambda: len(browser.find_elements("css selector", "#timeline a")) >= 1,
             timeout=60, what="an incident in the timeline")
    shoot_sizes(browser, "master-grid")


def test_an_incident_replays_both_cameras_in_sync(demo, browser):
    browser.get(f"{MASTER}/")

    def group_incident():
        for link in browser.find_elements("css selector", "#timeline a"):
            if "plaza" in link.text and "yard" in link.text:
                return link.get_attribute("href")
        return None

    href = wait_for(group_incident, timeout=90, what="an incident recorded by both cameras")
    browser.get(href)
    wait_for(lambda: len(browser.find_elements("css selector", "video")) == 2, what="two videos")
    wait_for(lambda: all(v["ready"] >= 2 for v in browser.execute_script(
        "return window.smartcamSync()")), timeout=30, what="both videos loaded")
    assert len(browser.find_elements("css selector", ".lane .pre")) == 2  # pre-roll marked
    origin = browser.find_element("css selector", ".badge.rec").text
    assert origin == "origin"

    def apart() -> float:
        states = browser.execute_script("return window.smartcamSync()")
        inside = [s for s in states if 0.3 < s["want"] < 8 and not s["paused"]]
        assert len(inside) == 2, states
        return max(abs(s["at"] - s["want"]) for s in inside)

    browser.execute_script("window.smartcamSeek(4); window.smartcamPlay(true);")
    time.sleep(2.0)
    worst = max(apart() for _ in range(5) if time.sleep(0.3) is None)
    assert worst < SYNC, f"videos {worst:.2f} s apart while playing"
    browser.execute_script("window.smartcamSeek(1.5);")  # scrub back
    time.sleep(1.5)
    worst = max(apart() for _ in range(5) if time.sleep(0.3) is None)
    assert worst < SYNC, f"videos {worst:.2f} s apart after scrubbing"
    browser.execute_script("window.smartcamPlay(false);")
    shoot_sizes(browser, "master-incident")


def test_an_exported_incident_checks_out_and_replays_offline(demo, browser, tmp_path):
    """The zip of an incident of both cameras: every sum as the manifest says, and its own
    page, opened from the file system with no server, plays both clips in sync."""
    import hashlib
    import zipfile

    browser.get(f"{MASTER}/")
    href = wait_for(lambda: next((a.get_attribute("href") for a in browser.find_elements(
        "css selector", "#timeline a") if "plaza" in a.text and "yard" in a.text), None),
        timeout=90, what="an incident of both cameras")
    browser.get(href)
    link = wait_for(lambda: browser.find_element("id", "export").get_attribute("href")
                    if browser.find_element("id", "export").is_displayed() else None,
                    what="the export link")
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    request = urllib.request.Request(link, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, context=insecure, timeout=60) as answer:
        (tmp_path / "export.zip").write_bytes(answer.read())
    with zipfile.ZipFile(tmp_path / "export.zip") as z:
        z.extractall(tmp_path / "export")
    out = tmp_path / "export"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["all_intact"] and len(manifest["clips"]) == 2
    for line in (out / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
        assert manifest["files"][name] == digest
    browser.get((out / "index.html").as_uri())
    wait_for(lambda: len(browser.execute_script("return window.smartcamSync ? "
                                                "window.smartcamSync() : []")) == 2,
             what="the offline page's two videos")
    wait_for(lambda: all(v["ready"] >= 2 for v in browser.execute_script(
        "return window.smartcamSync()")), timeout=30, what="both videos loaded from the files")
    browser.execute_script("window.smartcamSeek(4); window.smartcamPlay(true);")
    time.sleep(2.0)
    states = browser.execute_script("return window.smartcamSync()")
    playing = [s for s in states if 0.3 < s["want"] < 8 and not s["paused"]]
    assert len(playing) == 2, states
    assert max(abs(s["at"] - s["want"]) for s in playing) < SYNC, states
    browser.execute_script("window.smartcamPlay(false);")


def test_a_share_link_works_in_a_fresh_browser_until_revoked_or_expired(demo, browser,
                                                                        tmp_path):
    _, directory = demo
    browser.get(f"{MASTER}/")
    href = wait_for(lambda: next((a.get_attribute("href") for a in browser.find_elements(
        "css selector", "#timeline a") if "plaza" in a.text and "yard" in a.text), None),
        timeout=90, what="an incident of both cameras")
    incident = href.rsplit("/", 1)[1]
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in browser.get_cookies())

    def call(method, path, body=None):
        with urllib.request.urlopen(urllib.request.Request(
                f"{MASTER}/api/me", headers={"Cookie": cookie}), context=insecure) as me:
            csrf = json.load(me)["csrf"]
        request = urllib.request.Request(
            f"{MASTER}{path}", method=method, data=json.dumps(body).encode() if body else None,
            headers={"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json",
                     "Origin": MASTER})
        with urllib.request.urlopen(request, context=insecure, timeout=10) as answer:
            return json.load(answer)

    first = call("POST", f"/api/incidents/{incident}/shares", {"seconds": 3600})
    second = call("POST", f"/api/incidents/{incident}/shares", {"seconds": 3600})
    stranger = start_browser(tmp_path / "stranger", "--ignore-certificate-errors")
    try:
        stranger.get(MASTER + first["link"])
        wait_for(lambda: len(stranger.find_elements("css selector", "video")) == 2,
                 what="the shared incident's two videos in a browser with no session")
        assert not stranger.get_cookies()  # no session was needed, none was made
        call("DELETE", f"/api/shares/{first['share']['id']}")
        stranger.get(MASTER + first["link"])
        wait_for(lambda: "revoked" in stranger.find_element("id", "error").text,
                 what="the revoked link refused")
        assert not stranger.find_elements("css selector", "video")
        with sqlite3.connect(directory / "master" / "state" / "master.db") as db:
            db.execute("UPDATE shares SET expires = ? WHERE id = ?",  # as if days had passed
                       (time.time() - 1, second["share"]["id"]))
        stranger.get(MASTER + second["link"])
        wait_for(lambda: "expired" in stranger.find_element("id", "error").text,
                 what="the expired link refused")
    finally:
        stranger.quit()


def test_http_is_redirected_and_tls_headers_are_sent(demo):
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen(f"{MASTER}/login", context=insecure, timeout=10) as page:
        assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as moved:
        opener.open("http://127.0.0.1:8080/login?x=1", timeout=10)
    moved.value.close()
    assert moved.value.code == 301
    assert moved.value.headers["Location"] == f"{MASTER}/login?x=1"
    with pytest.raises(urllib.error.HTTPError) as hidden:
        urllib.request.urlopen(f"{MASTER}/_nas/yard/", context=insecure, timeout=10)
    hidden.value.close()
    assert hidden.value.code == 404  # only the app's X-Accel-Redirect reaches the NAS
