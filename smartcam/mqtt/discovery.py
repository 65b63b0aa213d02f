"""The camera as a Home Assistant device: one retained device-based discovery message
(`<discovery prefix>/device/smartcam_<camera>/config`) naming every entity and the topics it
reads and writes. An empty retained message on the same topic removes the device.

The keys are those of Home Assistant's MQTT integration (binary_sensor, switch, button,
sensor, image; device-based discovery since 2024.11): each component has a `platform` and a
`unique_id`; the device has `identifiers`; `origin` names us.
"""

from __future__ import annotations

from typing import Any

from smartcam.mqtt.topics import OFF, ON, Topics

FEATURES = ("armed", "detect", "record")  # what Home Assistant may command


def topic(discovery_prefix: str, camera: str) -> str:
    return f"{discovery_prefix}/device/smartcam_{camera}/config"


def device_config(topics: Topics, title: str, version: str, page_url: str | None) -> dict[str, Any]:
    """The discovery payload of one camera."""
    camera = topics.camera
    uid = f"smartcam_{camera}"

    def health(key: str, name: str, **extra: Any) -> dict[str, Any]:
        return {"platform": "sensor", "name": name, "unique_id": f"{uid}_{key}",
                "state_topic": topics.health, "entity_category": "diagnostic",
                "value_template": f"{{{{ value_json.{key} }}}}", **extra}

    components = {
        "motion": {"platform": "binary_sensor", "name": "Motion", "device_class": "motion",
                   "unique_id": f"{uid}_motion", "state_topic": topics.motion,
                   "payload_on": ON, "payload_off": OFF},
        "recording": {"platform": "binary_sensor", "name": "Recording",
                      "device_class": "running", "unique_id": f"{uid}_recording",
                      "state_topic": topics.recording, "payload_on": ON, "payload_off": OFF},
        "armed": {"platform": "switch", "name": "Armed", "icon": "mdi:shield-home",
                  "unique_id": f"{uid}_armed", "state_topic": topics.state("armed"),
                  "command_topic": topics.command("armed"), "payload_on": ON,
                  "payload_off": OFF},
        "detect": {"platform": "switch", "name": "Motion detection", "icon": "mdi:motion-sensor",
                   "entity_category": "config", "unique_id": f"{uid}_detect",
                   "state_topic": topics.state("detect"), "command_topic": topics.command("detect"),
                   "payload_on": ON, "payload_off": OFF},
        "record": {"platform": "button", "name": "Record now", "icon": "mdi:record-rec",
                   "unique_id": f"{uid}_record", "command_topic": topics.command("record"),
                   "payload_press": "PRESS"},
        "snapshot": {"platform": "image", "name": "Snapshot", "unique_id": f"{uid}_snapshot",
                     "url_topic": topics.snapshot_url},
        "temperature": health("cpu_temperature", "CPU temperature", device_class="temperature",
                              unit_of_measurement="°C", state_class="measurement"),
        "nas_free": health("nas_free_gb", "NAS free", device_class="data_size",
                           unit_of_measurement="GB", state_class="measurement"),
        "spool": health("spool_used_percent", "Spool used", unit_of_measurement="%",
                        state_class="measurement", icon="mdi:memory"),
        "waiting": health("clips_waiting", "Clips waiting", state_class="measurement",
                          icon="mdi:upload"),
        "nas": health("nas", "NAS", icon="mdi:nas"),
    }
    device: dict[str, Any] = {"identifiers": [uid], "name": title, "manufacturer": "smartcam",
                              "model": "smartcam camera", "sw_version": version}
    if page_url:
        device["configuration_url"] = page_url
    return {
        "device": device,
        "origin": {"name": "smartcam", "sw_version": version},
        "availability": [{"topic": topics.available}],
        "qos": 1,
        "components": components,
    }
