"""`smartcam motion-scan` as a user runs it: a real process over real vtest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests import vtest


def scan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartcam", "motion-scan", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_scan_prints_a_json_line_per_frame_and_a_summary() -> None:
    done = scan(str(vtest.footage_path()))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    *frames, summary = lines
    assert len(frames) == 795
    for index, frame in enumerate(frames):
        assert set(frame) == {"index", "t", "score", "motion", "boxes"}
        assert frame["index"] == index
        assert abs(frame["t"] - index / vtest.FPS) < 1e-6
        assert isinstance(frame["score"], float) and 0 <= frame["score"] <= 100
        assert frame["score"] == round(frame["score"], 3)
        assert isinstance(frame["motion"], bool)
        for box in frame["boxes"]:
            x, y, w, h = box
            assert all(isinstance(v, int) for v in box)
            assert 0 <= x < x + w <= 320 and 0 <= y < y + h <= 240
    assert sum(frame["motion"] for frame in frames) >= 0.9 * len(frames)

    assert summary["summary"] is True
    assert summary["frames"] == 795 and summary["fps"] == vtest.FPS
    assert summary["events"], "people walk through the whole clip"
    for event in summary["events"]:
        assert set(event) == {"start", "end", "start_t", "end_t", "peak"}
        assert 0 <= event["start"] <= event["end"] < 795
        assert frames[event["start"]]["motion"] and frames[event["end"]]["motion"]
        span = frames[event["start"] : event["end"] + 1]
        assert event["peak"] == max(frame["score"] for frame in span)
        assert event["start_t"] == frames[event["start"]]["t"]


def test_missing_video_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    done = scan(str(tmp_path / "nothing.mp4"))
    assert done.returncode != 0
    assert "nothing.mp4" in done.stderr and "no such file" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_undecodable_video_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    done = scan(str(bad))
    assert done.returncode != 0
    assert "bad.mp4" in done.stderr and "Traceback" not in done.stderr
