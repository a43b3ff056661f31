"""Benchmark a Telegram fan-out: one daily digest of 10 papers to 500 chats.

Runs the real adapter (PTB, our rate limiter, the retry policy) through the
app's delivery against the local fake Bot API, which enforces Telegram's
flood limits (30 messages/s overall, 1/s per chat, 20/min per group) and
answers 429 when one is exceeded. Prints the wall time against the ideal at
30 messages/s (target at most 1.2x), the 429s received (target 0) and the
messages lost or duplicated (target 0). No network.

Run: python benchmarks/telegram_fanout.py [--chats 500] [--papers 10] [--groups 50]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import _inputs  # noqa: F401 (the repository on sys.path; a missing input in one line)

from bot.app import build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chats import ChatRef
from bot.clock import utc_now
from bot.commands import CommandLayer
from bot.config import Settings
from bot.figures import NoFigures
from bot.summarize.extractive import ExtractiveSummarizer
from bot.topics import parse_topic
from handlers.telegram import TelegramAdapter
from handlers.telegram_render import TELEGRAM_LIMITS
from storage.database import Store
from tests.fake_arxiv import FakeArxiv, make_paper
from tests.fake_telegram import FakeTelegram


async def fan_out(chats: int, papers: int, groups: int, directory: Path) -> dict[str, float]:
    arxiv = FakeArxiv().start()
    telegram = FakeTelegram(TELEGRAM_LIMITS).start()
    settings = Settings.from_env(
        {**arxiv.env, **telegram.env, "PAPERBOT_DB": str(directory / "fanout.db")}, None
    )
    store = Store(settings.db_path)
    client = ArxivClient(settings)
    now = [utc_now()]
    app = build_app(
        settings, store, ArxivSource(client), ExtractiveSummarizer(), NoFigures(), lambda: now[0]
    )
    adapter = TelegramAdapter(settings, CommandLayer(app))
    try:
        ids = [-(10**12) - i if i < groups else 10**9 + i for i in range(chats)]
        for chat_id in ids:
            if chat_id < 0:
                telegram.group(chat_id, f"Group {chat_id}")
            else:
                telegram.private(chat_id)
            ref = ChatRef("telegram", str(chat_id), "group" if chat_id < 0 else "private")
            chat = await app.chats.chat(ref)
            chat = await app.chats.change_setting(chat, "mode", "daily")
            await app.chats.change_setting(chat, "figures", "off")
            await app.chats.subscribe(chat, [parse_topic("cs.CV")])
        arxiv.feeds["cs.CV"] = [make_paper(i) for i in range(1, papers + 1)]
        await app.polling.poll()
        now[0] += timedelta(days=1)  # every chat's daily digest is due
        await adapter.start()
        started = time.monotonic()
        report = await app.outbox.deliver_due({"telegram": adapter})
        seconds = time.monotonic() - started
    finally:
        await adapter.stop()
        await client.aclose()
        store.close()
        telegram.stop()
        arxiv.stop()

    wanted = [
        "header",
        *(f"A Study of Problem {i} with Neural Methods" for i in range(1, papers + 1)),
    ]
    lost = duplicated = misordered = 0
    for chat_id in ids:
        got = [_first_line(message.visible) for message in telegram.sent_to(chat_id)]
        counts = Counter(got)
        lost += sum(1 for key in wanted if not counts[key])
        duplicated += sum(count - 1 for count in counts.values())
        misordered += got != wanted and sorted(got) == sorted(wanted)
    messages = chats * (papers + 1)
    return {
        "messages": messages,
        "seconds": seconds,
        "ideal": messages / TELEGRAM_LIMITS.overall.limit * TELEGRAM_LIMITS.overall.seconds,
        "throttled": telegram.throttled,
        "lost": lost,
        "duplicated": duplicated,
        "misordered": misordered,
        "failed": len(report.failed),
        "rejected": len(telegram.rejected),
    }


def _first_line(text: str) -> str:
    line = text.split("\n")[0]
    return "header" if line.startswith("arXiv digest") else line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--papers", type=int, default=10)
    parser.add_argument("--groups", type=int, default=50, help="how many chats are groups")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        result = asyncio.run(fan_out(args.chats, args.papers, args.groups, Path(directory)))
    ratio = result["seconds"] / result["ideal"]
    print(
        f"digest of {args.papers} papers to {args.chats} chats ({args.groups} groups): "
        f"{result['messages']:.0f} messages"
    )
    print(
        f"wall time {result['seconds']:.1f} s, ideal at 30 msg/s {result['ideal']:.1f} s, "
        f"ratio {ratio:.2f}x (target <= 1.2x)"
    )
    print(f"429 answers received: {result['throttled']:.0f} (target 0)")
    print(
        f"messages lost: {result['lost']:.0f}, duplicated: {result['duplicated']:.0f} "
        f"(target 0); chats out of order: {result['misordered']:.0f}, "
        f"delivery failures: {result['failed']:.0f}, other refusals: {result['rejected']:.0f}"
    )


if __name__ == "__main__":
    main()
