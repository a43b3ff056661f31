"""Every read and write of paperbot's tables, as plain rows (dicts).

Writes that belong together run in one transaction (`db.atomic()`). The
deliveries table is the outbox and the record of sent ids at once: a row is
`pending` before the platform is asked to send and becomes `sent` (in the same
statement that records it) after the platform confirms. A failed attempt keeps
the row pending with the time it may be tried again (`next_attempt_at`); a row
that kept failing while its platform worked for others is `failed`: given up by
the scheduler, still sent by an explicit `/digest`. A row scored below its chat's
threshold is `skipped`: never sent, and neither lost nor failed. Each row keeps the
score it was sent or skipped with (`score`, `score_json`) for `/why`.

Timestamps are UTC ISO strings to the second (`iso`), always given by the
caller from the service's clock (`at`): the repository never reads the wall
clock, so simulated-time tests cover every stored time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database

Row = dict[str, Any]

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
SKIPPED = "skipped"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class Repository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(self.db.query(sql, params))

    def _row(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return next(self.db.query(sql, params), None)

    # papers

    def upsert_papers(self, rows: Iterable[Row], at: str) -> dict[str, str]:
        """Store papers; returns id → `new`, `updated` (newer version) or `known`.

        A newer version replaces the row but keeps the first-version date; an
        older or equal version changes nothing.
        """
        outcome: dict[str, str] = {}
        with self.db.atomic():
            for row in rows:
                old = self._row("SELECT version, published FROM papers WHERE id = ?", [row["id"]])
                if old is None:
                    self.db["papers"].insert({**row, "first_seen": at})
                    outcome[row["id"]] = "new"
                elif row["version"] > old["version"]:
                    published = min(old["published"], row["published"])
                    self.db["papers"].update(row["id"], {**row, "published": published})
                    outcome[row["id"]] = "updated"
                else:
                    outcome.setdefault(row["id"], "known")
        return outcome

    def paper(self, paper_id: str) -> Row | None:
        return self._row("SELECT * FROM papers WHERE id = ?", [paper_id])

    def papers(self, paper_ids: Sequence[str]) -> list[Row]:
        marks = ",".join("?" * len(paper_ids))
        rows = self._rows(f"SELECT * FROM papers WHERE id IN ({marks})", list(paper_ids))
        by_id = {r["id"]: r for r in rows}
        return [by_id[i] for i in paper_ids if i in by_id]

    def known_ids(self, paper_ids: Iterable[str]) -> set[str]:
        ids = list(paper_ids)
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        return {r["id"] for r in self._rows(f"SELECT id FROM papers WHERE id IN ({marks})", ids)}

    # summaries

    def summary(self, paper_id: str, version: int, language: str, model: str) -> Row | None:
        return self._row(
            "SELECT * FROM summaries WHERE paper_id = ? AND version = ? AND language = ? "
            "AND model = ?",
            [paper_id, version, language, model],
        )

    def save_summary(
        self,
        paper_id: str,
        version: int,
        language: str,
        model: str,
        source: str,
        data: dict[str, Any],
        at: str,
        *,
        run: Row | None = None,
        calls: Sequence[Row] = (),
    ) -> None:
        """Store (replace) the summary of one key, with how it was made (`run`: prompt
        version, grounding, checks, error, retry time, attempts) and the model requests
        made for it, in one transaction. The key's cache-hit count is kept."""
        key = {"paper_id": paper_id, "version": version, "language": language, "model": model}
        with self.db.atomic():
            self.db["summaries"].upsert(
                {
                    **key,
                    "source": source,
                    "data": json.dumps(data, ensure_ascii=False),
                    "created_at": at,
                    **(run or {}),
                },
                pk=("paper_id", "version", "language", "model"),
            )
            for call in calls:
                self.db["model_calls"].insert({**key, **call, "created_at": at})

    def count_summary_hit(self, paper_id: str, version: int, language: str, model: str) -> None:
        self.db.execute(
            "UPDATE summaries SET hits = hits + 1 WHERE paper_id = ? AND version = ? "
            "AND language = ? AND model = ?",
            [paper_id, version, language, model],
        )

    def summaries_to_upgrade(self, model: str, due: str, limit: int) -> list[Row]:
        """Fallback summaries of the papers' current versions whose retry time has come,
        oldest first: the paper's row with the summary's `language`."""
        return self._rows(
            "SELECT p.*, s.language AS summary_language FROM summaries s "
            "JOIN papers p ON p.id = s.paper_id AND p.version = s.version "
            "WHERE s.model = ? AND s.retry_at IS NOT NULL AND s.retry_at <= ? "
            "ORDER BY s.retry_at LIMIT ?",
            [model, due, limit],
        )

    def summary_stats(self) -> dict[str, int]:
        """Model requests and tokens, summary cache hits, and summaries by outcome."""
        calls = self._row(
            "SELECT COUNT(*) AS model_calls, COALESCE(SUM(outcome != 'ok'), 0) AS model_errors, "
            "COALESCE(SUM(tokens_in), 0) AS tokens_in, "
            "COALESCE(SUM(tokens_out), 0) AS tokens_out FROM model_calls"
        )
        summaries = self._row(
            "SELECT COALESCE(SUM(hits), 0) AS summary_cache_hits, "
            "COALESCE(SUM(grounding = 'repaired'), 0) AS summaries_repaired, "
            "COALESCE(SUM(grounding = 'patched'), 0) AS summaries_patched, "
            "COALESCE(SUM(grounding = 'fallback'), 0) AS summaries_fallback, "
            "COALESCE(SUM(retry_at IS NOT NULL), 0) AS summaries_to_upgrade FROM summaries"
        )
        assert calls is not None and summaries is not None
        return {**calls, **summaries}

    # chats

    def chat(self, platform: str, chat_id: str) -> Row | None:
        return self._row(
            "SELECT * FROM chats WHERE platform = ? AND chat_id = ?", [platform, chat_id]
        )

    def chat_by_id(self, chat: int) -> Row | None:
        return self._row("SELECT * FROM chats WHERE id = ?", [chat])

    def ensure_chat(self, platform: str, chat_id: str, defaults: Row) -> Row:
        """The chat's row, created with `defaults` (its `created_at` among them) on first
        contact."""
        with self.db.atomic():
            existing = self.chat(platform, chat_id)
            if existing is not None:
                return existing
            self.db["chats"].insert({**defaults, "platform": platform, "chat_id": chat_id})
            created = self.chat(platform, chat_id)
        assert created is not None
        return created

    def update_chat(self, chat: int, changes: Row) -> Row:
        self.db["chats"].update(chat, changes)
        updated = self.chat_by_id(chat)
        assert updated is not None
        return updated

    def chats(self, platform: str | None = None) -> list[Row]:
        if platform is None:
            return self._rows("SELECT * FROM chats ORDER BY id")
        return self._rows("SELECT * FROM chats WHERE platform = ? ORDER BY id", [platform])

    def delete_chat(self, chat: int) -> None:
        """Remove a chat with its subscriptions and deliveries."""
        with self.db.atomic():
            for table in ("deliveries", "subscriptions", "votes", "mutes"):
                self.db.execute(f"DELETE FROM {table} WHERE chat = ?", [chat])
            self.db.execute("DELETE FROM chats WHERE id = ?", [chat])

    # subscriptions

    def subscribe(self, chat: int, topics: Sequence[str], at: str) -> list[str]:
        """Add topics to a chat; returns those that were new to it."""
        added = []
        with self.db.atomic():
            for topic in topics:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO subscriptions (chat, topic, created_at) "
                    "VALUES (?, ?, ?)",
                    [chat, topic, at],
                )
                if cursor.rowcount:
                    added.append(topic)
        return added

    def unsubscribe(self, chat: int, topics: Sequence[str] | None) -> list[str]:
        """Remove the given topics (all when `None`); returns those removed."""
        with self.db.atomic():
            current = self.topics_of(chat)
            removed = current if topics is None else [t for t in topics if t in current]
            for topic in removed:
                self.db.execute(
                    "DELETE FROM subscriptions WHERE chat = ? AND topic = ?", [chat, topic]
                )
        return removed

    def topics_of(self, chat: int) -> list[str]:
        rows = self._rows("SELECT topic FROM subscriptions WHERE chat = ? ORDER BY id", [chat])
        return [r["topic"] for r in rows]

    def active_subscriptions(self) -> list[Row]:
        """(chat, topic) pairs of every active chat."""
        return self._rows(
            "SELECT s.chat, s.topic FROM subscriptions s JOIN chats c ON c.id = s.chat "
            "WHERE c.active = 1 ORDER BY s.id"
        )

    # relevance: votes, mutes

    def vote(self, chat: int, user: str, paper_id: str, value: int, at: str) -> int | None:
        """Record one member's 👍 (1) or 👎 (-1) of a paper, replacing their earlier vote;
        returns the earlier value (None when there was none)."""
        with self.db.atomic():
            old = self._row(
                "SELECT value FROM votes WHERE chat = ? AND user = ? AND paper_id = ?",
                [chat, user, paper_id],
            )
            self.db["votes"].upsert(
                {"chat": chat, "user": user, "paper_id": paper_id, "value": value, "at": at},
                pk=("chat", "user", "paper_id"),
            )
        return None if old is None else old["value"]

    def voted_papers(self, chat: int) -> list[Row]:
        """The papers the chat's members voted on: the paper's row with `likes` and
        `dislikes` (how many members pressed each), oldest vote first."""
        return self._rows(
            "SELECT p.*, SUM(v.value > 0) AS likes, SUM(v.value < 0) AS dislikes "
            "FROM votes v JOIN papers p ON p.id = v.paper_id WHERE v.chat = ? "
            "GROUP BY p.id ORDER BY MIN(v.at), p.id",
            [chat],
        )

    def mute(self, chat: int, term: str, at: str) -> bool:
        """Mute `term` (canonical) in the chat; False when it already was."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO mutes (chat, term, created_at) VALUES (?, ?, ?)",
            [chat, term, at],
        )
        return bool(cursor.rowcount)

    def unmute(self, chat: int, term: str) -> bool:
        cursor = self.db.execute("DELETE FROM mutes WHERE chat = ? AND term = ?", [chat, term])
        return bool(cursor.rowcount)

    def mutes_of(self, chat: int) -> list[str]:
        rows = self._rows("SELECT term FROM mutes WHERE chat = ? ORDER BY rowid", [chat])
        return [r["term"] for r in rows]

    # deliveries (outbox + sent ids)

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
        return self._rows(
            "SELECT * FROM deliveries WHERE chat = ? AND status = ? "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY created_at, paper_id",
            [chat, PENDING, now],
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

    def delivery(self, chat: int, paper_id: str) -> Row | None:
        return self._row(
            "SELECT * FROM deliveries WHERE chat = ? AND paper_id = ?", [chat, paper_id]
        )

    def record_scores(
        self, scores: Sequence[tuple[int, float, str]], skipped: Sequence[int]
    ) -> None:
        """Store each waiting delivery's (id, score, score_json) and mark those below the
        chat's threshold `skipped`, in one transaction."""
        with self.db.atomic():
            for delivery, value, data in scores:
                self.db.execute(
                    "UPDATE deliveries SET score = ?, score_json = ? WHERE id = ?",
                    [value, data, delivery],
                )
            for delivery in skipped:
                self.db.execute(
                    "UPDATE deliveries SET status = ? WHERE id = ? AND status IN (?, ?)",
                    [SKIPPED, delivery, PENDING, FAILED],
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
        self, delivery_ids: Sequence[int], error: str, retry_at: str, give_up_after: int
    ) -> int:
        """Count a failed attempt on the rows and remember why: they stay pending until
        `retry_at`, or become `failed` once they have failed `give_up_after` times.
        Returns how many were given up."""
        with self.db.atomic():
            for delivery in delivery_ids:
                self.db.execute(
                    "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, "
                    "next_attempt_at = ?, status = CASE WHEN attempts + 1 >= ? THEN ? "
                    "ELSE status END WHERE id = ? AND status != ?",
                    [error[:500], retry_at, give_up_after, FAILED, delivery, SENT],
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

    # poll state

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
            outcome = self.upsert_papers(papers, at)
            queued = self.queue_deliveries(deliveries, at)
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
