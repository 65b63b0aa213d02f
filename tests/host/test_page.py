"""The camera's page in a real headless Chromium (Debian's chromium + chromium-driver), served by
the real `smartcam host` and `smartcam camera` processes behind the real nginx site.

It must see the live picture change, press Record now, see the new clip in the list and play
it (through nginx's X-Accel-Redirect from the NAS folder). Screenshots are saved under
tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import re
import shutil
import statistics
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from smartcam.camera import clockstamp
from smartcam.host.web import STATIC
from tests.host.hostproc import HostProcess
from tests.host.nginx import NGINX, Nginx
from tests.waiting import wait_for

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None)
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
    "--disable-background-networking --disable-component-update --disable-sync --no-first-run"
).split()

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip)")
ActionChains = webdriver.ActionChains
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="Chromium is not installed (Debian: apt-get install chromium chromium-driver)",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The page's URL: through nginx when it is installed, else the host directly."""
    directory = tmp_path_factory.mktemp("page")
    processes = HostProcess(directory, source="synthetic:walkers", motion=True, post_record=2)
    processes.start()
    nginx = None
    try:
        if NGINX:
            nginx = Nginx(directory, upstream=f"127.0.0.1:{processes.port}",
                          video_upstream=f"127.0.0.1:{processes.video_port}",
                          nas_dir=processes.nas, camera=processes.name)
        yield nginx.url if nginx else processes.url, processes
        # the host outlives everything the page did (the last test stops the camera)
        assert processes.host.poll() is None, processes.output("host")
    finally:
        if nginx:
            nginx.stop()
        processes.stop()


def start_browser(user_dir: Path, *extra: str):
    """Debian's Chromium, headless, driven by chromium-driver; quit() it when done."""
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *extra):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_dir}")
    options.add_argument("--window-size=1280,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium"))
    try:
        yield driver
    finally:
        driver.quit()


