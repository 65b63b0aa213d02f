"""What the master does to cameras: record a whole group now, change a camera's [motion].

Both are signed with the group secret (`[peers] secret` in the master's config, the same as
the cameras'): "record" is a group trigger with the master as its origin, exactly as a camera
sends one (POST /api/v1/trigger); settings go to the host's PUT /api/v1/signed/settings. A host
refuses a forged, stale or replayed request, so a page on the LAN cannot pass for the master.
Only addresses the master found for the camera are asked, never one from a request.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from smartcam.clips.names import new_id
from smartcam.coop.client import Connections
from smartcam.coop.table import Peer
from smartcam.coop.wire import HEADER, TriggerMessage, sign, signed_request
from smartcam.errors import SmartcamError
from smartcam.httpjson import ApiError

ORIGIN = "master"  # a camera name no camera should have: it marks the master's triggers
TIMEOUT = 5.0


class Actions:
    def __init__(self, fleet: Any, secret: str):
        self.fleet, self.secret = fleet, secret

    def group_of(self, peer: Peer) -> str:
        """A peer's group: announced, or (a static entry) what its health said."""
        status = self.fleet.status.get(peer.name)
        return peer.group or (status.health.get("group", "") if status else "")

    def _need_secret(self) -> None:
        if len(self.secret) < 16:
            raise ApiError(409, "set [peers] secret in the master's smartcam.conf to the "
                           "cameras' group secret: the master signs what it asks with it")

    def record_group(self, group: str, seconds: float) -> dict[str, str]:
        """Ask every camera of the group to record now; per camera, what it answered."""
        self._need_secret()
        peers = [p for p in self.fleet.table.peers() if self.group_of(p) == group]
        if not peers:
            raise ApiError(404, f"no camera of group {group} is known")
        now = time.time()
        message = TriggerMessage(new_id(), ORIGIN, group, now + seconds, now, new_id())
        body = message.encode()
        headers = {"Content-Type": "application/json", HEADER: sign(body, self.secret)}

        async def ask(http: Connections, peer: Peer) -> str:
            try:
                status, _ = await http.post(peer, body, headers, TIMEOUT)
            except (OSError, EOFError, ValueError) as err:
                return f"unreachable: {err}"
            return "recording" if status < 300 else f"refused ({status})"

        async def ask_all() -> list[str]:
            http = Connections(idle=0)
            return await asyncio.gather(*(ask(http, peer) for peer in peers))

        return dict(zip((p.name for p in peers), asyncio.run(ask_all()), strict=True))

    def settings(self, peer: Peer, changes: dict[str, Any], by: str) -> tuple[int, Any]:
        """The host's status and answer to a signed settings change."""
        self._need_secret()
        return self._put(peer, "signed/settings", {"changes": changes, "by": by})

    def tell_arming(self, states: dict[str, dict[str, Any]]) -> dict[str, int]:
        """Tell every camera its group's arming (shown on its page); per camera, the status.
        Nothing without a group secret: the cameras would refuse it."""
        if len(self.secret) < 16:
            return {}
        peers = [p for p in self.fleet.table.peers() if self.group_of(p) in states]

        def tell(peer: Peer) -> int:
            state = states[self.group_of(peer)]
            try:
                return self._put(peer, "signed/arming", {
                    "armed": state["armed"], "group": state["group"], "mode": state["mode"],
                    "by": "the master"})[0]
            except SmartcamError:
                return 0

        with ThreadPoolExecutor(max_workers=8) as pool:
            return dict(zip((p.name for p in peers), pool.map(tell, peers), strict=True))

    def _put(self, peer: Peer, what: str, payload: dict[str, Any]) -> tuple[int, Any]:
        body, headers = signed_request(payload, self.secret, time.time())
        host, port, path = peer.url(peer.addresses[0], what)
        conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        try:
            conn.request("PUT", path, body, headers)
            answer = conn.getresponse()
            raw = answer.read()
        except (OSError, http.client.HTTPException) as err:
            raise ApiError(502, f"{peer.name} did not answer: {err}") from err
        finally:
            conn.close()
        try:
            return answer.status, json.loads(raw)
        except ValueError:
            raise SmartcamError(f"{peer.name} answered {answer.status} without JSON") from None
