"""The web app beside the API: the snapshot, the live MJPEG stream and its viewer slots,
the page."""

from __future__ import annotations

from smartcam.host.web import STATIC

# -- live view --------------------------------------------------------------------------------


def test_snapshot(world):
    r = world.client.request("GET", "/snapshot.jpg")
    assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert r.body[:2] == b"\xff\xd8" and r.body[-2:] == b"\xff\xd9"


def read_parts(iterator, count):
    buffer, parts = b"", []
    while len(parts) < count:
        buffer += next(iterator)
        while True:
            head, sep, rest = buffer.partition(b"\r\n\r\n")
            if not sep:
                break
            assert head.startswith(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ")
            length = int(head.rsplit(b" ", 1)[1])
            if len(rest) < length + 2:
                break
            parts.append(rest[:length])
            buffer = rest[length + 2:]
    return parts


def test_live_mjpeg_streams_new_frames(world):
    status, headers, iterator, close = world.client.stream("/live.mjpg")
    try:
        assert status == 200
        assert headers["Content-Type"] == "multipart/x-mixed-replace; boundary=frame"
        parts = read_parts(iterator, 3)
    finally:
        close()
    assert all(p[:2] == b"\xff\xd8" and p[-2:] == b"\xff\xd9" for p in parts)
    # each part is a new picture: the empty scene's noise alternates between two patterns
    assert parts[0] != parts[1] != parts[2]


def test_closed_streams_free_their_viewer_slot(world):
    from smartcam.host.web import MAX_VIEWERS

    for _ in range(MAX_VIEWERS + 2):
        status, _, iterator, close = world.client.stream("/live.mjpg")
        try:
            assert status == 200
            next(iterator)
        finally:
            close()


def test_the_page_and_its_files(world):
    r = world.client.request("GET", "/")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert b'<script type="module" src="/static/app.js">' in r.body
    # app.js imports the other modules; a browser runs a module only with a JavaScript type
    files = [("style.css", "text/css")] + [(p.name, "javascript") for p in STATIC.glob("*.js")]
    assert len(files) > 2
    for name, kind in files:
        r = world.client.request("GET", f"/static/{name}")
        assert r.status == 200 and kind in r.headers["Content-Type"], (name, r.headers)
    status, doc = world.client.json("GET", "/api/v1/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.0")
    r = world.client.request("HEAD", "/api/v1/health")
    assert r.status == 200 and r.body == b""
