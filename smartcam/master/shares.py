"""Share links: a view-only link to one incident, for someone with no account.

The link is `/s/<id>.<secret>`: the id names the share, the secret (256 bits) opens it, and only
the secret's SHA-256 is stored, so a copy of the database opens no share. A share expires at
the time its creator chose (at most MAX_SECONDS ahead), can be revoked, counts its views, and
may ask for a PIN. It shows the incident's clips that its creator may see now: a creator who
loses a camera, or is removed, takes the share's view of it along. Kept in master.db beside the
accounts (a share cannot be rebuilt from the NAS).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from smartcam.master.accounts import AccountError
from smartcam.master.sqlite import Store

MAX_SECONDS = 30 * 86400
MIN_SECONDS = 60
PIN = re.compile(r"\d{4,12}")
LINK = re.compile(r"(?P<id>[A-Za-z0-9_-]{12})\.(?P<secret>[A-Za-z0-9_-]{43})")

SCHEMA = """
CREATE TABLE IF NOT EXISTS shares (
    id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, incident TEXT NOT NULL,
    creator TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0, pin_hash TEXT, views INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class Share:
    id: str
    incident: str
    creator: str
    created: float
    expires: float
    revoked: bool
    pin: bool
    views: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "incident": self.incident, "creator": self.creator,
                "created": self.created, "expires": self.expires, "revoked": self.revoked,
                "pin": self.pin, "views": self.views}


class ShareError(AccountError):
    """A share link that does not open (unknown, revoked, expired): said as 404 or 410."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Shares(Store):
    schema = SCHEMA

    def create(self, incident: str, creator: str, seconds: float,
               pin: str | None = None) -> tuple[Share, str]:
        """A new share and its link's last part (`<id>.<secret>`), shown once."""
        if not MIN_SECONDS <= seconds <= MAX_SECONDS:
            raise AccountError(f"a share lasts from {MIN_SECONDS} seconds to "
                               f"{MAX_SECONDS // 86400} days")
        if pin is not None and not PIN.fullmatch(pin):
            raise AccountError("a PIN is 4 to 12 digits")
        share_id, secret, now = secrets.token_urlsafe(9), secrets.token_urlsafe(32), time.time()
        pin_hash = _hash(f"{share_id}:{pin}") if pin else None
        with self._tx() as db:
            db.execute("INSERT INTO shares (id, secret_hash, incident, creator, created, expires,"
                       " pin_hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (share_id, _hash(secret), incident, creator, now, now + seconds,
                        pin_hash))
        return Share(share_id, incident, creator, now, now + seconds, False, bool(pin),
                     0), f"{share_id}.{secret}"

    def open(self, link: str, count: bool = False) -> Share:
        """The share this link opens now; ShareError (404 unknown, 410 revoked or expired)."""
        match = LINK.fullmatch(link)
        if match is None:
            raise ShareError(404, "no such share link")
        with self._lock:
            row = self._db.execute(
                "SELECT id, incident, creator, created, expires, revoked, pin_hash IS NOT NULL,"
                " views, secret_hash FROM shares WHERE id = ?", (match["id"],)).fetchone()
        if row is None or not hmac.compare_digest(row[8], _hash(match["secret"])):
            raise ShareError(404, "no such share link")
        share = Share(row[0], row[1], row[2], row[3], row[4], bool(row[5]), bool(row[6]), row[7])
        if share.revoked:
            raise ShareError(410, "this share link was revoked by the person who made it")
        if time.time() > share.expires:
            raise ShareError(410, "this share link has expired")
        if count:
            with self._tx() as db:
                db.execute("UPDATE shares SET views = views + 1 WHERE id = ?", (share.id,))
        return share

    def pin_key(self, share: Share, pin: str) -> str | None:
        """The cookie value that proves the PIN was given, if `pin` is right."""
        with self._lock:
            row = self._db.execute("SELECT pin_hash FROM shares WHERE id = ?",
                                   (share.id,)).fetchone()
        if not row or not row[0] or not hmac.compare_digest(row[0], _hash(f"{share.id}:{pin}")):
            return None
        return _hash(f"{row[0]}:cookie")

    def pin_ok(self, share: Share, cookie: str) -> bool:
        if not share.pin:
            return True
        with self._lock:
            row = self._db.execute("SELECT pin_hash FROM shares WHERE id = ?",
                                   (share.id,)).fetchone()
        return bool(row and row[0]) and hmac.compare_digest(cookie, _hash(f"{row[0]}:cookie"))

    def of(self, creator: str | None) -> list[Share]:
        """The shares one user made (None: everyone's), newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, incident, creator, created, expires, revoked, pin_hash IS NOT NULL,"
                " views FROM shares WHERE ? IS NULL OR creator = ? ORDER BY created DESC",
                (creator, creator)).fetchall()
        return [Share(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6]), r[7]) for r in rows]

    def revoke(self, share_id: str, creator: str | None) -> bool:
        """Revoke a share (its creator's, or any when creator is None: an admin)."""
        with self._tx() as db:
            cur = db.execute("UPDATE shares SET revoked = 1 WHERE id = ? AND"
                             " (? IS NULL OR creator = ?)", (share_id, creator, creator))
        return cur.rowcount > 0
