"""The Home Assistant discovery message, against what Home Assistant's MQTT integration documents
for device-based discovery and for each platform (home-assistant.io, integrations/mqtt and
binary_sensor.mqtt, switch.mqtt, button.mqtt, sensor.mqtt, image.mqtt)."""

from __future__ import annotations

import re

import pytest

from smartcam.mqtt import discovery
from smartcam.mqtt.topics import Topics

COMMON = {"platform", "name", "unique_id", "icon", "entity_category", "device_class",
          "availability", "qos", "value_template"}
PLATFORMS = {  # platform: (required, allowed besides COMMON)
    "binary_sensor": ({"state_topic"}, {"state_topic", "payload_on", "payload_off"}),
    "switch": ({"command_topic"}, {"command_topic", "state_topic", "payload_on", "payload_off"}),
    "button": ({"command_topic"}, {"command_topic", "payload_press"}),
    "sensor": ({"state_topic"}, {"state_topic", "unit_of_measurement", "state_class"}),
    "image": (set(), {"url_topic", "image_topic"}),
}
DEVICE_CLASSES = {
    "binary_sensor": {"motion", "running", "problem", "connectivity"},
    "switch": {"switch", "outlet"},
    "button": {"identify", "restart", "update"},
    "sensor": {"temperature", "data_size"},
}
UNITS = {"temperature": {"°C", "°F", "K"}, "data_size": {"B", "kB", "MB", "GB", "TB"}}
OBJECT_ID = re.compile(r"[a-zA-Z0-9_-]+")


@pytest.fixture
def config():
    topics = Topics("smartcam", "front-door")
    return topics, discovery.device_config(topics, "Front door", "1.2.3", "http://fd.local/")


def test_the_topic_is_device_based_and_its_id_is_allowed():
    where = discovery.topic("homeassistant", "front-door")
    assert where == "homeassistant/device/smartcam_front-door/config"
    assert OBJECT_ID.fullmatch(where.split("/")[2])


def test_the_device_and_origin_are_what_home_assistant_requires(config):
    topics, data = config
    assert data["device"]["identifiers"] == ["smartcam_front-door"]
    assert data["device"]["name"] == "Front door"
    assert data["device"]["configuration_url"] == "http://fd.local/"
    assert data["origin"]["name"] == "smartcam"  # name is required in origin
    assert data["availability"] == [{"topic": topics.available}]


def test_each_entity_follows_its_platforms_schema(config):
    topics, data = config
    ids = set()
    for key, entity in data["components"].items():
        platform = entity["platform"]
        required, allowed = PLATFORMS[platform]
        assert required <= set(entity), (key, required - set(entity))
        assert set(entity) <= COMMON | allowed, (key, set(entity) - COMMON - allowed)
        assert OBJECT_ID.fullmatch(entity["unique_id"]) and entity["unique_id"] not in ids
        ids.add(entity["unique_id"])
        if "device_class" in entity:
            assert entity["device_class"] in DEVICE_CLASSES[platform], key
        if entity.get("device_class") in UNITS:
            assert entity["unit_of_measurement"] in UNITS[entity["device_class"]], key
        assert entity.get("entity_category") in (None, "config", "diagnostic"), key
        assert entity.get("state_class") in (None, "measurement", "total", "total_increasing")
        if platform == "image":  # exactly one of the two
            assert len({"url_topic", "image_topic"} & set(entity)) == 1
        for name in ("state_topic", "command_topic", "url_topic"):
            if name in entity:
                assert entity[name].startswith(f"smartcam/{topics.camera}/"), (key, name)
                assert "+" not in entity[name] and "#" not in entity[name]
    # what the issue asks for: motion, armed, detection, record, diagnostics, a snapshot
    kinds = {(e["platform"], k) for k, e in data["components"].items()}
    assert {("binary_sensor", "motion"), ("switch", "armed"), ("switch", "detect"),
            ("button", "record"), ("image", "snapshot")} <= kinds
    assert sum(e.get("entity_category") == "diagnostic" for e in data["components"].values()) >= 4


def test_commands_are_the_features_the_host_handles(config):
    topics, data = config
    commanded = {e["command_topic"] for e in data["components"].values() if "command_topic" in e}
    assert commanded == {topics.command(f) for f in discovery.FEATURES}
