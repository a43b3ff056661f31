"""Crash and stop tests in real processes: `paperbot poll` (the same runner as
`paperbot run`) delivers 50 cards to a terminal chat on stdout, and is killed
with SIGKILL at random points, or stopped with SIGTERM, then started again.

The shell platform "confirms" a card once it is written and flushed to stdout,
so what the pipe received is what the chat received. (`paperbot run` needs a
chat platform's token; its Telegram and Discord adapters plug into the same
runner, so a kill lands on the same outbox code.)
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from contextlib import closing
from pathlib import Path

import pytest

from tests.fake_arxiv import FakeArxiv, make_paper

CARDS = 50
CARD = re.compile(r"^arXiv: https://arxiv\.org/abs/(\S+)$", re.M)


class Bot:
    """Starts `paperbot` processes on one database and counts the cards they print."""

    def __init__(self, fake: FakeArxiv, tmp: Path) -> None:
        self.db = tmp / "crash.db"
        self.cwd = tmp
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("PAPERBOT_")},
            **fake.env,
            "PAPERBOT_DB": str(self.db),
            "PAPERBOT_LLM": "none",
        }
        self.received: Counter[str] = Counter()

    def command(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.cwd,
            timeout=60,
        )
        self.received.update(CARD.findall(done.stdout))
        return done

    def interrupt(self, sig: signal.Signals, after_cards: int, after_seconds: float) -> int:
        """Run `paperbot poll` until it printed `after_cards` more cards (or, when that
        is 0, for `after_seconds` after it started running), then send `sig`; returns
        the exit status."""
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "poll"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=self.cwd,
        )
        assert process.stdout is not None and process.stderr is not None
        enough, running = threading.Event(), threading.Event()
        printed: list[str] = []

        def read() -> None:
            for line in process.stdout:  # type: ignore[union-attr]
                printed.extend(CARD.findall(line))
                if after_cards and len(printed) >= after_cards:
                    enough.set()

        def read_log() -> None:
            for line in process.stderr:  # type: ignore[union-attr]
                if " start: " in line:
                    running.set()

        readers = [threading.Thread(target=read), threading.Thread(target=read_log)]
        for reader in readers:
            reader.start()
        if not after_cards:
            running.wait(timeout=30)  # imports take a while on a busy machine
        enough.wait(timeout=30 if after_cards else after_seconds)
        process.send_signal(sig)
        status = process.wait(timeout=30)
        for reader in readers:
            reader.join(timeout=30)
        self.received.update(printed)
        return status

    def integrity(self) -> str:
        with closing(sqlite3.connect(self.db)) as db:
            return db.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.fixture
def bot(fake_arxiv: FakeArxiv, tmp_path: Path) -> Bot:
    fake_arxiv.feeds["cs.CV"] = [make_paper(n) for n in range(1, CARDS + 1)]
    started = Bot(fake_arxiv, tmp_path)
    assert started.command("shell", stdin="/subscribe cs.CV\n/set max 50\n").returncode == 0
    return started


def test_kill_9_during_delivery_loses_nothing_and_repeats_at_most_one_per_crash(
    bot: Bot,
) -> None:
    rng = random.Random(7)
    crashes = 10
    for _ in range(crashes):
        left = CARDS - len(bot.received)
        cards = rng.randint(1, left - 1) if left > 1 and rng.random() < 0.8 else 0
        status = bot.interrupt(signal.SIGKILL, cards, rng.uniform(0.3, 1.5))
        assert status == -signal.SIGKILL
        assert bot.integrity() == "ok"
    finished = bot.command("poll", "--once")
    assert finished.returncode == 0, finished.stderr

    expected = {f"2511.{n:05d}" for n in range(1, CARDS + 1)}
    assert set(bot.received) == expected  # 0 missing
    duplicates = sum(count - 1 for count in bot.received.values())
    assert duplicates <= crashes  # one paper may be repeated by several crashes
    stats = dict(line.split(None, 1) for line in bot.command("stats").stdout.splitlines())
    assert (stats["deliveries_sent"], stats["deliveries_pending"]) == (str(CARDS), "0")


def test_sigterm_finishes_the_card_in_flight_and_repeats_nothing(bot: Bot) -> None:
    for cards, seconds in ((1, 0.0), (0, 1.0)):  # during the delivery, then wherever it is
        assert bot.interrupt(signal.SIGTERM, cards, seconds) == 0
        assert not Path(f"{bot.db}-wal").exists()  # closed cleanly: WAL checkpointed
        assert bot.integrity() == "ok"
    assert bot.command("poll", "--once").returncode == 0
    assert bot.received == {f"2511.{n:05d}": 1 for n in range(1, CARDS + 1)}
