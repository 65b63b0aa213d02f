"""The control socket's server under clients that come and go while events are broadcast."""

from __future__ import annotations

import socket
import sys
import threading

from smartcam.control.server import ControlServer


def test_clients_connecting_during_broadcasts_never_break_the_broadcaster(tmp_path):
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as Python can: races show at once
    server = ControlServer(tmp_path / "control.sock", lambda request: {})
    errors: list[BaseException] = []
    stop = threading.Event()

    def broadcast() -> None:  # the camera's frame loop emitting events
        try:
            while not stop.is_set():
                server.broadcast({"event": "level", "score": 0.1})
        except BaseException as err:  # what would end the camera process
            errors.append(err)

    thread = threading.Thread(target=broadcast)
    thread.start()
    clients = []
    try:
        for _ in range(400):  # hosts and tools connecting while events flow
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.connect(str(server.path))
            clients.append(client)
            if errors:
                break
    finally:
        stop.set()
        thread.join()
        for client in clients:
            client.close()
        server.close()
        sys.setswitchinterval(interval)
    assert not errors, errors
