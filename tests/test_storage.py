import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.chat_settings import default_chat_settings
from bot.models import Paper
from storage.chats import ChatRows
from storage.database import open_database, schema_version
from storage.feedback import FeedbackRows
from storage.migrations import migrations
from storage.outbox import DeliveryRows
from storage.papers import PaperRows, SummaryRows
from storage.polls import PollRows


class Repository(PaperRows, SummaryRows, ChatRows, DeliveryRows, PollRows, FeedbackRows):
    """Every group of tables on one database, for tests that cross them."""


ALL = [m.name for m in migrations._migrations]
AT = "2026-11-16T08:00:00+00:00"  # the caller's clock
TABLES = {
    "papers",
    "summaries",
    "chats",
    "subscriptions",
    "deliveries",
    "topic_state",
    "polls",
    "model_requests",
    "model_pauses",
}


def paper(version: int = 1, published: str = "2024-04-01T10:00:00+00:00", pid="2404.00409"):
    return Paper(
        pid,
        version,
        f"Title v{version}",
        ("A B",),
        "Abstract.",
        ("cs.CV",),
        "cs.CV",
        datetime.fromisoformat(published),
        datetime.fromisoformat(published),
    )


def test_fresh_database_gets_every_migration_and_wal(tmp_path: Path) -> None:
    db = open_database(tmp_path / "new.db")
    assert schema_version(db) == ALL
    assert set(db.table_names()) >= TABLES
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("applied", range(len(ALL)))
def test_database_at_each_earlier_version_is_migrated(tmp_path: Path, applied: int) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    if applied < len(ALL):
        migrations.apply(old, stop_before=ALL[applied])
    assert schema_version(old) == ALL[:applied]
    if applied:
        Repository(old).upsert_papers([paper().to_row()], AT)
    old.close()
    db = open_database(path)
    assert schema_version(db) == ALL
    assert set(db.table_names()) >= TABLES
    if applied:
        assert Repository(db).paper("2404.00409")["title"] == "Title v1"
    assert schema_version(open_database(path)) == ALL


def test_new_version_updates_row_keeps_first_date(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "db"))
    assert repo.upsert_papers([paper(1).to_row()], AT) == {"2404.00409": "new"}
    v2 = paper(2, published="2024-04-05T10:00:00+00:00")
    assert repo.upsert_papers([v2.to_row()], AT) == {"2404.00409": "updated"}
    assert repo.upsert_papers([paper(1).to_row()], AT) == {"2404.00409": "known"}
    row = repo.paper("2404.00409")
    assert (row["version"], row["title"]) == (2, "Title v2")
    assert Paper.from_row(row).published == datetime(2024, 4, 1, 10, tzinfo=UTC)
    assert repo.db["papers"].count == 1


def _chat(repo: Repository, chat_id: str = "1") -> int:
    defaults = {**default_chat_settings("en"), "kind": "private", "created_at": AT}
    return repo.ensure_chat("shell", chat_id, defaults)["id"]


def test_subscriptions_unique_and_removable(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "db"))
    chat = _chat(repo)
    assert _chat(repo) == chat
    assert repo.subscribe(chat, ["cs.CV", "nerf"], AT) == ["cs.CV", "nerf"]
    assert repo.subscribe(chat, ["nerf", "au:x"], AT) == ["au:x"]
    assert repo.topics_of(chat) == ["cs.CV", "nerf", "au:x"]
    assert repo.unsubscribe(chat, ["nerf", "missing"]) == ["nerf"]
    assert repo.unsubscribe(chat, None) == ["cs.CV", "au:x"]
    assert repo.topics_of(chat) == []


