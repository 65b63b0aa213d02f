"""The [rtsp] section: the camera's own H.264 as an RTSP camera, for NVRs and Home Assistant."""

from __future__ import annotations

from dataclasses import dataclass

from smartcam.config import values as v
from smartcam.config.setting import Section, setting


@dataclass(frozen=True)
class Rtsp(Section):
    """RTSP out: rtsp://<camera>:<port>/<camera name>, the camera's own H.264 (not re-encoded)
    for Frigate, Blue Iris, Home Assistant or VLC. Off unless enabled."""

    enabled: bool = setting(False, "Serve the camera's video over RTSP.", v.boolean)
    listen: v.HostPort = setting(
        v.HostPort("0.0.0.0", 8554),
        "Address and port the RTSP server listens on (0.0.0.0: every IPv4 address).",
        v.address(),
    )
    username: str = setting(
        "", "User name an RTSP client must give; empty: anyone on the network may watch.",
        v.pattern(r"[A-Za-z0-9_.@-]{0,64}", "up to 64 characters A-Z, a-z, 0-9, _ . @ and -"),
    )
    password: str = setting(
        "",
        "Password an RTSP client must give with the user name (checked by Digest, never sent).",
        v.pattern(r"|[^\s:].{6,126}[^\s]", "empty, or 8 to 128 characters, not starting with :"),
        secret=True,
    )
