"""The language model's budget: one row per request sent, and pauses ordered by the
provider's daily-quota answers (bot/summarize/budget.py)."""

from __future__ import annotations

from storage.rows import Rows


class BudgetRows(Rows):
    def record_request(self, at: str) -> None:
        self.db["model_requests"].insert({"at": at})

    def requests_since(self, since: str, until: str = "9999") -> list[str]:
        """When each request at or after `since` (and before `until`) was sent, oldest
        first."""
        rows = self._rows(
            "SELECT at FROM model_requests WHERE at >= ? AND at < ? ORDER BY at", [since, until]
        )
        return [row["at"] for row in rows]

    def pause(self, until: str, reason: str, at: str) -> None:
        self.db["model_pauses"].insert({"until": until, "reason": reason, "created_at": at})

    def paused_until(self) -> str | None:
        """The end of the latest pause (None: never paused)."""
        row = self._row('SELECT MAX("until") AS until FROM model_pauses')
        return row["until"] if row else None

    def paused_during(self, start: str, end: str) -> str | None:
        """The end of the latest pause that held the model at some time between `start`
        and `end` (None: it was not paused then)."""
        row = self._row(
            'SELECT MAX("until") AS until FROM model_pauses WHERE created_at < ? AND "until" > ?',
            [end, start],
        )
        return row["until"] if row else None
