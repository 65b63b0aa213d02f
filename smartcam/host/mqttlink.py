"""The host's MQTT side ([mqtt]): the camera's state out, Home Assistant's commands in.

Out, to `<prefix>/<camera>/...` (smartcam.mqtt.topics): `motion` ON at once and OFF after
`motion_off_delay` seconds without motion; `recording`; `events` (JSON, not retained: "new"
when a clip starts, "update" when motion starts again while it records, "end" with its clip and
thumbnail URLs when it is ready); `health` (JSON,
every minute); `armed/state` and `detect/state`; `snapshot_url`; and `available`, online once
all of that is out, offline when the host stops (the broker's last will when it dies). All of it
is sent again on every (re)connect and when Home Assistant comes back online, after the
discovery message (smartcam.mqtt.discovery).

Across sites: with [peers] on, our group's signed triggers also go to
`<prefix>/_group/<group>/trigger` (JSON {"body", "signature"}, never retained), and the others'
come in from there to the same receiver as over HTTP (signature, group, clock, rate, nonce: the
same trigger twice records once). A Mosquitto bridge between two sites' brokers carries them;
the host never forwards one.

In, on `.../<feature>/set`: `record` (PRESS, or a number of seconds) records now; `detect`
ON/OFF switches [motion] enabled and saves it in smartcam.conf as the page would; `armed` ON/OFF
is kept as the master's arming is (disarmed silences notifications; the camera records all the
same). Commands run on a thread of their own, so a slow camera never holds up paho's network
thread, and nothing here ever waits on the broker.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from typing import Any

from smartcam.coop.wire import HEADER
from smartcam.errors import ConfigError, SmartcamError
from smartcam.host.api.camera import RECORD_SECONDS
from smartcam.host.api.settings import apply_settings
from smartcam.host.health import health
from smartcam.mqtt import discovery
from smartcam.mqtt.client import MqttClient
from smartcam.mqtt.topics import OFF, ON, Topics

log = logging.getLogger(__name__)
TICK = 1.0  # seconds between looks at what changed
HEALTH_EVERY = 60.0
GRACE = 30.0  # seconds a broker may take to answer before the page says so
STATUS_LAG = 10.0  # two of the camera's heartbeats


class MqttLink:
    def __init__(self, host: Any):
        cfg = host.cfg
        self.host, self.settings = host, cfg.mqtt
        self.topics = Topics(cfg.mqtt.topic_prefix, cfg.camera.name)
        self.page = f"http://{socket.gethostname()}.local/"
        self.client = MqttClient(cfg.mqtt, cfg.mqtt.client_id or f"smartcam-{cfg.camera.name}",
                                 self.topics.available, self._connected, self._message)
        self.alive = time.monotonic()
        self._lock = threading.Lock()  # the states below, written by the link's and our threads
        self._sent: dict[str, str] = {}  # retained topic -> the payload last sent
        self._motion_since: float | None = None  # the last motion, while OFF is pending
        self._motion = False
        self._clip: str | None = None  # the event id of the clip being recorded
        self._clip_at = 0.0  # time.monotonic() it was first heard of
        self._started = time.monotonic()
        self._config_error: str | None = None
        host.link.listeners.append(self._on_event)
        self.cooperation = host.cooperation if host.cooperation.enabled else None
        if self.cooperation is not None:
            self.cooperation.transports.append(self.send_trigger)

    # -- the worker --------------------------------------------------------------------------

    def problem(self) -> str | None:
        """What the page should say about MQTT: not connected (after a grace), or the config."""
        if self._config_error:
            return self._config_error
        problem = self.client.problem()
        if problem and time.monotonic() - self._started > GRACE:
            settings = self.settings
            return f"{settings.broker.host}:{self.client.port}: {problem}"  # type: ignore[union-attr]
        return None

    def run(self, stop: threading.Event) -> None:
        self._started = time.monotonic()
        try:
            self.client.start()
        except ConfigError as err:
            self._config_error = str(err)
            log.error("MQTT is off: %s", err)
            return
        health_at = time.monotonic() + HEALTH_EVERY
        try:
            while not stop.wait(TICK):
                self.alive = now = time.monotonic()
                self._tick(now)
                if now >= health_at:
                    health_at = now + HEALTH_EVERY
                    self._publish_health()
        finally:
            self.client.close()

    def _tick(self, now: float) -> None:
        with self._lock:
            due = (self._motion and self._motion_since is not None
                   and now - self._motion_since >= self.settings.motion_off_delay)
            if due:
                self._motion, self._motion_since = False, None
        if due:
            self._retain(self.topics.motion, OFF)
        # The camera's status comes with its heartbeat (every 5 s): a clip heard of since is
        # recording whatever the last status said, until its end (or two heartbeats of idle).
        status = self.host.link.last_status if self.host.link.connected else None
        idle = not (status and status.get("state") == "recording")
        with self._lock:
            if idle and self._clip and now - self._clip_at > STATUS_LAG:
                self._clip = None
            recording = bool(self._clip) or not idle
        self._retain(self.topics.recording, ON if recording else OFF)
        self._publish_switches()

    # -- out ---------------------------------------------------------------------------------

    def _retain(self, topic: str, payload: str) -> None:
        """Publish a retained state when it changed since it was last sent."""
        with self._lock:
            if self._sent.get(topic) == payload:
                return
            self._sent[topic] = payload
        self.client.publish(topic, payload, retain=True)

    def _armed(self) -> bool:
        """As the master or MQTT last said; a group never set is armed."""
        return (self.host.arming or {}).get("armed", True)

    def _publish_switches(self) -> None:
        self._retain(self.topics.state("armed"), ON if self._armed() else OFF)
        self._retain(self.topics.state("detect"), ON if self.host.cfg.motion.enabled else OFF)

    def _publish_health(self) -> None:
        now = health(self.host)
        storage = now.get("storage") or {}
        budget = storage.get("spool_budget_bytes") or 0
        free = storage.get("nas_free_bytes")
        data = {
            "ok": now["ok"],
            "problems": [p["message"] for p in now["problems"]],
            "camera_connected": now["camera_connected"],
            "cpu_temperature": now["cpu_temperature"],
            "nas": storage.get("nas_trouble") or ("ok" if storage.get("nas_writable") else
                                                  "not checked"),
            "nas_free_gb": round(free / 1e9, 2) if free is not None else None,
            "spool_used_percent": round(100 * storage.get("spool_used_bytes", 0) / budget, 1)
            if budget else None,
            "clips_waiting": storage.get("backlog_clips"),
            "dropped": storage.get("dropped"),
            "uptime": now["uptime"],
        }
        self._retain(self.topics.health, json.dumps(data))

    def _connected(self) -> None:
        """Everything again, on every connect: subscriptions, discovery, state, then online."""
        t = self.topics
        self.client.subscribe(*(t.command(f) for f in discovery.FEATURES),
                              f"{self.settings.discovery_prefix}/status",
                              *([self._group_topic] if self.cooperation else []))
        self._announce()
        with self._lock:
            self._sent.clear()  # the broker may have lost what it kept (no persistence)
            motion = self._motion
        self._retain(t.motion, ON if motion else OFF)
        self._tick(time.monotonic())
        self._publish_health()
        self._retain(t.snapshot_url, self.page + "snapshot.jpg")
        self._retain(t.available, "online")

    def _announce(self) -> None:
        where = discovery.topic(self.settings.discovery_prefix, self.topics.camera)
        if not self.settings.discovery:  # switched off: take the device out of Home Assistant
            self.client.publish(where, "", retain=True)
            return
        config = discovery.device_config(self.topics, self.host.cfg.web.title
                                         or self.topics.camera, self.host.version, self.page)
        self.client.publish(where, json.dumps(config), retain=True)

    def _on_event(self, event: dict[str, Any]) -> None:
        """The camera's events (on the link's thread): motion at once, clips as they go."""
        kind = event.get("event")
        if kind == "motion_start":
            with self._lock:
                self._motion, self._motion_since = True, None
                clip = self._clip
            self._retain(self.topics.motion, ON)
            if clip:  # motion again in a clip under way: it goes on
                self._event("update", {"event": clip, "motion": True})
        elif kind == "motion_end":
            with self._lock:
                self._motion_since = time.monotonic()
        elif kind in ("recording", "heartbeat"):
            clip = event.get("clip") or (event.get("status") or {}).get("clip")
            if clip and clip.get("event"):
                self._clip_started(clip)
        elif kind == "clip_ready":
            self._clip_ended(event.get("clip") or {})

    def _clip_started(self, clip: dict[str, Any]) -> None:
        with self._lock:
            new = clip["event"] != self._clip
            self._clip = clip["event"]
            if new:
                self._clip_at = time.monotonic()
        if new:
            self._retain(self.topics.recording, ON)
            self._event("new", clip)

    def _clip_ended(self, card: dict[str, Any]) -> None:
        if not card.get("event"):
            return
        with self._lock:
            if self._clip == card["event"]:
                self._clip = None
        api = f"{self.page}api/v1/events/{card['event']}"
        self._event("end", {**{k: card.get(k) for k in (
            "event", "incident", "cause", "origin", "start", "duration", "part")},
            "clip_url": f"{api}/clip", "thumbnail_url": f"{api}/thumbnail"})

    def _event(self, kind: str, clip: dict[str, Any]) -> None:
        payload = {"type": kind, "camera": self.topics.camera, "armed": self._armed(),
                   "time": time.time(), **clip}
        self.client.publish(self.topics.events, json.dumps(payload))

    # -- in ----------------------------------------------------------------------------------

    @property
    def _group_topic(self) -> str:
        return self.topics.group_triggers(self.host.cfg.camera.group)

    def send_trigger(self, body: bytes, signature: str) -> None:
        """One of our group triggers, to the other sites (from cooperation's thread)."""
        payload = json.dumps({"body": body.decode(), "signature": signature})
        self.client.publish(self._group_topic, payload)

    def _trigger(self, payload: str) -> None:
        """A group trigger from the broker: checked by the receiver as if it came over HTTP."""
        try:
            data = json.loads(payload)
            body, signature = data["body"].encode(), str(data["signature"])
            origin = json.loads(body).get("origin")
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring a malformed group trigger from MQTT")
            return
        if origin == self.host.cfg.camera.name:
            return  # our own, back from the broker
        self.cooperation.receiver.handle_trigger(body, {HEADER: signature}, remote="MQTT")

    def _message(self, topic: str, payload: str) -> None:
        """On paho's thread: Home Assistant's birth, a group trigger, or a command (each run
        on a thread of its own)."""
        if self.cooperation is not None and topic == self._group_topic:
            threading.Thread(target=self._trigger, args=(payload,), name="mqtt-trigger",
                             daemon=True).start()
            return
        if topic == f"{self.settings.discovery_prefix}/status":
            if payload == "online":  # Home Assistant restarted: it forgot the device
                self._connected()
            return
        for feature in discovery.FEATURES:
            if topic == self.topics.command(feature):
                threading.Thread(target=self._command, args=(feature, payload.strip()),
                                 name=f"mqtt-{feature}", daemon=True).start()

    def _command(self, feature: str, payload: str) -> None:
        try:
            if feature == "record":
                self._record(payload)
            elif payload.upper() not in (ON, OFF):
                log.warning("MQTT %s: %r is neither ON nor OFF", feature, payload)
            elif feature == "armed":
                self.host.arming = {"armed": payload.upper() == ON, "mode": "mqtt",
                                    "by": "MQTT", "at": time.time()}
            else:
                apply_settings(self.host, {"motion": {"enabled": payload.upper() == ON}})
        except SmartcamError as err:  # refused by the settings, or the camera is away
            log.warning("MQTT %s %r refused: %s", feature, payload, err)
        except Exception:
            log.exception("MQTT %s %r failed", feature, payload)
        self._publish_switches()

    def _record(self, payload: str) -> None:
        fields: dict[str, Any] = {}
        if payload.upper() != "PRESS":
            try:
                seconds = float(payload)
            except ValueError:
                seconds = -1.0
            low, high = RECORD_SECONDS
            if not low <= seconds <= high:
                log.warning("MQTT record: %r is neither PRESS nor %g to %g seconds", payload,
                            low, high)
                return
            fields["seconds"] = seconds
        answer = self.host.link.request("trigger", cause="manual", **fields)
        self._clip_started({"event": answer["event"], "incident": answer["incident"],
                            "cause": "manual"})