def test_deliveries_once_per_chat_and_paper(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "db"))
    repo.upsert_papers([paper().to_row()], AT)
    chat, other = _chat(repo, "1"), _chat(repo, "2")
    assert (
        repo.queue_deliveries(
            [
                (chat, "2404.00409", "cs.CV"),
                (chat, "2404.00409", "nerf"),
                (other, "2404.00409", "nerf"),
            ],
            AT,
        )
        == 2
    )
    pending = repo.unsent(chat)
    assert [(d["paper_id"], d["topic"]) for d in pending] == [("2404.00409", "cs.CV")]
    repo.mark_sent([pending[0]["id"]], AT)
    assert repo.queue_deliveries([(chat, "2404.00409", "cs.CV")], AT) == 0
    assert repo.unsent(chat) == []
    assert repo.delivery_counts() == {"pending": 1, "sent": 1}


def test_shown_papers_are_the_latest_sent_to_that_chat(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "db"))
    ids = [f"2404.0041{n}" for n in range(5)]
    repo.upsert_papers([paper(pid=i).to_row() for i in ids], AT)
    chat, other = _chat(repo, "1"), _chat(repo, "2")
    repo.queue_deliveries([(chat, i, "cs.CV") for i in ids] + [(other, ids[4], "cs.CV")], AT)
    delivery = {d["paper_id"]: d["id"] for d in repo.unsent(chat)}
    repo.mark_sent([delivery[ids[2]], delivery[ids[0]]], "2026-11-16T08:00:00+00:00")
    repo.mark_sent([delivery[ids[1]]], "2026-11-17T08:00:00+00:00")
    repo.record_scores([], [delivery[ids[3]]], AT)  # skipped: never shown
    repo.mark_sent([d["id"] for d in repo.unsent(other)], "2026-11-18T08:00:00+00:00")

    assert [r["id"] for r in repo.shown_papers(chat, 10)] == [ids[1], ids[2], ids[0]]
    assert [r["id"] for r in repo.shown_papers(chat, 1)] == [ids[1]]
    assert Paper.from_row(repo.shown_papers(chat, 1)[0]).title == "Title v1"
    assert repo.shown_papers(_chat(repo, "3"), 10) == []


def test_related_writes_are_one_transaction(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "db"))
    chat = _chat(repo)
    with pytest.raises(sqlite3.IntegrityError):
        repo.queue_deliveries([(chat, "2404.00409", "cs.CV")], AT)
    assert repo.delivery_counts() == {}
    repo.upsert_papers([paper().to_row()], AT)
    with pytest.raises(sqlite3.IntegrityError):
        repo.queue_deliveries([(chat, "2404.00409", "cs.CV"), (chat, "9999.99999", "cs.CV")], AT)
    assert repo.delivery_counts() == {}


def test_poll_results_are_saved_all_or_nothing(tmp_path: Path) -> None:
    repo = Repository(open_database(tmp_path / "db"))
    chat = _chat(repo)
    rows = [paper().to_row()]
    window = {"cs.CV": ("2024-03-30T00:00:00+00:00", "2024-04-01T00:00:00+00:00")}
    with pytest.raises(sqlite3.IntegrityError):
        repo.save_poll(
            rows, [(chat, "2404.00409", "cs.CV"), (chat, "missing", "cs.CV")], window, AT
        )
    assert repo.paper("2404.00409") is None
    assert repo.windows(["cs.CV"]) == {}
    outcome, queued = repo.save_poll(rows, [(chat, "2404.00409", "cs.CV")], window, AT)
    assert (outcome, queued) == ({"2404.00409": "new"}, 1)
    assert repo.windows(["cs.CV", "nerf"]) == window
    assert repo.first_seen(["2404.00409", "2404.99999"]) == {"2404.00409": AT}


def test_topics_polled_before_0005_are_followed_since_their_cutoff(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before="0005_coverage")
    old["topic_state"].insert({"topic": "nerf", "cutoff": "2024-04-01T00:00:00+00:00"})
    old.close()
    repo = Repository(open_database(path))
    cutoff = "2024-04-01T00:00:00+00:00"
    assert repo.windows(["nerf"]) == {"nerf": (cutoff, cutoff)}


