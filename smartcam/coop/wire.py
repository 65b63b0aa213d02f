"""Group triggers on the wire: the message, its signature, and what refusing one looks like.

Wire format (contract, DESIGN.md): `POST /api/v1/trigger` with the JSON body
`{incident, origin, group, until, sent_at, nonce}` and the header
`X-Smartcam-Signature: sha256=<hex>`, an HMAC-SHA256 of the exact body bytes keyed with the
group secret. `until` and `sent_at` are unix times (wall clock, seconds). coop.receiver checks
what arrives; coop.sender sends ours; the master signs "record this group" the same way.

The master's other writes to a host (a camera's settings) are signed the same way: a JSON body
with `sent_at` and `nonce` beside what it asks (`signed_request`), checked by `check_signed`
(the signature, the clock within SKEW, and the nonce never seen before), so a host can tell the
master's requests from a page on the LAN and refuse forged, stale or replayed ones.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from smartcam.clips.names import EVENT_ID, NAME, new_id
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


def signed_request(payload: dict[str, Any], secret: str, now: float) -> tuple[bytes,
                                                                             dict[str, str]]:
    """(body, headers) of a signed request carrying `payload`."""
    body = json.dumps({**payload, "sent_at": now, "nonce": new_id()},
                      separators=(",", ":"), sort_keys=True).encode()
    return body, {"Content-Type": "application/json", HEADER: sign(body, secret)}


def check_signed(body: bytes, header: str | None, secret: str, remember: Any,
                 now: float) -> dict[str, Any]:
    """The payload of a signed request; Rejected(401 forged, 403 stale, 409 replayed).
    `remember(nonce, now)` raises Replayed for a nonce seen before."""
    if len(secret) < 16:
        raise Rejected(403, "this camera has no [peers] secret, so it takes no signed requests")
    if len(body) > MAX_BODY * 16:
        raise Rejected(413, "the body is too large")
    if not signature_ok(body, header, secret):
        raise Rejected(401, f"missing or bad {HEADER} (another secret, or a forgery)")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise Rejected(400, f"the body is not JSON: {err}") from err
    sent_at = data.get("sent_at") if isinstance(data, dict) else None
    if isinstance(sent_at, bool) or not isinstance(sent_at, int | float) \
            or not math.isfinite(sent_at) or not EVENT_ID.fullmatch(str(data.get("nonce"))):
        raise Rejected(400, "a signed request carries sent_at (unix seconds) and a nonce")
    if abs(now - sent_at) > SKEW:
        raise Rejected(403, f"sent_at is {now - sent_at:+.1f} s off our clock (stale?)")
    remember(data["nonce"], now)
    return data


class Rejected(SmartcamError):
    """A trigger refused, with the HTTP status that says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Replayed(Rejected):
    """A nonce already used: a copy of a request already taken (a trigger comes over HTTP and
    MQTT both), or a replay. Either way it was acted on once, and is not again."""

    def __init__(self) -> None:
        super().__init__(409, "replayed trigger (this nonce was already used)")
