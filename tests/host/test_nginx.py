"""The nginx site (roles/smartcam_nginx) in a real nginx, in front of a stand-in for the host.

The stand-in answers as the host app does: JSON for the API, X-Accel-Redirect to /_nas/ for a
clip or thumbnail only when nginx said it may (X-Accel-Base), and a multipart MJPEG stream.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import http.server
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.host.nginx import (
    MIME_TYPES,
    ROLE,
    TEMPLATE,
    Nginx,
    check_config,
    render_site,
    requires_nginx,
    site_variables,
)

DAY = "2026-01-01"
CLIP = bytes(range(256)) * 1200  # 300 KiB, every offset distinguishable
THUMB = b"\xff\xd8\xff\xe0thumbnail\xff\xd9"
SECRET = b"secret: must never be served"
BOUNDARY = "smartcamframe"


def part(payload: bytes) -> bytes:
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(payload)}\r\n\r\n"
    return head.encode() + payload + b"\r\n"


class HostStandIn(http.server.ThreadingHTTPServer):
    """What nginx sees of the host process, recording the headers of every request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: dict[str, dict[str, str]] = {}
        self.status_answers = 0
        self.client_saw_first = threading.Event()
        self.second_sent = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), name="stand-in",
                                       daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    server: HostStandIn
    REDIRECTS = {
        "/api/v1/events/abc/clip": f"cam/{DAY}/x.mp4",
        "/api/v1/events/abc/thumbnail": f"cam/{DAY}/x.jpg",
        "/api/v1/events/escape/clip": "cam/../../secret.txt",  # a buggy app must not leak
        "/api/v1/events/link/clip": f"cam/{DAY}/link.mp4",
        "/api/v1/events/dotdot/clip": "/_nas../secret.txt",  # no slash after the prefix
        "/api/v1/events/listing/clip": f"cam/{DAY}/",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen[self.path] = dict(self.headers.items())
        base = self.headers.get("X-Accel-Base")
        if self.path == "/api/v1/status":
            self.status()
        elif self.path == "/api/v1/health":
            self.reply(200, json.dumps({"ok": True}).encode(), "application/json")
        elif self.path in self.REDIRECTS and base:
            # No Content-Type: the site's types decide (the real app sends the file's own).
            self.send_response(200)
            target = self.REDIRECTS[self.path]
            self.send_header("X-Accel-Redirect", target if target[0] == "/" else base + target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path in self.REDIRECTS:
            self.reply(200, b"streamed by the app itself", "text/plain")
        elif self.path == "/live.mjpg":
            self.mjpeg()
        else:
            self.reply(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        self.reply(200, json.dumps({"got": length}).encode(), "application/json")

    def reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def status(self) -> None:
        """As the app's gate: a password asked for (this one's), else a numbered answer."""
        if self.headers.get("Authorization") != "Basic OnNlY3JldA==":  # ":secret"
            self.reply(401, b'{"error": "this camera asks for its password"}', "application/json")
            return
        self.server.status_answers += 1
        self.send_response(200)
        self.send_header("Cache-Control", "no-store")
        body = json.dumps({"answer": self.server.status_answers}).encode()
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def mjpeg(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(part(b"first frame"))
        self.wfile.flush()
        self.server.client_saw_first.wait(5)
        self.server.second_sent.set()
        self.wfile.write(part(b"second frame"))
        self.wfile.flush()


@pytest.fixture
def host() -> Iterator[HostStandIn]:
    server = HostStandIn()
    server.thread.start()
    yield server
    server.shutdown()
    server.server_close()
    server.thread.join(5)


@pytest.fixture
def nas(tmp_path: Path) -> Path:
    """<nas>/cam/<day>/ with a clip, a thumbnail and a symlink out; secrets beside and above."""
    day = tmp_path / "nas" / "cam" / DAY
    day.mkdir(parents=True)
    (day / "x.mp4").write_bytes(CLIP)
    (day / "x.jpg").write_bytes(THUMB)
    (tmp_path / "nas" / "secret.txt").write_bytes(SECRET)  # another camera's folder
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (day / "link.mp4").symlink_to(tmp_path / "secret.txt")
    return tmp_path / "nas"


@pytest.fixture
def nginx(tmp_path: Path, host: HostStandIn, nas: Path) -> Iterator[Nginx]:
    with Nginx(tmp_path, upstream=host.address, nas_dir=nas, camera="cam") as server:
        yield server


def get(nginx: Nginx, path: str, headers: dict[str, str] | None = None,
        method: str = "GET", body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request with the path sent exactly as given (no client-side normalising)."""
    conn = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_the_defaults_file_documents_every_variable_the_site_uses() -> None:
    used = set(re.findall(r"\bsmartcam_nginx_\w+", TEMPLATE.read_text()))
    defaults = (ROLE / "defaults" / "main.yml").read_text()
    defined = set(re.findall(r"^(smartcam_nginx_\w+):", defaults, re.MULTILINE))
    assert used == defined
    assert TEMPLATE.read_text().startswith("{{ ansible_managed | comment }}\n")


@requires_nginx
def test_production_render_passes_nginx_t_inside_debians_nginx_conf(tmp_path: Path) -> None:
    """As the role will install it: port 80 on every address, in Debian's own nginx.conf."""
    site = tmp_path / "smartcam.conf"
    variables = site_variables("127.0.0.1:8080", Path("/mnt/nas/frontdoor/"), 80, address="")
    site.write_text(render_site(**dict(variables, smartcam_nginx_listen_ipv6=True)))
    text = site.read_text()
    assert "listen 80 default_server;" in text and "listen [::]:80 default_server;" in text
    assert 'alias "/mnt/nas/frontdoor/";' in text
    debian = Path("/etc/nginx/nginx.conf")
    if not debian.exists() or not MIME_TYPES.exists():
        pytest.skip("Debian's /etc/nginx/nginx.conf is not there")
    conf = debian.read_text()
    conf = re.sub(r"include /etc/nginx/sites-enabled/\*;", f"include {site};", conf)
    assert str(site) in conf
    (tmp_path / "nginx.conf").write_text(conf)
    checked = check_config(tmp_path / "nginx.conf", tmp_path)
    assert checked.returncode == 0, checked.stderr


@requires_nginx
def test_api_requests_reach_the_host_with_forwarding_headers(
    nginx: Nginx, host: HostStandIn
) -> None:
    status, headers, body = get(nginx, "/api/v1/health", {"X-Accel-Base": "/evil/",
                                                          "X-Forwarded-For": "10.6.6.6"})
    assert status == 200 and json.loads(body) == {"ok": True}
    assert headers["content-type"] == "application/json"
    seen = host.seen["/api/v1/health"]
    assert seen["X-Accel-Base"] == "/_nas/"  # set by nginx, whatever the client sent
    assert seen["X-Forwarded-For"] == "127.0.0.1"
    assert seen["X-Forwarded-Proto"] == "http"
    assert seen["Host"] == "127.0.0.1"


@requires_nginx
def test_a_clip_comes_from_the_nas_through_x_accel_redirect(
    nginx: Nginx, host: HostStandIn
) -> None:
    status, headers, body = get(nginx, "/api/v1/events/abc/clip")
    assert host.seen["/api/v1/events/abc/clip"]["X-Accel-Base"] == "/_nas/"
    assert status == 200 and body == CLIP
    assert headers["content-type"] == "video/mp4"
    assert headers["accept-ranges"] == "bytes"
    assert "immutable" in headers["cache-control"]
    assert headers["x-content-type-options"] == "nosniff"  # security headers kept here too

    status, headers, body = get(nginx, "/api/v1/events/abc/thumbnail")
    assert status == 200 and body == THUMB
    assert headers["content-type"] == "image/jpeg"


@requires_nginx
def test_a_range_request_gets_206_and_exactly_those_bytes(nginx: Nginx) -> None:
    status, headers, body = get(nginx, "/api/v1/events/abc/clip", {"Range": "bytes=1000-2999"})
    assert status == 206
    assert headers["content-range"] == f"bytes 1000-2999/{len(CLIP)}"
    assert body == CLIP[1000:3000]
    status, headers, body = get(nginx, "/api/v1/events/abc/clip", {"Range": "bytes=-10"})
    assert status == 206 and body == CLIP[-10:]


@requires_nginx
@pytest.mark.parametrize("path", [
    f"/_nas/{DAY}/x.mp4",
    f"/_nas/{DAY}/",
    "/_nas/",
    f"/%5F%6Eas/{DAY}/x.mp4",
    f"/api/v1/../../_nas/{DAY}/x.mp4",
    f"//_nas//{DAY}/x.mp4",
])
def test_clients_cannot_fetch_nas_files_directly(nginx: Nginx, path: str) -> None:
    status, _, body = get(nginx, path)
    assert status == 404
    assert CLIP[:256] not in body and b"x.mp4" not in body  # no file, no listing


@requires_nginx
@pytest.mark.parametrize("path", [
    "/_nas/../secret.txt",
    "/_nas/..%2F..%2Fsecret.txt",
    "/_nas/%2E%2E/%2E%2E/secret.txt",
    "/_nas../secret.txt",
    "/_nas/../../../../../../etc/passwd",
    "/api/v1/events/escape/clip",
    "/api/v1/events/link/clip",
    "/api/v1/events/dotdot/clip",
    "/api/v1/events/listing/clip",
])
def test_path_traversal_does_not_escape_the_camera_folder(nginx: Nginx, path: str) -> None:
    status, _, body = get(nginx, path)
    assert status in (400, 403, 404), (status, body[:200])
    assert SECRET not in body and b"root:" not in body and b"x.mp4" not in body


@requires_nginx
def test_the_nas_folder_may_be_reached_through_a_symlinked_mount_point(
    tmp_path: Path, host: HostStandIn, nas: Path
) -> None:
    """Symlinks are refused below the camera folder only, not in the path leading to it."""
    (tmp_path / "mnt").symlink_to(nas)
    with Nginx(tmp_path / "linked", upstream=host.address, nas_dir=tmp_path / "mnt",
               camera="cam") as linked:
        status, _, body = get(linked, "/api/v1/events/abc/clip")
        assert status == 200 and body == CLIP
        status, _, body = get(linked, "/api/v1/events/link/clip")
        assert status == 403 and SECRET not in body


@requires_nginx
def test_the_live_view_streams_each_part_as_it_comes(nginx: Nginx, host: HostStandIn) -> None:
    """The stand-in sends the second part only once the client has seen the first."""
    with socket.create_connection(("127.0.0.1", nginx.port), timeout=10) as conn:
        conn.sendall(b"GET /live.mjpg HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n")
        received = b""
        while b"first frame" not in received:
            chunk = conn.recv(65536)
            assert chunk, f"stream ended before the first part: {received!r}"
            received += chunk
        assert not host.second_sent.is_set(), "the first part arrived only with the second"
        host.client_saw_first.set()
        while chunk := conn.recv(65536):
            received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].decode()
    assert f"multipart/x-mixed-replace; boundary={BOUNDARY}" in head
    assert b"second frame" in received


@requires_nginx
def test_security_headers_and_no_version_anywhere(nginx: Nginx) -> None:
    for path in ("/api/v1/health", "/no-such-page", f"/_nas/{DAY}/x.mp4"):
        status, headers, body = get(nginx, path)
        assert headers["server"] == "nginx", path  # server_tokens off
        assert b"nginx/" not in body
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "img-src 'self' blob: data:" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp


@requires_nginx
def test_only_small_bodies_reach_the_api(nginx: Nginx) -> None:
    status, _, body = get(nginx, "/api/v1/settings", method="POST", body=b"{}" * 100,
                          headers={"Content-Type": "application/json"})
    assert status == 200 and json.loads(body) == {"got": 200}
    status, _, _ = get(nginx, "/api/v1/settings", method="POST", body=b" " * 200_000)
    assert status == 413



def test_the_status_every_page_polls_is_answered_from_a_second_of_cache(nginx, host):
    """Once it is cached, fifty asks at once do not reach the host; the cached answer goes
    only to the same host name and password (a refusal is never cached); an answer past its
    second is still given while the host is asked again in the background."""
    password = {"Authorization": "Basic OnNlY3JldA=="}
    assert get(nginx, "/api/v1/status", password)[1]["x-cache"] == "MISS"
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda _: get(nginx, "/api/v1/status", password), range(50)))
    assert {(status, headers["x-cache"]) for status, headers, _ in answers} == {(200, "HIT")}
    assert host.status_answers == 1, "the host asked once for all fifty-one"
    assert all("content-security-policy" in headers for _, headers, _ in answers)
    assert get(nginx, "/api/v1/status")[0] == 401, "no password: not the cached answer"
    other = get(nginx, "/api/v1/status", {**password, "Host": "other.example"})
    assert other[0] == 200 and host.status_answers == 2, "another name: asked afresh"
    time.sleep(2.1)  # nginx keeps it for 1 s, counted in whole seconds
    stale = get(nginx, "/api/v1/status", password)
    assert stale[1]["x-cache"] == "STALE" and json.loads(stale[2])["answer"] == 1
    deadline = time.monotonic() + 5
    while json.loads(get(nginx, "/api/v1/status", password)[2])["answer"] == 1:
        assert time.monotonic() < deadline, "the background refresh never came"
        time.sleep(0.05)
    assert host.status_answers == 3
