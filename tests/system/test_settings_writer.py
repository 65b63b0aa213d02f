"""`smartcam system save-settings`, the root writer of the page's settings, run as systemd runs
it (one process per connection, the connection on stdin and stdout), and the host's use of it
when it may not write smartcam.conf itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartcam.errors import ConfigError
from smartcam.host.api import settings as host_settings
from smartcam.system import settings

CONF = "[camera]\nsource = synthetic\n\n[motion]\n# keep this comment\n#min_area = 0.5\n"


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A socket served like smartcam-settings.socket (Accept=yes): each connection one process."""
    conf = tmp_path / "smartcam.conf"
    conf.write_text(CONF)
    path = tmp_path / "settings.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                subprocess.run(
                    [sys.executable, "-m", "smartcam", "system", "save-settings",
                     "--config", str(conf)],
                    stdin=conn.fileno(), stdout=conn.fileno(), stderr=subprocess.DEVNULL,
                )  # fmt: skip

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield conf, path
    server.shutdown(socket.SHUT_RDWR)  # wakes accept()
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def writer_socket(writer, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(settings, "SOCKET", writer[1])
    return writer[0]


def test_saves_valid_settings_keeping_the_comments(writer_socket: Path) -> None:
    conf = writer_socket
    settings.save({"motion": {"min_area": 1.5}})
    text = conf.read_text()
    assert "min_area = 1.5" in text and "# keep this comment" in text


def test_refuses_a_bad_value_and_writes_nothing(writer_socket: Path) -> None:
    conf = writer_socket
    with pytest.raises(ConfigError, match="min_area"):
        settings.save({"motion": {"min_area": "lots"}})
    assert conf.read_text() == CONF


def test_answers_garbage_with_an_error_not_a_write() -> None:
    assert settings.handle(b"not json\n", Path("/nonexistent"))["kind"] == "os"
    assert "section" in settings.handle(b'{"motion": 3}\n', Path("/nonexistent"))["error"]


def test_the_host_asks_the_root_writer_when_it_may_not_write_the_file(
    writer_socket: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf = writer_socket
    calls = []

    def denied(p, changes):
        calls.append(p)
        raise PermissionError(13, "Permission denied", str(p))

    monkeypatch.setattr(host_settings, "set_values", denied)
    host_settings.save(conf, {"motion": {"min_area": 2.0}})
    assert calls == [conf] and "min_area = 2\n" in conf.read_text()
    # Without the writer's socket the host's own error stands.
    monkeypatch.setattr(settings, "SOCKET", tmp_path / "absent.sock")
    with pytest.raises(PermissionError):
        host_settings.save(conf, {"motion": {"min_area": 3.0}})
    assert os.stat(conf).st_size > 0
