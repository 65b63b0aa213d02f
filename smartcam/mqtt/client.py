"""paho-mqtt 2.x on a thread of its own: connects and reconnects in the background (1 s to a
minute apart), and never makes a caller wait. `publish()` only queues (paho's network thread
writes), and at most QUEUED messages wait for a broker that is away; retained state is sent
again on every connect anyway (`on_connect`), so nothing that matters is lost with them.

The broker keeps our last will: `<prefix>/<camera>/available` = offline, retained, published by
the broker when the connection dies without a goodbye (a crash, a SIGKILL, a cut cable).
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from smartcam.config.mqtt import Mqtt
from smartcam.errors import ConfigError

log = logging.getLogger(__name__)
QUEUED = 1000  # messages kept for a broker that is away
KEEPALIVE = 30  # seconds; the broker declares us gone (and sends the will) after 1.5 x this
OFFLINE = "offline"
Handler = Callable[[str, str], None]  # (topic, payload)


def password(settings: Mqtt) -> str | None:
    """The first line of password_file; ConfigError naming the file when it cannot be read."""
    if settings.password_file is None:
        return None
    try:
        return (settings.password_file.read_text().splitlines() or [""])[0]
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"[mqtt] password_file = {settings.password_file}: cannot read it "
                          f"({getattr(err, 'strerror', None) or err})") from err


class MqttClient:
    def __init__(self, settings: Mqtt, client_id: str, will_topic: str,
                 on_connect: Callable[[], None], on_message: Handler):
        if settings.broker is None:
            raise ConfigError("[mqtt] broker: needed when enabled = true")
        self.settings = settings
        self.host = settings.broker.host
        self.port = settings.broker.port or (8883 if settings.tls else 1883)
        self.connected = False
        self.last_error: str | None = "not connected yet"
        self._on_connect, self._on_message = on_connect, on_message
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        client.will_set(will_topic, OFFLINE, qos=1, retain=True)
        if settings.tls:
            ca = str(settings.ca_file) if settings.ca_file else None
            client.tls_set(ca_certs=ca, cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(1, 60)
        client.max_queued_messages_set(QUEUED)
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        self._client = client
        self._will_topic = will_topic

    def start(self) -> None:
        """Connect in the background; returns at once, whether or not the broker answers.
        Raises ConfigError when the password file cannot be read."""
        if self.settings.username:
            self._client.username_pw_set(self.settings.username, password(self.settings))
        self._client.connect_async(self.host, self.port, keepalive=KEEPALIVE)
        self._client.loop_start()

    def problem(self) -> str | None:
        """Why we are not connected, or None."""
        return None if self.connected else self.last_error

    def close(self) -> None:
        """Say we are going (offline, retained), then disconnect."""
        if self.connected:
            self._client.publish(self._will_topic, OFFLINE, qos=1, retain=True).wait_for_publish(2)
        self.connected, self.last_error = False, "stopped"  # not "lost": we are leaving
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        """Queue one message (QoS 1); dropped when QUEUED are already waiting."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            log.debug("not published to %s: %s", topic, paho.error_string(info.rc))

    def subscribe(self, *topics: str) -> None:
        self._client.subscribe([(t, 1) for t in topics])

    # -- paho's callbacks, on its network thread ---------------------------------------------

    def _connected(self, client, userdata, flags, reason, properties) -> None:  # noqa: ANN001
        if reason.is_failure:
            self.last_error = f"the broker refused us: {reason}"
            log.warning("the MQTT broker %s:%d refused us: %s", self.host, self.port, reason)
            return
        self.connected, self.last_error = True, None
        log.info("connected to the MQTT broker %s:%d", self.host, self.port)
        try:
            self._on_connect()
        except Exception:  # our bug must not end paho's thread
            log.exception("publishing the state to MQTT failed")

    def _disconnected(self, client, userdata, flags, reason, properties) -> None:  # noqa: ANN001
        if self.connected:  # not after close()
            log.warning("lost the MQTT broker %s:%d (%s); reconnecting", self.host, self.port,
                        reason)
            self.last_error = f"lost it: {reason}"
        self.connected = False

    def _message(self, client, userdata, message) -> None:  # noqa: ANN001
        try:
            self._on_message(message.topic, message.payload.decode("utf-8", "replace"))
        except Exception:
            log.exception("handling the MQTT message on %s failed", message.topic)
