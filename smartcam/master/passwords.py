"""Password hashes: scrypt from the standard library, its parameters stored with each hash.

scrypt is memory-hard and one of the KDFs OWASP ASVS 5.0 approves (Appendix C: r=8 with
N=2^15 and p>=3); the standard library has it, so the master needs no compiled dependency on
any Debian or Raspberry Pi OS machine. A hash reads `scrypt$<log2 N>$<r>$<p>$<salt>$<key>`
(base64), so raising the parameters later re-hashes each password at its next login.

Each hash takes 32 MiB and about a tenth of a second: at most two run at once, so a flood of
logins cannot take a Pi's memory one waitress thread at a time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading

LOG2_N, R, P = 15, 8, 3
MAXMEM = 64 << 20
KEY_BYTES = 32
MIN_LENGTH, MAX_LENGTH = 12, 256  # ASVS 6.2.1/6.2.9: long passphrases, never truncated
_running = threading.BoundedSemaphore(2)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = _derive(password, salt, LOG2_N, R, P)
    return "$".join(["scrypt", str(LOG2_N), str(R), str(P), _b64(salt), _b64(key)])


def verify(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`; an empty or malformed `stored` (a user who does not
    exist) costs a whole hash too, so timing does not tell which names are accounts."""
    parsed = parse(stored)
    if parsed is None:
        _derive(password, b"\0" * 16, LOG2_N, R, P)
        return False
    log2_n, r, p, salt, key = parsed
    return hmac.compare_digest(_derive(password, salt, log2_n, r, p), key)


def needs_rehash(stored: str) -> bool:
    parsed = parse(stored)
    return parsed is None or parsed[:3] != (LOG2_N, R, P)


def parse(stored: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        log2_n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, key = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5],
                                                                                validate=True)
    except ValueError:
        return None
    if not (14 <= log2_n <= 20 and 1 <= r <= 16 and 1 <= p <= 16 and len(salt) >= 16
            and len(key) == KEY_BYTES and 128 * r * 2 ** log2_n < MAXMEM):
        return None
    return log2_n, r, p, salt, key


def weakness(password: str, username: str = "") -> str | None:
    """What is wrong with a new password, or None. Length is the rule (ASVS 6.2: no
    composition rules); the name itself, or the name inside it, is refused too."""
    if len(password) < MIN_LENGTH:
        return f"a password needs at least {MIN_LENGTH} characters (a few words will do)"
    if len(password) > MAX_LENGTH:
        return f"a password may have at most {MAX_LENGTH} characters"
    if username and username.lower() in password.lower():
        return "a password must not contain the user name"
    if len(set(password)) < 4:
        return "a password needs more than three different characters"
    return None


def _derive(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    with _running:
        return hashlib.scrypt(password.encode(), salt=salt, n=2 ** log2_n, r=r, p=p,
                              maxmem=MAXMEM, dklen=KEY_BYTES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
