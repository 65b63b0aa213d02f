"""A verified copy: a short or wrong copy never takes the file's name."""

from __future__ import annotations

import hashlib
import os

import pytest

from smartcam.storage import copy as copy_module
from smartcam.storage.copy import CopyCorrupt, put_file


def test_put_file_puts_only_a_verified_copy_in_place(tmp_path, monkeypatch):
    src_path = tmp_path / "src"
    src_path.write_bytes(os.urandom(300_000))
    want = hashlib.sha256(src_path.read_bytes()).hexdigest()
    day = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    src = os.open(src_path, os.O_RDONLY)
    real = copy_module.copy_bytes
    try:
        def short(s, d, size, tick):
            real(s, d, size - 1, tick)

        monkeypatch.setattr(copy_module, "copy_bytes", short)
        with pytest.raises(CopyCorrupt, match="299999 bytes, not 300000"):
            put_file(day, "clip.mp4", src, 300_000, want, lambda: None)
        monkeypatch.setattr(copy_module, "copy_bytes", real)
        with pytest.raises(CopyCorrupt, match="sha256 differs"):
            put_file(day, "clip.mp4", src, 300_000, "0" * 64, lambda: None)
        assert sorted(os.listdir(tmp_path)) == ["src"]
        put_file(day, "clip.mp4", src, 300_000, want, lambda: None)
    finally:
        os.close(src)
        os.close(day)
    assert (tmp_path / "clip.mp4").read_bytes() == src_path.read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4", "src"]
