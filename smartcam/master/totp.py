"""Time-based one-time passwords (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits), what every
authenticator app speaks, and the QR code that hands an app its key (segno).

A code is taken once: the step it belongs to is remembered and no code of that step or an
earlier one is accepted again (Home Assistant does not remember, research/master.md §1.3).
One step either side is accepted for a phone whose clock is a little off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import struct
import time
from urllib.parse import quote

import segno

STEP, DIGITS, WINDOW = 30, 6, 1


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode()


def code(secret: str, step: int) -> str:
    key = base64.b32decode(secret)
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10 ** DIGITS:0{DIGITS}d}"


def accept(secret: str, given: str, last_step: int, now: float | None = None) -> int | None:
    """The step `given` belongs to, if it is a fresh code of this secret; else None."""
    given = given.strip().replace(" ", "")
    if len(given) != DIGITS or not given.isdigit():
        return None
    current = int((now if now is not None else time.time()) // STEP)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if step > last_step and hmac.compare_digest(code(secret, step), given):
            return step
    return None


def uri(secret: str, account: str, issuer: str = "smartcam") -> str:
    return (f"otpauth://totp/{quote(issuer)}:{quote(account)}?secret={secret}"
            f"&issuer={quote(issuer)}&digits={DIGITS}&period={STEP}")


def qr_svg(text: str) -> bytes:
    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=5, border=2)
    return out.getvalue()
