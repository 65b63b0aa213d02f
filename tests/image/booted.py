"""What the rig's tests and its soak say to a booted card (through its forwarded nginx port)
and read off the share its camera records to."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.image import samba, vm

SECRET = "image-test-group-secret-0123456789abcdef"


def conf(hostname: str, key: Path, scene: str, name: str = "") -> dict[str, dict[str, str]]:
    camera = {
        "source": f"synthetic:{scene}",
        "resolution": "320x240",
        "fps": "10",
        "bitrate": "300k",
        "pre_record": "2",
        "post_record": "3",
    }
    return {
        "camera": {**camera, **({"name": name} if name else {})},
        "storage": {
            "type": "cifs",
            "share": f"//{vm.NAS_ADDRESS}/{samba.SHARE}",
            "username": samba.USER,
            "password": samba.PASSWORD,
        },
        "peers": {"enabled": "true", "secret": SECRET, "interfaces": "enp0s4"},
        "system": {"hostname": hostname, "ssh_authorized_keys": key.with_suffix(".pub")
                   .read_text().strip()},
    }


def get(guest: vm.Guest, path: str, timeout: float = 60) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{guest.http}{path}", timeout=timeout) as r:
        return r.read()


def get_json(guest: vm.Guest, path: str) -> dict:
    return json.loads(get(guest, path))


def post_json(guest: vm.Guest, path: str, body: dict, method: str = "POST") -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{guest.http}{path}", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method=method)  # fmt: skip
    with urllib.request.urlopen(request, timeout=120) as reply:
        return json.loads(reply.read())


def timed(guest: vm.Guest, path: str, timeout: float) -> tuple[int, float]:
    """(HTTP status, seconds) of one request through nginx; status 0 when it timed out."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{guest.http}{path}",
                                    timeout=timeout) as r:
            r.read()
            status = r.status
    except urllib.error.HTTPError as err:
        status = err.code
    except TimeoutError:
        status = 0
    return status, round(time.monotonic() - started, 2)


def on_share(nas: samba.Samba, camera: str, event: str) -> list[Path]:
    """The clip's files in place: not the hidden `.<name>.part` of an upload under way."""
    return sorted(p for p in nas.path.glob(f"{camera}/*/*_{event}.*")
                  if not p.name.startswith("."))


def page_up(guest: vm.Guest) -> dict | None:
    """Its health through nginx once the page answers (SSH answers before nginx and the host)."""
    try:
        return get_json(guest, "/api/v1/health")
    except OSError:  # refused, reset, or nginx's 502 while the host starts
        return None


def clips(nas: samba.Samba, camera: str) -> list[tuple[Path, dict]]:
    """(video, sidecar) of each whole clip of `camera` on the share (a sidecar means whole)."""
    out = []
    for side in sorted(nas.path.glob(f"{camera}/*/*.json")):
        try:
            data = json.loads(side.read_text())
        except ValueError:
            continue
        out.append((side.with_name(data["video"]), data))
    return out
