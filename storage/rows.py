"""The base of paperbot's table access: plain rows (dicts) over one sqlite-utils database.

Each group of tables has its own class (`storage.papers`, `storage.chats`,
`storage.outbox`, `storage.polls`), all sharing one connection; the async
`Store` (storage/database.py) runs their methods on the database thread.
Writes that belong together run in one transaction (`db.atomic()`).

Timestamps are UTC ISO strings to the second (`iso`), always given by the
caller from the service's clock (`at`): storage never reads the wall clock, so
simulated-time tests cover every stored time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

Row = dict[str, Any]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class Rows:
    """Rows of some of paperbot's tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self.db.query(sql, params))

    def _row(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return next(self.db.query(sql, params), None)


def grouped(rows: Sequence[Row], column: str) -> dict[int, list[Any]]:
    """`column` of each row, grouped by the row's chat (in the rows' order)."""
    groups: dict[int, list[Any]] = {}
    for row in rows:
        groups.setdefault(row["chat"], []).append(row[column])
    return groups
