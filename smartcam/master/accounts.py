"""Users, their sessions and the audit log: the master's own state, in SQLite on its own disk.

Unlike the clip index (index.py, a cache rebuilt from the NAS), nothing here can be rebuilt, so
it lives in its own file and is never thrown away. One connection, one lock: logins are rare
and each statement is small.

Sessions are server-side: the browser holds a random token (256 bits), the database only its
SHA-256, so a copy of the database opens no session. A session ends at logout, after `idle`
seconds unused, `lifetime` seconds after login, and when its user's password or role changes
or the user is removed. Rights are read from the users table on every request, so a change
applies at once (ASVS 8.3.2).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartcam.clips.names import NAME
from smartcam.errors import SmartcamError
from smartcam.master import passwords, totp
from smartcam.master.sqlite import Store

ROLES = ("admin", "viewer")
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
USERNAME_HELP = "1 to 64 characters A-Z, a-z, 0-9 and _ . @ -"
TOUCH_EVERY = 60.0  # seconds between writes of a session's last use
AUDIT_KEEP = 100_000  # rows; the oldest go first
RECOVERY_CODES = 10

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role TEXT NOT NULL,
    pw_hash TEXT NOT NULL,
    cameras TEXT,              -- JSON list of camera names; NULL: every camera
    created REAL NOT NULL,
    changed REAL NOT NULL,
    totp_secret TEXT,          -- set once confirmed with a code
    totp_pending TEXT,         -- offered, not yet confirmed
    totp_step INTEGER NOT NULL DEFAULT 0  -- the last step a code was taken from
);
CREATE TABLE IF NOT EXISTS recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY,  -- SHA-256 of the cookie's token
    public TEXT NOT NULL UNIQUE,  -- what the user sees and ends a session by
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL,
    address TEXT NOT NULL,
    agent TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    t REAL NOT NULL, user TEXT NOT NULL, address TEXT NOT NULL,
    action TEXT NOT NULL, detail TEXT NOT NULL, ok INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS setup (token_hash TEXT NOT NULL, created REAL NOT NULL);
"""


class AccountError(SmartcamError, ValueError):
    """A request about accounts that cannot be done as asked (said to the user as 4xx)."""


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    cameras: tuple[str, ...] | None  # None: every camera
    totp: bool = False  # a second step at login

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def may_see(self, camera: str) -> bool:
        return self.cameras is None or camera in self.cameras

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "totp": self.totp,
                "cameras": list(self.cameras) if self.cameras is not None else None}


