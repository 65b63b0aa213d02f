"""One camera's MQTT topics, in Frigate's style: `<prefix>/<camera>/<what>`, commands on
`.../<feature>/set` with their state on `.../<feature>/state`."""

from __future__ import annotations

from dataclasses import dataclass

ON, OFF = "ON", "OFF"


@dataclass(frozen=True)
class Topics:
    prefix: str
    camera: str

    def _t(self, *parts: str) -> str:
        return "/".join((self.prefix, self.camera, *parts))

    @property
    def available(self) -> str:  # online; offline (the broker's last will, or a clean stop)
        return self._t("available")

    @property
    def motion(self) -> str:  # ON / OFF, OFF after motion_off_delay without motion
        return self._t("motion")

    @property
    def recording(self) -> str:  # ON / OFF
        return self._t("recording")

    @property
    def events(self) -> str:  # JSON, not retained: {"type": "new" | "update" | "end", ...}
        return self._t("events")

    @property
    def health(self) -> str:  # JSON, retained
        return self._t("health")

    @property
    def snapshot_url(self) -> str:  # the URL of the latest picture, retained
        return self._t("snapshot_url")

    def group_triggers(self, group: str) -> str:
        """A group's signed triggers, shared by its cameras at every site (never retained).
        `_group` is no camera's name: those start with a letter or digit."""
        return f"{self.prefix}/_group/{group}/trigger"

    def state(self, feature: str) -> str:
        return self._t(feature, "state")

    def command(self, feature: str) -> str:
        return self._t(feature, "set")
