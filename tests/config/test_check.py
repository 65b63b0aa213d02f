"""`smartcam config check` run as a real process, the way systemd units and users run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from smartcam import config


def check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smartcam", "config", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_bad_file_exits_78_with_file_and_line_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_text("[camera]\nfps = abc\npre_roll = 2\n[storage]\npassword = hunter22\nx\n")
    result = check(str(bad))
    assert result.returncode == 78
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f'{bad}:2: [camera] fps = "abc": expected a number from 1 to 120'
    assert lines[1] == f'{bad}:3: [camera] pre_roll: unknown key; did you mean "pre_record"?'
    assert lines[2].startswith(f"{bad}:6: ")
    assert "Traceback" not in result.stderr and "hunter22" not in result.stderr


def test_missing_file_exits_78(tmp_path: Path) -> None:
    result = check(str(tmp_path / "none.conf"))
    assert result.returncode == 78 and "file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_good_file_prints_the_effective_config_with_secrets_masked(tmp_path: Path) -> None:
    good = tmp_path / "good.conf"
    good.write_text("[camera]\r\nfps = 12\r\n[storage]\r\npassword = hunter22\r\n")
    result = check(env={"SMARTCAM_CONF": str(good)})
    assert result.returncode == 0, result.stderr
    assert "fps = 12\n" in result.stdout and "password = ********\n" in result.stdout
    assert "hunter22" not in result.stdout
    effective = config.from_text(result.stdout)
    assert effective.camera.fps == 12 and effective.storage.password == "********"
