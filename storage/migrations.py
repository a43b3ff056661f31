"""Numbered schema migrations, applied in order at start (sqlite-utils Migrations).

Never edit a released migration: add the next number. Each one runs in a
transaction together with the record that it was applied.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("paperbot")


@migrations(name="0001_core")
def core(db: Database) -> None:
    db["papers"].create(
        {
            "id": str,
            "version": int,
            "title": str,
            "authors": str,
            "abstract": str,
            "categories": str,
            "primary_category": str,
            "published": str,
            "updated": str,
            "comment": str,
            "journal_ref": str,
            "doi": str,
            "first_seen": str,
        },
        pk="id",
        not_null={"version", "title", "authors", "abstract", "categories", "published"},
    )
    db["summaries"].create(
        {
            "paper_id": str,
            "version": int,
            "language": str,
            "model": str,
            "source": str,
            "data": str,
            "created_at": str,
        },
        pk=("paper_id", "version", "language", "model"),
        foreign_keys=[("paper_id", "papers", "id")],
    )
    db["chats"].create(
        {
            "id": int,
            "platform": str,
            "chat_id": str,
            "kind": str,
            "title": str,
            "language": str,
            "timezone": str,
            "mode": str,
            "digest_time": str,
            "figures": int,
            "max_papers": int,
            "active": int,
            "paused_reason": str,
            "last_digest_at": str,
            "created_at": str,
        },
        pk="id",
        not_null={"platform", "chat_id", "kind", "language", "timezone", "mode"},
    )
    db["chats"].create_index(["platform", "chat_id"], unique=True)
    db["subscriptions"].create(
        {"id": int, "chat": int, "topic": str, "created_at": str},
        pk="id",
        foreign_keys=[("chat", "chats", "id")],
        not_null={"chat", "topic"},
    )
    db["subscriptions"].create_index(["chat", "topic"], unique=True)
    db["subscriptions"].create_index(["topic"])
    db["deliveries"].create(
        {
            "id": int,
            "chat": int,
            "paper_id": str,
            "topic": str,
            "status": str,
            "attempts": int,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
        foreign_keys=[("chat", "chats", "id"), ("paper_id", "papers", "id")],
        not_null={"chat", "paper_id", "status"},
        defaults={"status": "pending", "attempts": 0},
    )
    db["deliveries"].create_index(["chat", "paper_id"], unique=True)
    db["deliveries"].create_index(["status", "chat"])


@migrations(name="0002_poll_state")
def poll_state(db: Database) -> None:
    db["topic_state"].create(
        {"topic": str, "cutoff": str, "polled_at": str},
        pk="topic",
    )
    db["polls"].create(
        {
            "id": int,
            "started_at": str,
            "finished_at": str,
            "rss_requests": int,
            "api_requests": int,
            "papers_seen": int,
            "papers_new": int,
            "deliveries_queued": int,
            "errors": str,
        },
        pk="id",
    )


@migrations(name="0003_summary_runs")
def summary_runs(db: Database) -> None:
    """How each cached summary was made (prompt version, grounding outcome, when to try
    the model again after a fallback, cache hits) and one row per model request."""
    summaries = db["summaries"]
    summaries.add_column("prompt_version", str, not_null_default="")
    summaries.add_column("grounding", str, not_null_default="extractive")
    summaries.add_column("checks", str, not_null_default="{}")
    summaries.add_column("error", str, not_null_default="")
    summaries.add_column("retry_at", str)
    summaries.add_column("attempts", int, not_null_default=0)
    summaries.add_column("hits", int, not_null_default=0)
    summaries.create_index(["retry_at"])
    db["model_calls"].create(
        {
            "id": int,
            "paper_id": str,
            "version": int,
            "language": str,
            "model": str,
            "outcome": str,
            "tokens_in": int,
            "tokens_out": int,
            "seconds": float,
            "error": str,
            "created_at": str,
        },
        pk="id",
        not_null={"paper_id", "version", "language", "model", "outcome"},
        defaults={"tokens_in": 0, "tokens_out": 0, "seconds": 0.0, "error": ""},
    )
    db["model_calls"].create_index(["paper_id", "version", "language", "model"])


@migrations(name="0004_delivery_retries")
def delivery_retries(db: Database) -> None:
    """When a failed delivery may be tried again, whether each poll succeeded, and when
    each category feed was last read."""
    db["deliveries"].add_column("next_attempt_at", str)
    db["feed_state"].create({"category": str, "read_at": str}, pk="category")
    db["polls"].add_column("ok", int)
    db.execute("UPDATE polls SET ok = (errors IS NULL OR errors = '[]' OR papers_seen > 0)")


@migrations(name="0005_coverage")
def coverage(db: Database) -> None:
    """Since when each topic is followed (papers announced late count from then), the
    announcement day each listing showed when last read, and the daily completeness
    audit: per listing and announcement day, the papers announced, stored, matched by a
    followed topic, delivered, and found missing (then queued late)."""
    db["topic_state"].add_column("since", str)
    db.execute("UPDATE topic_state SET since = cutoff")
    db["feed_state"].add_column("day", str)
    db["audits"].create(
        {
            "category": str,
            "day": str,
            "announced": int,
            "stored": int,
            "matched": int,
            "delivered": int,
            "pending": int,
            "missing": int,
            "late": str,
            "checked_at": str,
        },
        pk=("category", "day"),
        not_null={"announced", "stored", "matched", "delivered", "pending", "missing"},
    )


@migrations(name="0006_hidden_text")
def hidden_text(db: Database) -> None:
    """The paper versions whose PDF hides text from its readers (`paperbot stats`)."""
    db["hidden_text"].create(
        {"paper_id": str, "version": int, "found_at": str}, pk=("paper_id", "version")
    )


@migrations(name="0007_relevance")
def relevance(db: Database) -> None:
    """Relevance: each member's 👍 / 👎 (one per chat, user and paper), each chat's mutes,
    /interests text and threshold, and the score each delivery had (`skipped`: below
    the chat's threshold, never sent and never counted as failed)."""
    db["votes"].create(
        {"chat": int, "user": str, "paper_id": str, "value": int, "at": str},
        pk=("chat", "user", "paper_id"),
        foreign_keys=[("chat", "chats", "id"), ("paper_id", "papers", "id")],
        not_null={"value", "at"},
    )
    db["votes"].create_index(["chat"])
    db["mutes"].create(
        {"chat": int, "term": str, "created_at": str},
        pk=("chat", "term"),
        foreign_keys=[("chat", "chats", "id")],
    )
    db["chats"].add_column("interests", str, not_null_default="")
    db["chats"].add_column("threshold", float)
    db["deliveries"].add_column("score", float)
    db["deliveries"].add_column("score_json", str)


@migrations(name="0008_model_budget")
def model_budget(db: Database) -> None:
    """The model's request budget: when each request was sent (so a restart keeps the
    day's count) and the pauses a daily-quota answer ordered."""
    db["model_requests"].create({"id": int, "at": str}, pk="id", not_null={"at"})
    db["model_requests"].create_index(["at"])
    db["model_pauses"].create(
        {"id": int, "until": str, "reason": str, "created_at": str},
        pk="id",
        not_null={"until"},
        defaults={"reason": ""},
    )


@migrations(name="0009_run_report")
def run_report(db: Database) -> None:
    """The run report: when a delivery was settled without being sent (skipped, or given
    up), since when a chat is paused, and per chat the operator (a `PAPERBOT_ADMIN_IDS`
    user) who turned the daily report on and when it was last sent."""
    db["deliveries"].add_column("settled_at", str)
    db["deliveries"].create_index(["sent_at"])
    db["deliveries"].create_index(["settled_at"])
    db["chats"].add_column("paused_at", str)
    db["chats"].add_column("report_admin", str)
    db["chats"].add_column("report_sent_at", str)
    db["summaries"].create_index(["created_at"])