def shoot(driver, name: str, full: bool = True) -> Path:
    """A screenshot of the whole page (the window stretched to the page's height)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    size = driver.get_window_size()
    if full:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(size["width"], height + 20)
        time.sleep(0.5)
    driver.save_screenshot(str(path))
    driver.set_window_size(size["width"], size["height"])
    return path


# What each of the page's modules does as soon as it runs; empty when all of it happened.
# (A module that fails to load stops the whole import graph, so nothing at all would run.)
FEATURES_MISSING = """
const missing = [];
const has = (what, ok) => { if (!ok) missing.push(what); };
const byId = (id) => document.getElementById(id);
const sized = (c) => c.width === Math.round(c.clientWidth * devicePixelRatio);  // not 300x150
const drawn = (id) => {
  const c = byId(id);
  return c.getContext("2d").getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0);
};
const asked = performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname);
// (the live stream never ends, so it never gets an entry here: its picture is checked below)
for (const path of ["/api/v1/health", "/api/v1/status", "/api/v1/events", "/api/v1/settings",
                    "/snapshot.jpg"]) {
  has(`a request for ${path}`, asked.includes(path));
}
has("the state pill (status.js)", byId("state").className !== "pill unknown");
has("the health card (health.js)", byId("health").textContent.includes("running"));
has("the motion graph (levels.js)", drawn("levels"));
has("the live picture (live.js)", (byId("live-video").videoWidth || byId("live").naturalWidth) > 0);
has("the settings form (settings.js)", document.querySelectorAll("#motion-fields .field").length);
has("the mask's text field (settings.js)", byId("set-motion-mask") !== null);
has("the snapshot to draw on (mask.js)", byId("mask-image").naturalWidth > 0);
has("the mask canvas at its size (mask.js)", sized(byId("mask-canvas")));
return missing;
"""


def test_every_module_of_the_page_loads_and_runs(site, browser):
    """The page is split into ES modules (static/*.js, app.js imports the rest): each one is
    fetched with a JavaScript type (else Chromium refuses it), none is left out of the import
    graph, and what each does when it runs is there."""
    url, _ = site
    browser.get(url + "/")
    try:
        wait_for(lambda: not browser.execute_script(FEATURES_MISSING),
                 what="every part of the page to start")
    except AssertionError:
        missing = browser.execute_script(FEATURES_MISSING)
        console = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        raise AssertionError(f"the page did not start: no {missing}; console: {console}") from None
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map((e) => [e.name, e.responseStatus])")
    scripts = {urlsplit(name).path: status for name, status in loaded
               if urlsplit(name).path.endswith(".js")}
    modules = {f"/static/{p.name}" for p in STATIC.glob("*.js")}
    assert modules == set(scripts), "every module, and only these, is loaded"
    assert all(status in (200, 304, None) for status in scripts.values()), scripts
    for path in modules:
        with urllib.request.urlopen(url + path, timeout=10) as answer:
            assert "javascript" in answer.headers["Content-Type"], (path, answer.headers)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_the_page_shows_live_video_records_and_plays_a_clip(site, browser):
    url, processes = site
    browser.get(url + "/")
    pill = browser.find_element("id", "state-text")
    wait_for(lambda: pill.text in ("Watching", "Recording (motion)", "Recording (manual)"),
             what=f"the camera to show as working (it says {pill.text!r})")
    assert browser.title.startswith("cam-test")

    # the live view: H.264, and a different picture a moment later
    live = browser.find_element("id", "live-video")
    wait_for(lambda: browser.execute_script("return arguments[0].videoWidth", live) == 640,
             what="the live picture")
    first = live.screenshot_as_png
    wait_for(lambda: live.screenshot_as_png != first, timeout=10, what="the live picture to change")
    wait_for(lambda: browser.execute_script(
        "return document.getElementById('health').textContent.includes('running')"),
        what="the health card")

    # record now -> the clip is listed once finished -> it plays in the page
    browser.find_element("id", "record").click()
    note = browser.find_element("id", "record-note")
    wait_for(lambda: "event" in note.text, what=f"the record button's answer ({note.text!r})")
    event = re.search(r"event ([0-9a-f]{8,32})", note.text)[1]
    item = wait_for(lambda: browser.find_elements("css selector", f'li[data-event="{event}"]'),
                    timeout=45, what=f"event {event} in the list")[0]
    shoot(browser, "page-desktop.png")
    item.click()
    video = browser.find_element("id", "video")
    wait_for(lambda: browser.execute_script(
        "return arguments[0].readyState >= 2 && arguments[0].duration > 0", video),
        timeout=20, what="the clip to load in the player")
    duration = browser.execute_script("return arguments[0].duration", video)
    assert duration > 1.0
    src = browser.execute_script("return arguments[0].currentSrc", video)
    assert src.endswith(f"/api/v1/events/{event}/clip")
    time.sleep(1)
    assert browser.execute_script("return arguments[0].currentTime", video) > 0  # it plays
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", video)
    shoot(browser, "page-playing.png", full=False)
    if url != processes.url:  # through nginx: an uploaded clip comes from the NAS folder itself
        wait_for(lambda: processes.json("GET", f"/api/v1/events/{event}")[1]["stored"] == "nas",
                 what="the clip to be uploaded")
        request = urllib.request.Request(f"{url}/api/v1/events/{event}/clip",
                                          headers={"Range": "bytes=0-99"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 206 and len(answer.read()) == 100
            assert "immutable" in answer.headers["Cache-Control"]  # nginx's /_nas/ location

    # the settings form carries the schema's help
    helps = browser.find_elements("css selector", "#motion-fields .help")
    assert any("percent of the unmasked frame" in h.text for h in helps)

    # draw a mask on the snapshot, save it: it lands in smartcam.conf and in the camera
    canvas = browser.find_element("id", "mask-canvas")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    wait_for(lambda: browser.execute_script(
        "return document.getElementById('mask-image').naturalWidth") == 640, what="the snapshot")
    box = canvas.rect
    for fx, fy in ((0.1, 0.1), (0.5, 0.1), (0.5, 0.3), (0.1, 0.3)):
        dx, dy = int(box["width"] * (fx - 0.5)), int(box["height"] * (fy - 0.5))
        ActionChains(browser).move_to_element_with_offset(canvas, dx, dy).click().perform()
    browser.find_element("id", "mask-finish").click()
    mask = browser.find_element("id", "set-motion-mask").get_attribute("value")
    points = [tuple(map(float, p.split(","))) for p in mask.split()]
    assert len(points) == 4 and all(abs(x - 10) < 2 or abs(x - 50) < 2 for x, _ in points), mask
    shoot(browser, "page-mask.png", full=False)
    browser.find_element("css selector", "#settings button[type=submit]").click()
    saved = browser.find_element("id", "settings-note")
    wait_for(lambda: "Saved" in saved.text, what=f"the settings to be saved ({saved.text!r})")
    assert f"mask = {mask}" in processes.conf.read_text()
    status, settings = processes.json("GET", "/api/v1/settings")
    assert settings["values"]["motion"]["mask"] == mask

    # no script errors and no Content-Security-Policy refusals
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


# The synthetic camera draws its capture time along the picture's top edge (clockstamp.py):
# read it back from what the browser shows. [capture ms, now ms, the element's playback time]
CLOCK_JS = """
const el = arguments[0];
const w = el.videoWidth || el.naturalWidth, h = el.videoHeight || el.naturalHeight;
if (!w) return null;
const c = document.createElement("canvas");
c.width = w; c.height = h;
const g = c.getContext("2d");
g.drawImage(el, 0, 0, w, h);
const size = Math.floor(Math.max(8, Math.floor(w / 64)) / 2) * 2;
const row = g.getImageData(0, size / 2, BITS * size, 1).data;
let ms = 0;
for (let i = 0; i < BITS; i++) ms = ms * 2 + (row[(i * size + size / 2) * 4] > 128 ? 1 : 0);
return [ms, Date.now(), el.currentTime || 0];
""".replace("BITS", str(clockstamp.BITS))


def latencies(browser, element, samples: int = 12) -> list[float]:
    """Glass to glass, in seconds: from the camera capturing a frame to the browser showing it."""
    found = []
    for _ in range(samples):
        shown, now, _ = browser.execute_script(CLOCK_JS, element)
        found.append((now - shown) / 1000)
        time.sleep(0.25)
    return found


def test_the_live_view_is_h264_low_latency_and_catches_up_after_a_stall(site, browser):
    """MSE on the camera's own packets (through nginx's WebSocket proxy when there is one):
    the video's clock advances, the picture is the camera's newest, and after the page's
    thread stalls for 3 s the player jumps back to the live edge instead of staying behind."""
    url, _ = site
    browser.get(url + "/")
    frame = browser.find_element("id", "live-frame")
    video = browser.find_element("id", "live-video")
    wait_for(lambda: frame.get_attribute("data-live") == "mse" and browser.execute_script(
        "return arguments[0].currentTime", video) > 0.5, what="H.264 to play")
    before = browser.execute_script(CLOCK_JS, video)
    time.sleep(1.0)
    after = browser.execute_script(CLOCK_JS, video)
    assert after[2] > before[2] + 0.5, "the video's time advances"
    assert after[0] - before[0] > 500, "the picture shown a second later is newer"
    steady = latencies(browser, video)
    assert all(-0.05 < lag < 3 for lag in steady), steady  # a real capture time, just now
    browser.execute_script("const t = Date.now(); while (Date.now() - t < 3000) {}")
    time.sleep(2.0)  # the queued fragments arrive; the player jumps to the newest
    caught_up = latencies(browser, video)
    print(f"live H.264 latency: steady median {statistics.median(steady):.3f} s, "
          f"after a 3 s stall {statistics.median(caught_up):.3f} s")
    assert statistics.median(caught_up) < 1.5, caught_up  # not the 3 s it fell behind
    assert frame.get_attribute("data-live") == "mse"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def test_without_media_source_the_live_view_falls_back_to_mjpeg(site, browser):
    """A browser without MSE (an iPhone before iOS 17.1) gets MJPEG, by itself."""
    url, _ = site
    script = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "delete window.MediaSource; delete window.ManagedMediaSource;"})
    try:
        browser.get(url + "/")
        assert browser.execute_script("return typeof MediaSource") == "undefined"
        frame = browser.find_element("id", "live-frame")
        img = browser.find_element("id", "live")
        wait_for(lambda: frame.get_attribute("data-live") == "mjpeg" and browser.execute_script(
            "return arguments[0].naturalWidth", img) == 640, what="the MJPEG picture")
        first = browser.execute_script(CLOCK_JS, img)
        wait_for(lambda: browser.execute_script(CLOCK_JS, img)[0] > first[0], timeout=10,
                 what="the MJPEG picture to change")
        lags = latencies(browser, img)
        print(f"live MJPEG latency: median {statistics.median(lags):.3f} s")
        assert all(-0.05 < lag < 3 for lag in lags), lags
        assert not browser.find_element("id", "live-video").is_displayed()
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                                {"identifier": script["identifier"]})


def test_the_page_on_a_phone(site, browser):
    url, _ = site
    browser.set_window_size(390, 844)
    try:
        browser.get(url + "/")
        pill = browser.find_element("id", "state-text")
        wait_for(lambda: pill.text.startswith(("Watching", "Recording")), what="the state")
        wait_for(lambda: browser.find_elements("css selector", "li.event"), what="the clips")
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide on a 390px phone"
        # fewer clips than a page: no "Show older" button
        assert not browser.find_element("id", "more").is_displayed()
        shoot(browser, "page-phone.png")
    finally:
        browser.set_window_size(1280, 900)


def test_the_page_tells_when_the_camera_is_away(site, browser):
    url, processes = site
    browser.get(url + "/")
    pill = browser.find_element("id", "state-text")
    wait_for(lambda: pill.text.startswith(("Watching", "Recording")), what="the state")
    processes.camera.terminate()
    processes.camera.wait(timeout=20)
    wait_for(lambda: pill.text == "Camera offline", timeout=20, what="the page to say offline")
    banners = browser.find_element("id", "banners").text
    assert "camera process is not answering" in banners
    assert browser.find_element("id", "record").get_attribute("disabled")
    shoot(browser, "page-camera-offline.png", full=False)
