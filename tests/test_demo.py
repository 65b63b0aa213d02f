"""`make demo` is one of README's two commands: it must keep working."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

from smartcam.apiclient import ApiUnreachable, CameraApi
from tests.clipcheck import ffprobe
from tests.mqtt.broker import MOSQUITTO, Listener


def test_the_demo_fleet_serves_pages_and_records_clips(tmp_path):
    demo = subprocess.Popen(
        [sys.executable, "-m", "smartcam", "demo", "--duration", "40", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        pages = {}
        while len(pages) < 2 and time.monotonic() < deadline:
            for port in (8081, 8082):
                try:
                    pages[port] = CameraApi(f"http://127.0.0.1:{port}", timeout=5).health()
                except ApiUnreachable:
                    time.sleep(0.2)
        assert {h["camera"] for h in pages.values()} == {"yard", "plaza"}
        with urllib.request.urlopen("http://127.0.0.1:8081/", timeout=5) as page:
            assert b"<html" in page.read().lower()
        if MOSQUITTO:  # what Home Assistant would be told, on the demo's broker
            heard = Listener(SimpleNamespace(port=18830, kind="anonymous", ca=None))
            try:
                for camera in ("yard", "plaza"):
                    heard.wait(f"smartcam/{camera}/available", "online")
                    heard.wait(f"homeassistant/device/smartcam_{camera}/config")
            finally:
                heard.close()
        output, _ = demo.communicate(timeout=90)
    finally:
        demo.kill()
        demo.wait()
    assert demo.returncode == 0, output
    assert "http://127.0.0.1:8081/" in output and "http://127.0.0.1:8082/" in output
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        assert "master  https://127.0.0.1:8443/" in output
        assert "first admin: open https://127.0.0.1:8443/setup#" in output
    assert ("mosquitto_sub -h 127.0.0.1 -p 18830" in output) == bool(MOSQUITTO)
    assert "yard  clip" in output and "plaza  clip" in output  # printed as they landed
    assert "peer yard saw motion" in output  # one group: the yard's walker made the plaza record
    clips = sorted((tmp_path / "nas").glob("*/*/*.mp4")) + sorted(
        tmp_path.glob("*/spool/outbox/*.mp4"))
    cameras = {clip.name.split("_")[0] for clip in clips}
    assert cameras == {"yard", "plaza"}
    assert ffprobe(clips[0]).frames > 0
    cards = [json.loads(p.read_text()) for p in (tmp_path / "nas").glob("*/*/*.json")]
    cards += [json.loads(p.read_text()) for p in tmp_path.glob("*/spool/outbox/*.json")]
    by_incident: dict[str, set] = {}
    for card in cards:
        by_incident.setdefault(card["incident"], set()).add((card["camera"], card["cause"]))
    assert {("yard", "motion"), ("plaza", "peer")} in by_incident.values()
