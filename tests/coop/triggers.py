"""What the trigger tests share: a secret, a camera link that records, signed messages."""

from __future__ import annotations

from smartcam.coop.wire import HEADER, TriggerMessage, sign
from tests.waiting import Clock

SECRET = "correct horse battery staple"
class FakeLink:
    """Records what would reach the camera; answers like the camera's control socket."""

    def __init__(self, fail: Exception | None = None):
        self.requests: list[tuple[str, dict]] = []
        self.listeners: list = []
        self.fail = fail

    def request(self, cmd: str, **fields):
        self.requests.append((cmd, fields))
        if self.fail:
            raise self.fail
        return {"event": "0123456789ab", "incident": fields.get("incident", "")}


def message(clock: Clock, n: int = 0, **changes) -> TriggerMessage:
    fields = dict(incident="aabbccddeeff", origin="cam-a", group="yard", until=clock() + 12,
                  sent_at=clock(), nonce=f"{n:032x}")
    fields.update(changes)
    return TriggerMessage(**fields)


def signed(msg: TriggerMessage, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = msg.encode()
    return body, {HEADER: sign(body, secret), "Content-Type": "application/json"}