def test_summaries_stored_before_0003_stay_valid_and_model_calls_are_one_transaction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before="0003_summary_runs")
    Repository(old).upsert_papers([paper().to_row()], AT)
    Repository(old).save_summary(
        "2404.00409", 1, "en", "extractive", "extractive", {"tldr": "x"}, AT
    )
    old.close()
    repo = Repository(open_database(path))
    row = repo.summary("2404.00409", 1, "en", "extractive")
    assert (row["grounding"], row["prompt_version"], row["retry_at"], row["hits"]) == (
        "extractive",
        "",
        None,
        0,
    )
    repo.count_summary_hit("2404.00409", 1, "en", "extractive")
    call = {"outcome": "ok", "tokens_in": 10, "tokens_out": 5, "seconds": 0.1, "error": ""}
    with pytest.raises(sqlite3.IntegrityError):
        repo.save_summary(
            "2404.00409", 1, "en", "m", "abstract", {}, AT, calls=[call, {**call, "outcome": None}]
        )
    assert repo.summary("2404.00409", 1, "en", "m") is None
    repo.save_summary(
        "2404.00409", 1, "en", "m", "abstract", {}, AT, run={"grounding": "passed"}, calls=[call]
    )
    stats = repo.summary_stats()
    assert (stats["model_calls"], stats["tokens_in"], stats["tokens_out"]) == (1, 10, 5)
    assert stats["summary_cache_hits"] == 1


def test_relevance_rows_added_by_0005_to_an_older_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before="0007_relevance")
    repo = Repository(old)
    repo.upsert_papers([paper().to_row(), paper(pid="2404.00410").to_row()], AT)
    chat = repo.ensure_chat("test", "1", {**default_chat_settings("en"), "kind": "group"})["id"]
    repo.queue_deliveries([(chat, "2404.00409", "cs.CV"), (chat, "2404.00410", "cs.CV")], AT)
    old.close()
    repo = Repository(open_database(path))
    row = repo.chat_by_id(chat)
    assert (row["interests"], row["threshold"]) == ("", None)
    first, second = repo.due(chat, AT)
    assert (first["score"], first["score_json"]) == (None, None)

    assert repo.vote(chat, "7", "2404.00409", 1, AT) is None
    assert repo.vote(chat, "7", "2404.00409", 1, AT) == 1  # idempotent: still one vote
    assert repo.vote(chat, "8", "2404.00409", -1, AT) is None
    assert repo.vote(chat, "7", "2404.00410", 1, AT) is None
    assert repo.vote(chat, "7", "2404.00410", -1, AT) == 1  # the other button changes it
    voted = {r["id"]: (r["likes"], r["dislikes"]) for r in repo.voted_papers(chat)}
    assert voted == {"2404.00409": (1, 1), "2404.00410": (0, 1)}
    with pytest.raises(sqlite3.IntegrityError):  # only stored papers can be voted on
        repo.vote(chat, "7", "2501.99999", 1, AT)

    assert repo.mute(chat, "diffusion", AT) and not repo.mute(chat, "diffusion", AT)
    assert repo.mute(chat, "au:smith", AT)
    assert repo.mutes_of(chat) == ["diffusion", "au:smith"]
    assert repo.unmute(chat, "diffusion") and not repo.unmute(chat, "diffusion")

    repo.record_scores([(first["id"], 0.8, "{}"), (second["id"], 0.1, "{}")], [second["id"]], AT)
    assert [(d["paper_id"], d["score"]) for d in repo.due(chat, AT)] == [("2404.00409", 0.8)]
    assert repo.delivery(chat, "2404.00410")["status"] == "skipped"
    assert repo.delivery_counts() == {"pending": 1, "skipped": 1}
    assert repo.unsent(chat) == repo.due(chat, AT)  # skipped is neither waiting nor failed
    repo.delete_chat(chat)
    assert repo.voted_papers(chat) == [] and repo.mutes_of(chat) == []
