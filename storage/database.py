"""The SQLite database: opening (WAL, foreign keys, migrations) and the async gate.

All access goes through one `Store`: the `Rows` classes run on a single worker
thread, so the event loop never blocks on SQLite and writes never interleave.
Operations (`paperbot health`, `paperbot backup`) open the file on their own
and only read it, next to a running bot.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar, cast

from sqlite_utils import Database

from storage.audits import AuditRows
from storage.budget import BudgetRows
from storage.chats import ChatRows
from storage.feedback import FeedbackRows
from storage.migrations import migrations
from storage.outbox import DeliveryRows
from storage.papers import PaperRows, SummaryRows
from storage.polls import PollRows
from storage.reports import ReportRows
from storage.rows import Rows

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R", bound=Rows)
ROWS: tuple[type[Rows], ...] = (
    PaperRows,
    SummaryRows,
    ChatRows,
    DeliveryRows,
    PollRows,
    AuditRows,
    FeedbackRows,
    BudgetRows,
    ReportRows,
)


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


def open_existing(path: Path | str) -> Database:
    """The existing database file as it is: never created, never migrated (for reading
    next to a running bot; the last connection to close tidies the WAL files away)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no database at {path}")
    return Database(sqlite3.connect(path, timeout=30))


def backup(path: Path | str, target: Path) -> int:
    """Copy the database to `target` with SQLite's online backup API: a consistent
    snapshot even while the bot writes. The copy is one self-contained file (no WAL),
    checked, and replaces `target` only when complete. Returns its size in bytes."""
    source = open_existing(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    unfinished = target.with_name(target.name + ".partial")
    unfinished.unlink(missing_ok=True)
    with closing(source.conn), closing(sqlite3.connect(unfinished)) as copy:
        source.conn.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")
        (check,) = copy.execute("PRAGMA integrity_check").fetchone()
    if check != "ok":
        unfinished.unlink()
        raise sqlite3.DatabaseError(f"the copy failed its integrity check: {check}")
    unfinished.replace(target)
    return target.stat().st_size


def schema_version(db: Database) -> list[str]:
    """Names of the migrations applied to `db`, in order."""
    return [m.name for m in migrations.applied(db)]


class Store:
    """Async access to the tables: each call runs on the database thread, one at a time."""

    def __init__(self, path: Path | str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._db = self._executor.submit(open_database, path).result()
        self._rows: dict[type[Rows], Rows] = {}

    def rows(self, kind: type[R]) -> R:
        """The rows of one group of tables, for synchronous use on the caller's thread (tests,
        operations); the bot goes through `call`."""
        if kind not in self._rows:
            self._rows[kind] = kind(self._db)
        return cast(R, self._rows[kind])

    async def call(
        self, method: Callable[Concatenate[R, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a method of a `Rows` class on the database thread:
        `store.call(ChatRows.chat, platform, chat_id)`."""
        owner = next((c for c in ROWS if getattr(c, method.__name__, None) is method), None)
        if owner is None:
            raise TypeError(f"{method!r} is not a method of a Rows class")
        work = partial(method, self.rows(owner), *args, **kwargs)  # type: ignore[arg-type]
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    def close(self) -> None:
        self._executor.submit(self._db.close).result()
        self._executor.shutdown(wait=True)
