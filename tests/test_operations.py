"""Operating the bot: `paperbot health`, `paperbot backup` and a restore, `stats`."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

from tests.fake_arxiv import FakeArxiv, Scripted, make_paper


def figures(output: str) -> dict[str, str]:
    return dict(line.split(None, 1) for line in output.splitlines())


def age_polls(db: Path, hours: int) -> None:
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "UPDATE polls SET finished_at = datetime(finished_at, ?) || '+00:00'",
            [f"-{hours} hours"],
        )


def test_health_needs_a_readable_database_and_a_recent_successful_poll(
    run_cli, fake_arxiv: FakeArxiv, tmp_path: Path
) -> None:
    missing = run_cli("health")
    assert missing.returncode == 1
    assert (
        missing.stderr.startswith("paperbot: unhealthy: database ") and "cli.db" in missing.stderr
    )
    assert run_cli("shell", stdin="/subscribe cs.CV\n").returncode == 0
    assert run_cli("health").stderr == "paperbot: unhealthy: no poll has succeeded yet\n"

    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    assert run_cli("poll", "--once").returncode == 0
    healthy = run_cli("health")
    assert (healthy.returncode, healthy.stdout) == (
        0,
        "healthy: the last successful poll was 0 min ago\n",
    )
    age_polls(tmp_path / "cli.db", 4)  # older than 3 poll intervals
    stale = run_cli("health")
    assert stale.returncode == 1 and "last successful poll was 240 min ago" in stale.stderr
    assert run_cli("health", "--max-age", "18000").returncode == 0

    (tmp_path / "cli.db").write_bytes(b"this is not a database, it is a text file" * 100)
    broken = run_cli("health")
    assert broken.returncode == 1 and "unreadable" in broken.stderr


def test_stats_show_failed_polls_and_deliveries(run_cli, fake_arxiv: FakeArxiv) -> None:
    assert run_cli("shell", stdin="/subscribe cs.CV\n").returncode == 0
    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    assert run_cli("poll", "--once").returncode == 0
    fake_arxiv.rss_script.extend([Scripted(503, headers={"Retry-After": "0"})] * 4)
    assert run_cli("poll", "--once").returncode == 1
    stats = figures(run_cli("stats").stdout)
    assert stats["last_poll_result"].startswith(
        "0 papers seen, 0 new, 0 deliveries queued, 1 errors: RSS cs.CV"
    )
    assert stats["last_successful_poll"] < stats["last_poll"]
    for name, value in (
        ("deliveries_sent", "1"),
        ("deliveries_failed", "0"),
        ("deliveries_retrying", "0"),
    ):
        assert stats[name] == value


def test_backup_while_running_and_restore(run_cli, fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    assert run_cli("shell", stdin="/subscribe cs.CV\n").returncode == 0
    fake_arxiv.feeds["cs.CV"] = [make_paper(1), make_paper(2)]
    assert run_cli("poll", "--once").returncode == 0
    db = tmp_path / "cli.db"
    with closing(sqlite3.connect(db)) as reader:  # a reader holds the WAL open, like a bot
        reader.execute("PRAGMA journal_mode").fetchone()
        done = run_cli("backup", "backups/paperbot.db")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"backed up {db} to backups/paperbot.db (")
    copy = tmp_path / "backups" / "paperbot.db"
    assert not (tmp_path / "backups" / "paperbot.db-wal").exists()

    before = figures(run_cli("stats").stdout)
    fake_arxiv.feeds["cs.CV"] = [make_paper(3)]
    assert run_cli("poll", "--once").returncode == 0  # changes after the backup
    for leftover in tmp_path.glob("cli.db*"):  # restore, as README says: bot stopped
        leftover.unlink()
    shutil.copy(copy, db)
    restored = figures(run_cli("stats").stdout)
    assert (restored["papers"], restored["deliveries_sent"]) == (before["papers"], "2")

    assert run_cli("backup", str(db)).returncode == 2
    assert (
        run_cli("backup", "x.db", extra_env={"PAPERBOT_DB": str(tmp_path / "none.db")}).returncode
        == 1
    )