@dataclass(frozen=True)
class Session:
    public: str
    user: User
    csrf: str
    created: float
    last_seen: float


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts(Store):
    schema = SCHEMA

    def __init__(self, path: Path, idle: float, lifetime: float):
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path)
        self._db.execute("PRAGMA foreign_keys=ON")  # a user's sessions go with the user
        path.chmod(0o600)  # password hashes (shares, arming and notifications live here too)
        self.idle, self.lifetime = idle, lifetime

    # -- users ------------------------------------------------------------------------------

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM users").fetchone()[0])

    def users(self) -> list[User]:
        with self._lock:
            rows = self._db.execute("SELECT id, name, role, cameras, totp_secret IS NOT NULL"
                                    " FROM users ORDER BY name")
            return [_user(row) for row in rows]

    def user(self, name: str) -> User | None:
        with self._lock:
            row = self._db.execute("SELECT id, name, role, cameras, totp_secret IS NOT NULL"
                                   " FROM users WHERE name = ?", (name,)).fetchone()
        return _user(row) if row else None

    def add(self, name: str, password: str, role: str,
            cameras: tuple[str, ...] | None = None) -> User:
        _check_user(name, role, cameras)
        if problem := passwords.weakness(password, name):
            raise AccountError(problem)
        return self.add_hashed(name, passwords.hash_password(password), role, cameras)

    def add_hashed(self, name: str, pw_hash: str, role: str,
                   cameras: tuple[str, ...] | None = None) -> User:
        now = time.time()
        with self._tx() as db:
            if db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise AccountError(f"there is already a user {name!r}")
            cur = db.execute(
                "INSERT INTO users (name, role, pw_hash, cameras, created, changed)"
                " VALUES (?, ?, ?, ?, ?, ?)", (name, role, pw_hash, _cams(cameras), now, now))
        return User(int(cur.lastrowid or 0), name, role, cameras)

    def login(self, name: str, password: str) -> User | None:
        """The user if the password is right; a whole hash is computed either way."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, name, role, cameras, totp_secret IS NOT NULL, pw_hash FROM users"
                " WHERE name = ?", (name,)).fetchone()
        if not passwords.verify(password, row[5] if row else ""):
            return None
        if passwords.needs_rehash(row[5]):
            with self._tx() as db:
                db.execute("UPDATE users SET pw_hash = ? WHERE id = ?",
                           (passwords.hash_password(password), row[0]))
        return _user(row)

    def set_password(self, user: User, password: str) -> None:
        """A new password ends every session of the user (the caller logs the user in anew)."""
        if problem := passwords.weakness(password, user.name):
            raise AccountError(problem)
        pw_hash = passwords.hash_password(password)
        with self._tx() as db:
            db.execute("UPDATE users SET pw_hash = ?, changed = ? WHERE id = ?",
                       (pw_hash, time.time(), user.id))
            db.execute("DELETE FROM sessions WHERE user_id = ?", (user.id,))

    def change(self, name: str, role: str, cameras: tuple[str, ...] | None) -> User:
        """New rights end the user's sessions: they log in again under the new ones."""
        _check_user(name, role, cameras)
        with self._tx() as db:
            row = db.execute("SELECT id, role FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise AccountError(f"there is no user {name!r}")
            if row[1] == "admin" and role != "admin":
                _keep_an_admin(db)
            db.execute("UPDATE users SET role = ?, cameras = ?, changed = ? WHERE id = ?",
                       (role, _cams(cameras), time.time(), row[0]))
            db.execute("DELETE FROM sessions WHERE user_id = ?", (row[0],))
        return User(row[0], name, role, cameras)

    # -- the second step --------------------------------------------------------------------

    def totp_offer(self, user: User) -> str:
        """A new TOTP key for the user's app; it counts once a code from it is confirmed."""
        secret = totp.new_secret()
        with self._tx() as db:
            db.execute("UPDATE users SET totp_pending = ? WHERE id = ?", (secret, user.id))
        return secret

    def totp_confirm(self, user: User, given: str) -> list[str]:
        """Switch TOTP on with a code from the offered key; returns ten one-time recovery
        codes, shown once (only their hashes are kept)."""
        with self._lock:
            pending = self._db.execute("SELECT totp_pending FROM users WHERE id = ?",
                                       (user.id,)).fetchone()
        if not pending or not pending[0]:
            raise AccountError("ask for a key first")
        step = totp.accept(pending[0], given, 0)
        if step is None:
            raise AccountError("that code does not match the key (is the phone's clock right?)")
        codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
        with self._tx() as db:
            db.execute("UPDATE users SET totp_secret = totp_pending, totp_pending = NULL,"
                       " totp_step = ?, changed = ? WHERE id = ?", (step, time.time(), user.id))
            db.execute("DELETE FROM recovery_codes WHERE user_id = ?", (user.id,))
            db.executemany("INSERT INTO recovery_codes VALUES (?, ?)",
                           ((user.id, token_hash(c)) for c in codes))
        return codes

    def totp_off(self, user: User) -> None:
        with self._tx() as db:
            db.execute("UPDATE users SET totp_secret = NULL, totp_pending = NULL, changed = ?"
                       " WHERE id = ?", (time.time(), user.id))
            db.execute("DELETE FROM recovery_codes WHERE user_id = ?", (user.id,))

    def second_step(self, user: User, given: str) -> str | None:
        """How the user passed the second step ("totp" or "recovery code"), or None. A TOTP
        code is taken once; a recovery code is used up."""
        given = given.strip().lower()
        with self._tx() as db:
            row = db.execute("SELECT totp_secret, totp_step FROM users WHERE id = ?",
                             (user.id,)).fetchone()
            if not row or not row[0]:
                return None
            step = totp.accept(row[0], given, row[1])
            if step is not None:
                db.execute("UPDATE users SET totp_step = ? WHERE id = ?", (step, user.id))
                return "totp"
            cur = db.execute("DELETE FROM recovery_codes WHERE user_id = ? AND code_hash = ?",
                             (user.id, token_hash(given)))
            return "recovery code" if cur.rowcount else None

    def remove(self, name: str) -> None:
        with self._tx() as db:
            row = db.execute("SELECT id, role FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise AccountError(f"there is no user {name!r}")
            if row[1] == "admin":
                _keep_an_admin(db)
            db.execute("DELETE FROM users WHERE id = ?", (row[0],))  # sessions go with it

    # -- sessions ---------------------------------------------------------------------------

    def open_session(self, user: User, address: str, agent: str) -> str:
        """A new session; returns the cookie's token (only its hash is kept)."""
        token, now = secrets.token_urlsafe(32), time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (token_hash(token), secrets.token_urlsafe(12), user.id,
                 secrets.token_urlsafe(32), now, now, address[:64], agent[:200]))
        return token

    def session(self, token: str) -> Session | None:
        """The live session this token opens, or None (and an expired one is deleted)."""
        if not token or len(token) > 100:
            return None
        key, now = token_hash(token), time.time()
        with self._lock:
            row = self._db.execute(
                "SELECT s.public, s.csrf, s.created, s.last_seen, u.id, u.name, u.role, u.cameras,"
                " u.totp_secret IS NOT NULL"
                " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?", (key,)
            ).fetchone()
        if row is None:
            return None
        public, csrf, created, last_seen = row[:4]
        if now - last_seen > self.idle or now - created > self.lifetime:
            self.end_session(token)
            return None
        if now - last_seen > TOUCH_EVERY:
            with self._tx() as db:
                db.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?", (now, key))
            last_seen = now
        return Session(public, _user(row[4:]), csrf, created, last_seen)

    def end_session(self, token: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE id_hash = ?", (token_hash(token),))

    def sessions_of(self, user: User) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT public, created, last_seen, address, agent FROM sessions"
                " WHERE user_id = ? ORDER BY last_seen DESC", (user.id,)).fetchall()
        keys = ("id", "created", "last_seen", "address", "agent")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def end_public(self, user: User, public: str) -> bool:
        """End one of the user's own sessions by the id the user was shown."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM sessions WHERE user_id = ? AND public = ?",
                             (user.id, public))
        return cur.rowcount > 0

    def expire(self) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute("DELETE FROM sessions WHERE last_seen < ? OR created < ?",
                       (now - self.idle, now - self.lifetime))

    # -- the first admin --------------------------------------------------------------------

    def new_setup_token(self) -> str:
        """A one-time token for creating the first admin; replaces any earlier one."""
        token = secrets.token_urlsafe(24)
        with self._tx() as db:
            db.execute("DELETE FROM setup")
            db.execute("INSERT INTO setup VALUES (?, ?)", (token_hash(token), time.time()))
        return token

    def setup(self, token: str, name: str, password: str) -> User:
        """Create the first admin with the setup token, which dies with its use."""
        with self._lock:
            row = self._db.execute("SELECT token_hash FROM setup").fetchone()
        if row is None or not secrets.compare_digest(row[0], token_hash(token)):
            raise AccountError("this setup link is not valid (used already, or replaced by a "
                               "newer one: the master's log prints the current one)")
        if self.count():
            raise AccountError("the master has users already: log in instead")
        user = self.add(name, password, "admin")
        with self._tx() as db:
            db.execute("DELETE FROM setup")
        return user

    # -- audit ------------------------------------------------------------------------------

    def audit(self, user: str, address: str, action: str, detail: str = "",
              ok: bool = True) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?)",
                       (time.time(), user, address, action, detail[:500], int(ok)))
            db.execute("DELETE FROM audit WHERE rowid <= (SELECT max(rowid) FROM audit) - ?",
                       (AUDIT_KEEP,))

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT t, user, address, action, detail, ok FROM audit"
                " ORDER BY rowid DESC LIMIT ?", (limit,)).fetchall()
        keys = ("time", "user", "address", "action", "detail", "ok")
        return [dict(zip(keys, (*row[:5], bool(row[5])), strict=True)) for row in rows]


def check_username(name: str) -> str:
    if not isinstance(name, str) or not USERNAME.fullmatch(name):
        raise AccountError(f"a user name is {USERNAME_HELP}")
    return name


def _check_user(name: str, role: str, cameras: tuple[str, ...] | None) -> None:
    check_username(name)
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    for camera in cameras or ():
        if not NAME.fullmatch(camera):
            raise AccountError(f"{camera!r} is not a camera name")


def _keep_an_admin(db: sqlite3.Connection) -> None:
    if db.execute("SELECT count(*) FROM users WHERE role = 'admin'").fetchone()[0] <= 1:
        raise AccountError("this is the last admin: make another user admin first")


def _cams(cameras: tuple[str, ...] | None) -> str | None:
    return None if cameras is None else json.dumps(sorted(set(cameras)))


def _user(row: Any) -> User:
    cameras = None if row[3] is None else tuple(json.loads(row[3]))
    return User(int(row[0]), str(row[1]), str(row[2]), cameras, bool(row[4]))

