"""The SQLite database: opening (WAL, foreign keys, migrations) and the async gate.

All access goes through one `Store`: its repository runs on a single worker
thread, so the event loop never blocks on SQLite and writes never interleave.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from sqlite_utils import Database

from storage.migrations import migrations
from storage.repository import Repository

T = TypeVar("T")


def open_database(path: Path | str, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the database file with WAL and pending migrations applied."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
    db = Database(conn)
    db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")
    if migrate:
        migrations.apply(db)
    return db


def schema_version(db: Database) -> list[str]:
    """Names of the migrations applied to `db`, in order."""
    return [m.name for m in migrations.applied(db)]


class Store:
    """Async access to the repository: each call runs on the database thread."""

    def __init__(self, path: Path | str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db = self._executor.submit(open_database, path).result()
        self.repo = Repository(self._db)

    async def call(self, fn: Callable[[Repository], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, self.repo)

    def close(self) -> None:
        self._executor.submit(self._db.close).result()
        self._executor.shutdown(wait=True)
