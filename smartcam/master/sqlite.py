"""The master's SQLite files (master.db: accounts, shares, arming, notifications; index.db)
open and write the same way: one connection shared by the threads, WAL, and writes in an
immediate transaction under a lock."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    return db


@contextmanager
def transaction(db: sqlite3.Connection, lock: threading.Lock) -> Iterator[sqlite3.Connection]:
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


class Store:
    """One concern's tables in one SQLite file: its connection, lock and schema."""

    schema = ""

    def __init__(self, path: Path):
        self._db = connect(path)
        self._db.executescript(self.schema)
        self._lock = threading.Lock()

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock)

    def close(self) -> None:
        with self._lock:
            self._db.close()
