"""Group triggers on the wire: the message, its signature, and what refusing one looks like.

Wire format (contract, DESIGN.md): `POST /api/v1/trigger` with the JSON body
`{incident, origin, group, until, sent_at, nonce}` and the header
`X-Smartcam-Signature: sha256=<hex>`, an HMAC-SHA256 of the exact body bytes keyed with the
group secret. `until` and `sent_at` are unix times (wall clock, seconds). coop.receiver checks
what arrives; coop.sender sends ours; the master signs "record this group" the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import asdict, dataclass

from smartcam.clips.names import EVENT_ID, NAME
from smartcam.errors import SmartcamError

HEADER = "X-Smartcam-Signature"
PATH = "trigger"  # under the peer's api prefix: /api/v1/trigger
MAX_BODY = 4096
SKEW = 30.0  # seconds of clock difference tolerated between origin and receiver


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(body: bytes, header: str | None, secret: str) -> bool:
    """Constant-time; never raises, whatever bytes the header holds (HTTP headers are latin-1)."""
    if not header:
        return False
    given = str(header).strip().encode("latin-1", "replace")
    return hmac.compare_digest(sign(body, secret).encode(), given)


@dataclass(frozen=True)
class TriggerMessage:
    incident: str
    origin: str
    group: str
    until: float
    sent_at: float
    nonce: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def decode(cls, body: bytes) -> TriggerMessage:
        """The message in a body, or Rejected(400) saying what is wrong with it."""
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as err:
            raise Rejected(400, f"the body is not JSON: {err}") from err
        if not isinstance(data, dict):
            raise Rejected(400, "the body must be a JSON object")
        for key, pattern in (("incident", EVENT_ID), ("origin", NAME), ("group", NAME),
                             ("nonce", EVENT_ID)):
            if not isinstance(data.get(key), str) or not pattern.fullmatch(data[key]):
                raise Rejected(400, f"{key} must be a string matching {pattern.pattern}")
        for key in ("until", "sent_at"):
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise Rejected(400, f"{key} must be a unix time in seconds")
            if not math.isfinite(value):
                raise Rejected(400, f"{key} must be finite")
        return cls(data["incident"], data["origin"], data["group"], float(data["until"]),
                   float(data["sent_at"]), data["nonce"])


class Rejected(SmartcamError):
    """A trigger refused, with the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
