"""A real Mosquitto on this machine's loopback, one per test that asks: anonymous, with a password
file, or with TLS from a throw-away CA; and a subscriber that keeps what it hears."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.waiting import wait_for

MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/sbin")
requires_mosquitto = pytest.mark.skipif(
    MOSQUITTO is None, reason="mosquitto is not installed (Debian: apt-get install mosquitto)")
USER, PASSWORD = "cam", "broker-pass-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate for 127.0.0.1 signed by it: (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "broker.key",
                                                       "broker.csr", "broker.pem"))
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=smartcam test CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName = IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


class Broker:
    """`spawn` and `inside` run it and look at it elsewhere (a network namespace: lab.popen and
    lab.call); `listen` is its address there; `extra` more lines (a bridge to another one)."""

    def __init__(self, folder: Path, kind: str = "anonymous", listen: str = "127.0.0.1",
                 extra: str = "", spawn: Any = subprocess.Popen, inside: Any = None,
                 port: int | None = None):
        self.folder, self.kind = folder, kind
        self.port = port or free_port()
        self.spawn, self.inside = spawn, inside or (lambda fn: fn())
        self.proc: subprocess.Popen | None = None
        self.ca: Path | None = None
        folder.mkdir(parents=True, exist_ok=True)
        # As root it would become the mosquitto user, who cannot read the test's files.
        lines = [f"listener {self.port} {listen}", f"user {getpass.getuser()}",
                 "persistence false", "log_dest stderr",
                 "log_type error", "log_type warning", "log_type notice"]
        if kind == "anonymous":
            lines.append("allow_anonymous true")
        else:
            passwords = folder / "passwords"
            subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), USER, PASSWORD],
                           check=True, capture_output=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        if kind == "tls":
            self.ca, cert, key = make_ca(folder)
            lines += [f"cafile {self.ca}", f"certfile {cert}", f"keyfile {key}"]
        self.conf = folder / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n" + extra)

    def start(self) -> Broker:
        with (self.folder / "mosquitto.log").open("ab") as log:  # the child keeps its own copy
            self.proc = self.spawn([MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=log,
                                   start_new_session=True)
        wait_for(lambda: self.inside(self._listening), timeout=20, what="mosquitto listening",
                 poll=0.1)
        return self

    def _listening(self) -> bool:
        assert self.proc and self.proc.poll() is None, (self.folder / "mosquitto.log").read_text()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def freeze(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.thaw()
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def conf_lines(self) -> str:
        """The [mqtt] lines of smartcam.conf that reach this broker."""
        lines = ["[mqtt]", "enabled = true", f"broker = 127.0.0.1:{self.port}"]
        if self.kind != "anonymous":
            secret = self.folder / "password.txt"
            secret.write_text(PASSWORD + "\n")
            lines += [f"username = {USER}", f"password_file = {secret}"]
        if self.ca:
            lines += ["tls = true", f"ca_file = {self.ca}"]
        return "\n".join(lines) + "\n"


class Listener:
    """A subscriber to `#` that keeps every message (and the retained ones it is sent)."""

    def __init__(self, broker: Broker, topics: str = "#"):
        self.messages: list[tuple[str, str, bool]] = []  # (topic, payload, retained)
        self._lock = threading.Lock()
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"listener-{time.time_ns()}")
        if broker.kind != "anonymous":
            client.username_pw_set(USER, PASSWORD)
        if broker.ca:
            client.tls_set(ca_certs=str(broker.ca))
        client.on_connect = lambda c, u, f, rc, p: c.subscribe(topics, qos=1)
        client.on_message = self._keep
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        self.client = client

    def _keep(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload.decode(), bool(message.retain)))

    def on(self, topic: str) -> list[str]:
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def last(self, topic: str) -> str | None:
        found = self.on(topic)
        return found[-1] if found else None

    def json(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(p) for p in self.on(topic) if p]

    def wait(self, topic: str, payload: str | None = None, timeout: float = 30) -> str:
        def seen() -> str | None:
            last = self.last(topic)
            return last if last is not None and (payload is None or last == payload) else None
        return wait_for(seen, timeout=timeout, what=f"{payload or 'a message'} on {topic}",
                        poll=0.05)

    def send(self, topic: str, payload: str, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
