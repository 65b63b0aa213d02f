"""The API's settings: shown from the schema, saved into smartcam.conf keeping its comments."""

from __future__ import annotations

import json

import pytest

# -- settings ---------------------------------------------------------------------------------


def test_get_settings_has_values_and_help_from_the_schema(world):
    status, data = world.client.json("GET", "/api/v1/settings")
    assert status == 200
    assert set(data["values"]["motion"]) == set(data["schema"]["motion"])
    from smartcam.config import SETTINGS

    assert data["schema"]["motion"]["min_area"]["help"] == SETTINGS["motion"]["min_area"].help
    assert data["schema"]["motion"]["enabled"]["type"] == "boolean"
    assert data["values"]["camera"]["pre_record"] == 1.0
    assert data["file"] == str(world.camera.conf)


def test_put_settings_saves_keeping_comments_and_pushes_motion_live(world):
    before = world.camera.conf.read_text()
    status, data = world.client.json("PUT", "/api/v1/settings", {
        "motion": {"min_area": 2.5, "min_frames": "4", "mask": "0,0 50,0 50,20"},
        "camera": {"post_record": 3},
    })
    assert status == 200, data
    assert data["saved"] is True and data["applied"] == ["motion"]
    assert data["restart"] == ["camera.post_record"]
    assert data["values"]["motion"]["min_area"] == 2.5
    after = world.camera.conf.read_text()
    expected = (before.replace("min_area = 0.5\n", "min_area = 2.5\n")
                .replace("min_frames = 3\n", "min_frames = 4\nmask = 0,0 50,0 50,20\n")
                .replace("post_record = 1\n", "post_record = 3\n"))
    assert after == expected
    # the running camera has them: a no-op `set` answers with its whole [motion]
    live = world.camera.client.request("set", motion={"despeckle": True})["motion"]
    assert live["min_area"] == 2.5 and live["min_frames"] == 4
    assert live["mask"] == "0,0 50,0 50,20"  # the camera's parsed polygon, written back as text
    assert world.host.cfg.motion.min_area == 2.5
    status, again = world.client.json("GET", "/api/v1/settings")
    assert again["values"]["motion"]["min_frames"] == 4


@pytest.mark.parametrize("body, words", [
    ({"motion": {"min_area": 0}}, ["[motion] min_area", "expected"]),
    ({"motion": {"min_area": "lots"}}, ["[motion] min_area", '"lots"', "expected"]),
    ({"motion": {"mask": "0,0 10,10"}}, ["[motion] mask", "polygon 1 has 2 points"]),
    ({"motion": {"min_aera": 1}}, ["min_aera", "is not a setting"]),
    ({"motion": {"enabled": None}}, ["[motion] enabled", "must be a string or true/false"]),
    ({"motion": {"enabled": [1]}}, ["[motion] enabled"]),
    ({"motion": {"enabled": 1}}, ["[motion] enabled", "must be a string or true/false"]),
    ({"motion": {"min_area": True}}, ["[motion] min_area", "must be a string or a number"]),
    ({"motion": {"mask": 5}}, ["[motion] mask", "must be a string"]),
    ({"motion": {"min_frames": 2.5}}, ["[motion] min_frames", "expected a whole number"]),
    ({"motion": {"lightswitch": "5\nmin_area = 99"}}, ["[motion] lightswitch"]),
    ({"camera": {"name": "other"}}, ["[camera] name", "only in smartcam.conf"]),
    ({"camera": {"pre_record": 90}}, ["[camera] pre_record", "expected"]),
    ({"camera": {"max_clip": 5, "pre_record": 10}}, ["max_clip", "more than pre_record"]),
    ({"storage": {"nas": "/"}}, ["unknown section 'storage'"]),
    ({"motion": 5}, ["motion must be an object"]),
])
def test_bad_settings_are_400_with_the_schema_message_and_change_nothing(world, body, words):
    before = world.camera.conf.read_bytes()
    status, data = world.client.json("PUT", "/api/v1/settings", body)
    assert status == 400, data
    for word in words:
        assert word in data["error"], (word, data["error"])
    assert world.camera.conf.read_bytes() == before


@pytest.mark.parametrize("body", [b"", b"{oops", b"[]", b"null"])
def test_bad_settings_bodies_are_400(world, body):
    r = world.client.request("PUT", "/api/v1/settings", body=body)
    assert r.status == 400 and json.loads(r.body)["error"]
