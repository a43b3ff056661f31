"""What polls found and when: per-topic windows, listings read, the polls' records, and
the counts `paperbot stats` shows."""

from __future__ import annotations

from collections.abc import Iterable

from storage.outbox import DeliveryRows
from storage.papers import PaperRows
from storage.rows import Row, Rows


class PollRows(Rows):
    def windows(self, topics: Iterable[str]) -> dict[str, tuple[str, str]]:
        """Per polled topic: since when it is followed, and the submission date before
        which a paper is no longer new to it (unless announced late)."""
        names = list(topics)
        if not names:
            return {}
        marks = ",".join("?" * len(names))
        rows = self._rows(
            f"SELECT topic, since, cutoff FROM topic_state WHERE topic IN ({marks})", names
        )
        return {r["topic"]: (r["since"] or r["cutoff"], r["cutoff"]) for r in rows if r["cutoff"]}

    def feeds_read(self, categories: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """When each listing was last read, and the announcement day it showed then."""
        names = list(categories)
        if not names:
            return {}
        marks = ",".join("?" * len(names))
        rows = self._rows(
            f"SELECT category, read_at, day FROM feed_state WHERE category IN ({marks})", names
        )
        return {r["category"]: (r["read_at"], r["day"]) for r in rows}

    def feed_days(self) -> dict[str, str | None]:
        """The announcement day each listing showed when a poll last read it."""
        return {r["category"]: r["day"] for r in self._rows("SELECT category, day FROM feed_state")}

    def save_poll(
        self,
        papers: Iterable[Row],
        deliveries: Iterable[tuple[int, str, str]],
        windows: dict[str, tuple[str, str]],
        at: str,
        feeds: dict[str, str | None] | None = None,
    ) -> tuple[dict[str, str], int]:
        """Store what a poll found in one transaction: the papers, the deliveries now due,
        the topics' windows (since, next cutoff) and the listings it read (name → the
        announcement day shown). Returns the papers' outcome and how many were queued."""
        with self.db.atomic():
            outcome = PaperRows(self.db).upsert_papers(papers, at)
            queued = DeliveryRows(self.db).queue_deliveries(deliveries, at)
            for topic, (since, cutoff) in windows.items():
                self.db["topic_state"].upsert(
                    {"topic": topic, "since": since, "cutoff": cutoff, "polled_at": at},
                    pk="topic",
                )
            for category, day in (feeds or {}).items():
                self.db["feed_state"].upsert(
                    {"category": category, "read_at": at, "day": day}, pk="category"
                )
        return outcome, queued

    def counts(self) -> dict[str, int]:
        """How many chats (active and paused), subscriptions, topics, papers, summaries,
        and papers whose PDF hides text from its readers."""
        one = self._row(
            "SELECT (SELECT COUNT(*) FROM chats WHERE active = 1) AS chats_active, "
            "(SELECT COUNT(*) FROM chats WHERE active = 0) AS chats_paused, "
            "(SELECT COUNT(*) FROM subscriptions) AS subscriptions, "
            "(SELECT COUNT(DISTINCT topic) FROM subscriptions) AS topics, "
            "(SELECT COUNT(*) FROM papers) AS papers, "
            "(SELECT COUNT(*) FROM summaries) AS summaries, "
            "(SELECT COUNT(DISTINCT paper_id) FROM hidden_text) AS papers_hiding_text"
        )
        assert one is not None
        return one

    def record_poll(self, row: Row) -> None:
        self.db["polls"].insert(row)

    def last_poll(self) -> Row | None:
        return self._row("SELECT * FROM polls ORDER BY id DESC LIMIT 1")

    def last_successful_poll(self) -> Row | None:
        return self._row("SELECT * FROM polls WHERE ok = 1 ORDER BY id DESC LIMIT 1")
