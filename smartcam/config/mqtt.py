"""The [mqtt] section: each camera a Home Assistant device, through an MQTT broker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smartcam.config import values as v
from smartcam.config.setting import Section, setting

TOPIC_PREFIX = v.pattern(r"[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_-]{1,64}){0,3}",
                         "1 to 4 words of A-Z, a-z, 0-9, _ and - separated by / (no + or #)")


@dataclass(frozen=True)
class Mqtt(Section):
    """MQTT: motion, recordings and health to a broker, commands from it, and the camera
    announced to Home Assistant (MQTT discovery). Off unless enabled."""

    enabled: bool = setting(False, "Talk to an MQTT broker.", v.boolean)
    broker: v.HostPort | None = setting(
        None,
        "The broker's host name or address, and its port if not 1883 (8883 with tls).",
        v.optional(v.address(port_required=False)),
    )
    tls: bool = setting(False, "Connect with TLS, checking the broker's certificate.", v.boolean)
    ca_file: Path | None = setting(
        None,
        "The CA certificate (PEM) the broker's certificate is checked against; empty: the "
        "system's CAs.",
        v.optional(v.path),
    )
    username: str = setting("", "User name on the broker; empty: none.", v.text(64))
    password_file: Path | None = setting(
        None,
        "A file holding the broker password (its first line), readable by the smartcam user.",
        v.optional(v.path),
    )
    topic_prefix: str = setting(
        "smartcam", "Topics start with this: <prefix>/<camera>/motion and so on.", TOPIC_PREFIX
    )
    client_id: str = setting(
        "",
        "The client id; empty: smartcam-<camera name>.",
        v.pattern(r"[A-Za-z0-9_.-]{0,64}", "up to 64 characters A-Z, a-z, 0-9, _ . and -"),
    )
    discovery: bool = setting(
        True, "Announce the camera to Home Assistant (MQTT discovery).", v.boolean
    )
    discovery_prefix: str = setting(
        "homeassistant", "Home Assistant's discovery prefix.", TOPIC_PREFIX
    )
    motion_off_delay: float = setting(
        30.0,
        "Seconds without motion before motion is reported OFF.",
        v.number(0, 3600, "a number of seconds"),
    )
