"""The contract's names: a stem's parts and day folder, and what is not a clip's name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcam.clips.names import ClipName, is_day, split_file


def test_a_stem_parses_into_camera_stamp_event_and_its_utc_day():
    clip = ClipName.parse("cam-b_20251231T235959Z_0123abcd")
    assert clip == ClipName("cam-b", "20251231T235959Z", "0123abcd")
    assert clip.day == "2025-12-31" and clip.stem == "cam-b_20251231T235959Z_0123abcd"
    assert ClipName.parse("cam-a_20260102T000000Z_0123abcd").day == "2026-01-02"


def test_the_stem_of_a_wall_clock_time_is_in_utc():
    assert ClipName.of("cam-a", 1767225599.9, "0123abcd").stem == "cam-a_20251231T235959Z_0123abcd"


@pytest.mark.parametrize("stem", [
    "../etc_20251231T235959Z_0123abcd", "cam-b_20251231T235959Z_0123",
    "Cam_20251231T235959Z_0123abcd",
    "cam-b_20251231T235959_0123abcd", "-cam_20251231T235959Z_0123abcd",
    "a" * 33 + "_20251231T235959Z_0123abcd", "cam-b_20251231T235959Z_0123abcd.mp4",
])
def test_what_is_not_a_clip_name_is_refused(stem):
    assert ClipName.parse(stem) is None


def test_a_clips_files_split_into_clip_and_suffix():
    clip = ClipName("cam-b", "20251231T235959Z", "0123abcd")
    for suffix in (".mp4", ".jpg", ".json"):
        assert split_file(clip.stem + suffix) == (clip, suffix)
    assert split_file(clip.stem + ".txt") is None and split_file("discovery.txt") is None


@pytest.mark.parametrize("name, day", [("2025-12-31", True), ("2025-02-30", False),
                                       ("2025-1-31", False), ("notes", False)])
def test_day_folders_are_real_dates(name, day):
    assert is_day(name) is day


@given(st.text(max_size=80))
def test_any_name_parses_back_to_itself_or_is_refused(text):
    clip = ClipName.parse(text)
    assert clip is None or clip.stem == text
