"""Guards every test: no thread may outlive the test that started it. And a RAM disk for the
tests of a spool that fills up."""

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2
    while (extra := set(threading.enumerate()) - before) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not extra, f"threads left running: {extra}"


@pytest.fixture
def tmpfs(tmp_path):
    """A RAM disk of a given size, like the camera's spool."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mounted = []

    def make(size: str, at: Path | None = None) -> Path:
        mount = at or tmp_path / f"tmpfs{len(mounted)}"
        mount.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                       check=True)
        mounted.append(mount)
        return mount

    yield make
    for mount in mounted:
        subprocess.run(["umount", "-l", str(mount)], check=True)
