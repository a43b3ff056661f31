"""The deliveries table: the outbox and the record of sent ids at once.

A row is `pending` before the platform is asked to send and becomes `sent` (in
the same statement that records it) after the platform confirms. A failed
attempt keeps the row pending with the time it may be tried again
(`next_attempt_at`); a row that kept failing while its platform worked for
others is `failed`: given up by the scheduler, still sent by an explicit
`/digest`. A row scored below its chat's threshold (or muted) is `skipped`:
never sent, neither lost nor failed. A row skipped or given up keeps when
(`settled_at`), for the run report. Each row keeps the score it was sent or
skipped with (`score`, `score_json`) for `/why`. One row per (chat, paper): a
paper reaches a chat once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from storage.rows import Row, Rows

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"


class DeliveryRows(Rows):
    def queue_deliveries(self, items: Iterable[tuple[int, str, str]], at: str) -> int:
        """Record (chat, paper id, topic) as due unless that chat already has the paper."""
        queued = 0
        with self.db.atomic():
            for chat, paper_id, topic in items:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO deliveries (chat, paper_id, topic, status, attempts, "
                    "created_at) VALUES (?, ?, ?, ?, 0, ?)",
                    [chat, paper_id, topic, PENDING, at],
                )
                queued += cursor.rowcount
        return queued

    def due(self, chat: int, now: str) -> list[Row]:
        """The chat's pending deliveries whose retry time (if any) has come."""
        return self.due_to_chats([chat], now)

    def due_to_chats(self, chats: Sequence[int], now: str) -> list[Row]:
        """The chats' pending deliveries whose retry time (if any) has come, each chat's
        oldest first."""
        marks = ",".join("?" * len(chats))
        return self._rows(
            f"SELECT * FROM deliveries WHERE chat IN ({marks}) AND status = ? "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
            "ORDER BY chat, created_at, paper_id",
            [*chats, PENDING, now],
        )

    def unsent(self, chat: int) -> list[Row]:
        """Everything not yet sent to the chat, waiting for a retry or given up included."""
        return self._rows(
            "SELECT * FROM deliveries WHERE chat = ? AND status IN (?, ?) "
            "ORDER BY created_at, paper_id",
            [chat, PENDING, FAILED],
        )

    def delivery_candidates(self, now: str) -> list[Row]:
        """Active chats with deliveries due at `now` (as in `due`): the chat's row plus
        `oldest_due`, when the oldest of them was queued. Whether a daily chat's digest
        is due is the schedule's business (bot/schedule.py)."""
        return self._rows(
            "SELECT c.*, MIN(d.created_at) AS oldest_due FROM deliveries d "
            "JOIN chats c ON c.id = d.chat WHERE d.status = ? AND c.active = 1 "
            "AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= ?) "
            "GROUP BY d.chat ORDER BY d.chat",
            [PENDING, now],
        )

    def pending_to_active_chats(self) -> list[Row]:
        """Every pending delivery of an active chat: the chat's row with the delivery's
        `paper_id` and `queued_at`, each chat's oldest first."""
        return self._rows(
            "SELECT c.*, d.paper_id, d.created_at AS queued_at FROM deliveries d "
            "JOIN chats c ON c.id = d.chat WHERE d.status = ? AND c.active = 1 "
            "ORDER BY d.chat, d.created_at, d.paper_id",
            [PENDING],
        )

    def delivery(self, chat: int, paper_id: str) -> Row | None:
        return self._row(
            "SELECT * FROM deliveries WHERE chat = ? AND paper_id = ?", [chat, paper_id]
        )

    def shown_papers(self, chat: int, limit: int) -> list[Row]:
        """The rows of the last `limit` papers sent to the chat, latest first."""
        return self._rows(
            "SELECT p.* FROM deliveries d JOIN papers p ON p.id = d.paper_id "
            "WHERE d.chat = ? AND d.status = ? ORDER BY d.sent_at DESC, d.id DESC LIMIT ?",
            [chat, SENT, limit],
        )

    def record_scores(
        self, scores: Sequence[tuple[int, float, str]], skipped: Sequence[int], at: str
    ) -> None:
        """Store each waiting delivery's (id, score, score_json) and mark those below the
        chat's threshold `skipped` (`at`), in one transaction."""
        with self.db.atomic():
            self.db.conn.executemany(
                "UPDATE deliveries SET score = ?, score_json = ? WHERE id = ?",
                [(value, data, delivery) for delivery, value, data in scores],
            )
            self.db.conn.executemany(
                "UPDATE deliveries SET status = ?, settled_at = ? WHERE id = ? "
                "AND status IN (?, ?)",
                [(SKIPPED, at, delivery, PENDING, FAILED) for delivery in skipped],
            )

    def mark_sent(self, delivery_ids: Sequence[int], at: str) -> None:
        with self.db.atomic():
            for delivery in delivery_ids:
                self.db.execute(
                    "UPDATE deliveries SET status = ?, sent_at = ?, attempts = attempts + 1 "
                    "WHERE id = ? AND status IN (?, ?)",
                    [SENT, at, delivery, PENDING, FAILED],
                )

    def mark_attempt_failed(
        self,
        delivery_ids: Sequence[int],
        error: str,
        retry_at: str,
        give_up_after: int,
        at: str,
    ) -> int:
        """Count a failed attempt (made `at`) on the rows and remember why: they stay
        pending until `retry_at`, or become `failed` once they have failed `give_up_after`
        times. Returns how many were given up."""
        with self.db.atomic():
            for delivery in delivery_ids:
                self.db.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, "
                    "next_attempt_at = ?, settled_at = CASE WHEN attempts + 1 >= ? THEN ? "
                    "ELSE settled_at END, status = CASE WHEN attempts + 1 >= ? THEN ? "
                    "ELSE status END WHERE id = ? AND status != ?",
                    [
                        error[:500],
                        retry_at,
                        give_up_after,
                        at,
                        give_up_after,
                        FAILED,
                        delivery,
                        SENT,
                    ],
                )
            marks = ",".join("?" * len(delivery_ids))
            given_up = self._row(
                f"SELECT COUNT(*) AS n FROM deliveries WHERE id IN ({marks}) AND status = ?",
                [*delivery_ids, FAILED],
            )
        assert given_up is not None
        return given_up["n"]

    def delivery_counts(self) -> dict[str, int]:
        rows = self._rows("SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    def retrying(self) -> int:
        """Pending deliveries whose last attempt failed."""
        row = self._row(
            "SELECT COUNT(*) AS n FROM deliveries WHERE status = ? AND next_attempt_at IS NOT NULL",
            [PENDING],
        )
        assert row is not None
        return row["n"]

    def deliveries_of(self, paper_ids: Sequence[str]) -> list[Row]:
        """(chat, paper_id, status) of every delivery row of these papers."""
        if not paper_ids:
            return []
        marks = ",".join("?" * len(paper_ids))
        return self._rows(
            f"SELECT chat, paper_id, status FROM deliveries WHERE paper_id IN ({marks})",
            list(paper_ids),
        )
