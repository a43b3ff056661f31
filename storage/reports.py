"""What the run report reads: a day's polls, deliveries settled per platform, summaries
made and papers found hiding text (bounds `start` ≤ t < `end`, ISO UTC
strings from the caller), and the chats whose operator asked for the daily report."""

from __future__ import annotations

from storage.outbox import FAILED, SENT, SKIPPED
from storage.papers import BY_MODEL
from storage.rows import Row, Rows


class ReportRows(Rows):
    def polls_between(self, start: str, end: str) -> list[Row]:
        """The polls that started in the bounds, in order."""
        return self._rows(
            "SELECT started_at, papers_seen, papers_new, deliveries_queued, errors, ok "
            "FROM polls WHERE started_at >= ? AND started_at < ? ORDER BY id",
            [start, end],
        )

    def deliveries_settled(self, start: str, end: str) -> dict[str, Row]:
        """Per platform: papers sent, skipped (below threshold or muted) and given up in
        the bounds."""
        rows = self._rows(
            "SELECT c.platform, "
            "SUM(d.status = ? AND d.sent_at >= ? AND d.sent_at < ?) AS sent, "
            "SUM(d.status = ? AND d.settled_at >= ? AND d.settled_at < ?) AS skipped, "
            "SUM(d.status = ? AND d.settled_at >= ? AND d.settled_at < ?) AS failed "
            "FROM deliveries d JOIN chats c ON c.id = d.chat "
            "WHERE (d.sent_at >= ? AND d.sent_at < ?) OR (d.settled_at >= ? AND d.settled_at < ?) "
            "GROUP BY c.platform",
            [SENT, start, end, SKIPPED, start, end, FAILED, start, end, start, end, start, end],
        )
        return {row.pop("platform"): row for row in rows}

    def paused_chats(self, end: str) -> dict[str, int]:
        """Per platform: the chats paused before `end` and still paused."""
        rows = self._rows(
            "SELECT platform, COUNT(*) AS n FROM chats WHERE active = 0 "
            "AND (paused_at IS NULL OR paused_at < ?) GROUP BY platform",
            [end],
        )
        return {row["platform"]: row["n"] for row in rows}

    def summaries_made(self, start: str, end: str) -> Row:
        """Summaries stored in the bounds: `by_model`, `extractive` (all others) and
        `for_budget` (extractive for lack of model budget)."""
        row = self._row(
            f"SELECT COALESCE(SUM({BY_MODEL}), 0) AS by_model, "
            f"COALESCE(SUM(NOT {BY_MODEL}), 0) AS extractive, "
            "COALESCE(SUM(grounding = 'budget'), 0) AS for_budget "
            "FROM summaries WHERE created_at >= ? AND created_at < ?",
            [start, end],
        )
        assert row is not None
        return row

    def hidden_text_found(self, start: str, end: str) -> int:
        """Papers whose PDF was found hiding text in the bounds."""
        row = self._row(
            "SELECT COUNT(DISTINCT paper_id) AS n FROM hidden_text "
            "WHERE found_at >= ? AND found_at < ?",
            [start, end],
        )
        assert row is not None
        return row["n"]

    def report_chats(self) -> list[Row]:
        """The active chats where an operator turned the daily run report on."""
        return self._rows(
            "SELECT * FROM chats WHERE active = 1 AND report_admin IS NOT NULL ORDER BY id"
        )
