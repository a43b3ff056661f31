"""Benchmark Discord webhook fan-out: one digest of 10 papers to many webhook channels.

The papers come from the local fake arXiv and go through the real outbox
(`deliver_due`) and the webhook platform to the local fake Discord, which
keeps Discord's limits: 5 requests per 2 s per webhook and 50 requests per
second globally, answering 429 beyond them. Each paper has a key figure, so
messages are multipart uploads. Prints wall time, requests, 429s, and lost
and duplicate deliveries (targets: no 429 beyond the first per bucket, 0 lost,
0 duplicates). A second run sends the papers as instant cards (10 messages per
channel) to a few channels, where the per-webhook bucket is what limits.

Run: python benchmarks/discord_fanout.py [--channels 200] [--instant-channels 5]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import _inputs  # noqa: F401 (the repository on sys.path; a missing input in one line)

from bot.app import build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chats import ChatRef
from bot.config import Settings
from bot.models import Figure, Paper
from bot.summarize.extractive import ExtractiveSummarizer
from bot.topics import parse_topic
from handlers.discord_webhook import PLATFORM, DiscordWebhooks
from storage.database import Store
from storage.outbox import DeliveryRows
from tests.fake_arxiv import FakeArxiv, make_paper
from tests.fake_discord import FakeDiscord

PAPERS = 10
FIGURE = b"\x89PNG\r\n\x1a\n" + bytes(20_000)


class SmallFigures:
    """Every paper has one 20 kB key figure (no PDF work: this measures delivery)."""

    async def figures(self, paper: Paper) -> list[Figure]:
        return [Figure(number=1, page=1, caption=f"Overview of {paper.id}.", image=FIGURE)]

    async def fulltext(self, paper: Paper) -> str | None:
        return None


async def fan_out(channels: int, mode: str) -> None:
    arxiv = FakeArxiv().start()
    discord = FakeDiscord().start()  # Discord's real limits: 5 per 2 s per webhook, 50/s
    arxiv.feeds["cs.CV"] = [make_paper(n, title=f"Paper {n} on splatting") for n in range(PAPERS)]
    expected = {f"https://arxiv.org/abs/2511.{n:05d}" for n in range(PAPERS)}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({**arxiv.env, "PAPERBOT_DB": f"{tmp}/bench.db"}, None)
        store = Store(settings.db_path)
        client = ArxivClient(settings)
        now = [datetime.now(UTC)]
        app = build_app(
            settings,
            store,
            ArxivSource(client),
            ExtractiveSummarizer(),
            SmallFigures(),
            clock=lambda: now[0],
        )
        for number in range(channels):
            ref = ChatRef(PLATFORM, discord.webhook(str(100 + number)), "channel", f"#{number}")
            chat = await app.chats.chat(ref)
            await app.chats.subscribe(chat, [parse_topic("cs.CV")])
            await app.chats.change_setting(chat, "mode", mode)
        await app.polling.poll()
        now[0] += timedelta(days=1)  # the daily digests are due
        async with DiscordWebhooks() as webhooks:
            started = time.perf_counter()
            report = await app.outbox.deliver_due({PLATFORM: webhooks})
            seconds = time.perf_counter() - started
        pending = store.rows(DeliveryRows).delivery_counts().get("pending", 0)
        await client.aclose()
        store.close()
    lost = duplicates = 0
    for number in range(channels):
        seen = Counter(
            embed["url"]
            for post in discord.posts(str(100 + number))
            for embed in post.payload["embeds"]
        )
        lost += len(expected - set(seen))
        duplicates += sum(count - 1 for count in seen.values())
    requests = len(discord.posts())
    files = sum(len(post.files) for post in discord.posts())
    limited = dict(discord.rate_limited)
    per_bucket = max((n for k, n in limited.items() if k != "global"), default=0)
    print(
        f"{mode}: channels={channels} papers={PAPERS} messages={requests}"
        f" ({requests / channels:.1f} per channel) files={files}"
        f" time={seconds:.2f}s requests/s={requests / seconds:.1f}"
    )
    print(
        f"  429s: total={sum(limited.values())} global={limited.get('global', 0)}"
        f" most in one bucket={per_bucket}"
        f" | lost={lost} duplicates={duplicates} still pending={pending}"
        f" | sent: {report.digests} digests, {report.cards} cards, failed={len(report.failed)}"
    )
    discord.stop()
    arxiv.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=200, help="webhook channels (digest)")
    parser.add_argument("--instant-channels", type=int, default=5, help="channels (cards)")
    args = parser.parse_args()
    asyncio.run(fan_out(args.channels, "daily"))
    if args.instant_channels:
        asyncio.run(fan_out(args.instant_channels, "instant"))


if __name__ == "__main__":
    main()
