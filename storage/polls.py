"""What polls found and when: per-topic cutoffs, feeds read, the polls' records, and the
counts `paperbot stats` shows."""

from __future__ import annotations

from collections.abc import Iterable

from storage.outbox import DeliveryRows
from storage.papers import PaperRows
from storage.rows import Row, Rows


class PollRows(Rows):
    def cutoffs(self, topics: Iterable[str]) -> dict[str, str]:
        """Per topic, the submission date before which a paper is no longer new to it."""
        names = list(topics)
        if not names:
            return {}
        marks = ",".join("?" * len(names))
        rows = self._rows(f"SELECT topic, cutoff FROM topic_state WHERE topic IN ({marks})", names)
        return {r["topic"]: r["cutoff"] for r in rows if r["cutoff"]}

    def feeds_read(self, categories: Iterable[str]) -> dict[str, str]:
        """When each category feed was last read."""
        names = list(categories)
        if not names:
            return {}
        marks = ",".join("?" * len(names))
        rows = self._rows(
            f"SELECT category, read_at FROM feed_state WHERE category IN ({marks})", names
        )
        return {r["category"]: r["read_at"] for r in rows}

    def save_poll(
        self,
        papers: Iterable[Row],
        deliveries: Iterable[tuple[int, str, str]],
        cutoffs: dict[str, str],
        at: str,
        feeds: Iterable[str] = (),
    ) -> tuple[dict[str, str], int]:
        """Store what a poll found in one transaction: the papers, the deliveries now due,
        the topics' next cutoffs and the feeds it read. Returns the papers' outcome and
        how many were queued."""
        with self.db.atomic():
            outcome = PaperRows(self.db).upsert_papers(papers, at)
            queued = DeliveryRows(self.db).queue_deliveries(deliveries, at)
            for topic, cutoff in cutoffs.items():
                self.db["topic_state"].upsert(
                    {"topic": topic, "cutoff": cutoff, "polled_at": at}, pk="topic"
                )
            for category in feeds:
                self.db["feed_state"].upsert({"category": category, "read_at": at}, pk="category")
        return outcome, queued

    def counts(self) -> dict[str, int]:
        """How many chats (active and paused), subscriptions, topics, papers, summaries."""
        one = self._row(
            "SELECT (SELECT COUNT(*) FROM chats WHERE active = 1) AS chats_active, "
            "(SELECT COUNT(*) FROM chats WHERE active = 0) AS chats_paused, "
            "(SELECT COUNT(*) FROM subscriptions) AS subscriptions, "
            "(SELECT COUNT(DISTINCT topic) FROM subscriptions) AS topics, "
            "(SELECT COUNT(*) FROM papers) AS papers, "
            "(SELECT COUNT(*) FROM summaries) AS summaries"
        )
        assert one is not None
        return one

    def record_poll(self, row: Row) -> None:
        self.db["polls"].insert(row)

    def last_poll(self) -> Row | None:
        return self._row("SELECT * FROM polls ORDER BY id DESC LIMIT 1")

    def last_successful_poll(self) -> Row | None:
        return self._row("SELECT * FROM polls WHERE ok = 1 ORDER BY id DESC LIMIT 1")
