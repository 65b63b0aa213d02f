"""Group triggers across sites: through two bridged Mosquittos, beside HTTP, in the same run.

Each trigger is signed once (coop.wire) and sent both ways to 5 peers, alternating which goes
first: over HTTP, coop.sender's `Fanout` posts it to each peer's `Receiver` behind a loopback
HTTP server (tests.net.TriggerServer); over MQTT, the origin's real `MqttClient` publishes it
once to its site's broker, which a Mosquitto bridge carries to the other site's broker, where
each peer's subscriber hands it to its own `Receiver` (as host/mqttlink.py does). The latency
ends when a peer's receiver has checked and accepted the trigger (a stand-in camera answers at
once: the camera's own share is bench_triggers'). Messages per trigger: what the origin sends.
Needs mosquitto; loopback only.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from smartcam.config import from_text
from smartcam.coop.receiver import Receiver
from smartcam.coop.sender import Fanout
from smartcam.coop.table import API, Peer
from smartcam.coop.wire import HEADER, TriggerMessage, sign
from smartcam.mqtt.client import MqttClient
from tests.mqtt.broker import MOSQUITTO, Broker, free_port
from tests.net import TriggerServer

PEERS = 5
TRIGGERS = 200
SECRET = "bench-secret-0123456789abcdef"
TOPIC = "smartcam/_group/bench/trigger"
SPACING = 0.25  # seconds between triggers: a receiver takes 5 a second from one origin


class Camera:
    """A peer's camera that records at once."""

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        return {"event": "e" * 12, "incident": fields.get("incident")}


class Arrivals:
    """When each peer's receiver accepted each incident, by path."""

    def __init__(self) -> None:
        self.at: dict[tuple[str, int, str], float] = {}
        self.cond = threading.Condition()

    def receiver(self, path: str, peer: int) -> Receiver:
        arrivals = self

        class Timed(Receiver):
            def handle_trigger(self, body: bytes, headers: Any, remote: str = "") -> Any:
                status, reply = super().handle_trigger(body, headers, remote)
                if status == 200:
                    with arrivals.cond:
                        arrivals.at[(path, peer, reply["incident"])] = time.time()
                        arrivals.cond.notify_all()
                return status, reply

        return Timed(f"peer{peer}", "bench", SECRET, Camera())

    def wait(self, path: str, incident: str, timeout: float = 5.0) -> list[float]:
        keys = [(path, i, incident) for i in range(PEERS)]
        with self.cond:
            self.cond.wait_for(lambda: all(k in self.at for k in keys), timeout)
            return [self.at[k] for k in keys if k in self.at]


def subscriber(broker: Broker, receiver: Receiver, ready: threading.Barrier) -> paho.Client:
    def on_message(client: Any, userdata: Any, message: Any) -> None:
        data = json.loads(message.payload)
        receiver.handle_trigger(data["body"].encode(), {HEADER: data["signature"]}, "MQTT")

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{receiver.name}")
    client.on_connect = lambda c, u, f, rc, p: (c.subscribe(TOPIC, qos=1), ready.wait())
    client.on_message = on_message
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 2), "p99": round(percentile(values, 99), 2),
            "max": round(max(values), 2)}


def run() -> dict[str, Any]:
    if MOSQUITTO is None:
        return {"skipped": "mosquitto is not installed (Debian: apt-get install mosquitto)"}
    with tempfile.TemporaryDirectory(prefix="bench-mqtt-") as tmp:
        return measure(Path(tmp))


def measure(root: Path) -> dict[str, Any]:
    arrivals = Arrivals()
    port_a = free_port()
    bridge = (f"connection site-a\naddress 127.0.0.1:{port_a}\n"
              "topic smartcam/_group/# both 1\ncleansession true\n")
    brokers = [Broker(root / "a", port=port_a).start(), Broker(root / "b", extra=bridge).start()]
    servers = [TriggerServer(arrivals.receiver("http", i)).__enter__() for i in range(PEERS)]
    ready = threading.Barrier(PEERS + 1)
    subs = [subscriber(brokers[1], arrivals.receiver("mqtt", i), ready) for i in range(PEERS)]
    cfg = from_text(f"[mqtt]\nenabled = true\nbroker = 127.0.0.1:{port_a}\n").mqtt
    connected = threading.Event()
    origin = MqttClient(cfg, "origin", "smartcam/origin/available", connected.set,
                        lambda t, p: None)
    fanout = Fanout(SECRET)
    peers = [Peer(f"peer{i}", "bench", (s.host,), s.port, API, "bench", "0")
             for i, s in enumerate(servers)]
    try:
        ready.wait(10)
        origin.start()
        connected.wait(10)
        time.sleep(1.0)  # the bridge connects
        lat: dict[str, list[float]] = {"http": [], "mqtt": []}
        missed = {"http": 0, "mqtt": 0}
        for n in range(TRIGGERS):
            now = started = time.time()
            message = TriggerMessage(f"{n + 1:012x}", "origin", "bench", now + 5, now,
                                     f"{n:032x}")
            body = message.encode()
            order = ("http", "mqtt") if n % 2 else ("mqtt", "http")
            for path in order:
                t0 = time.time()
                if path == "http":
                    fanout.send(message, peers)
                else:
                    origin.publish(TOPIC, json.dumps({"body": body.decode(),
                                                      "signature": sign(body, SECRET)}))
                got = arrivals.wait(path, message.incident)
                missed[path] += PEERS - len(got)
                lat[path] += [(t - t0) * 1000 for t in got]
            time.sleep(max(0.0, started + SPACING - time.time()))
    finally:
        origin.close()
        fanout.close()
        for client in subs:
            client.disconnect()
            client.loop_stop()
        for server in servers:
            server.__exit__()
        for broker in brokers:
            broker.stop()
    return {
        "path": "signed trigger -> accepted by each peer's receiver; HTTP: one POST per peer "
                "on loopback; MQTT: one publish -> broker A -> bridge -> broker B -> subscriber",
        "peers": PEERS,
        "triggers": TRIGGERS,
        "http_ms": summary(lat["http"]),
        "mqtt_bridged_ms": summary(lat["mqtt"]),
        "p99_ratio_mqtt_to_http": round(percentile(lat["mqtt"], 99)
                                        / percentile(lat["http"], 99), 2),
        "messages_per_trigger": {"http": PEERS, "mqtt": 1},
        "missed": missed,
    }
