"""The daily completeness audit's records: per listing and announcement day, the papers
announced, stored, matched, delivered, pending and missing (bot/audit.py)."""

from __future__ import annotations

from storage.rows import Row, Rows


class AuditRows(Rows):
    def save_audit(self, row: Row) -> None:
        self.db["audits"].upsert(row, pk=("category", "day"))

    def last_audit_at(self) -> str | None:
        row = self._row("SELECT MAX(checked_at) AS at FROM audits")
        return row["at"] if row else None

    def audits(self, day: str | None = None) -> list[Row]:
        """The audit of `day` (default: the latest audited day), one row per listing."""
        if day is None:
            latest = self._row("SELECT MAX(day) AS day FROM audits")
            day = latest["day"] if latest else None
        return self._rows("SELECT * FROM audits WHERE day = ? ORDER BY category", [day])
