"""Webhook channels against the local fake Discord: what is posted (JSON or multipart with
the figure), rate limits (bucket headers, 429 with retry_after), and lost webhooks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from bot.app import App
from bot.chats import ChatRef
from bot.delivery import ChatUnavailable, DeliveryFailed
from bot.logs import RedactSecrets
from bot.models import Chat
from bot.topics import parse_topic
from handlers.discord_webhook import (
    PLATFORM,
    BadWebhookUrl,
    DiscordWebhooks,
    parse_webhook_url,
)
from storage.chats import ChatRows
from storage.database import Store
from storage.outbox import DeliveryRows
from tests.conftest import SleepLog
from tests.fake_arxiv import FakeArxiv, make_paper
from tests.fake_discord import FakeDiscord, Scripted
from tests.sim import FakeClock
from tests.test_discord_render import card


class RealSleeps(SleepLog):
    """Sleeps for real (the fake's limits run on real time) and records each wait."""

    async def __call__(self, seconds: float) -> None:
        await super().__call__(seconds)
        await asyncio.sleep(seconds)


@pytest.fixture
async def webhooks() -> AsyncIterator[DiscordWebhooks]:
    async with DiscordWebhooks() as platform:
        yield platform


async def webhook_chat(app: App, url: str, *topics: str) -> Chat:
    chat = await app.chats.chat(ChatRef(PLATFORM, parse_webhook_url(url).url, "channel", "papers"))
    await app.chats.subscribe(chat, [parse_topic(t) for t in topics])
    return chat


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://discord.com/api/webhooks/123/AbC-d_e", "https://discord.com/api/webhooks/123/AbC-d_e"),
        (" https://discordapp.com/api/webhooks/123/tok/ ", "https://discordapp.com/api/webhooks/123/tok"),
        (
            "https://ptb.discord.com/api/v10/webhooks/123/tok?thread_id=55&wait=false",
            "https://ptb.discord.com/api/v10/webhooks/123/tok?thread_id=55",
        ),
        ("http://127.0.0.1:9/api/webhooks/7/tok", "http://127.0.0.1:9/api/webhooks/7/tok"),
    ],
)  # fmt: skip
def test_webhook_urls_in_canonical_form(given: str, stored: str) -> None:
    webhook = parse_webhook_url(given)
    assert webhook.url == stored
    assert webhook.masked == stored.replace(stored.split("/")[-1].split("?")[0], "****", 1)


@pytest.mark.parametrize(
    "text",
    ["", "discord.com/api/webhooks/1/x", "https://discord.com/api/webhooks/abc/x",
     "https://discord.com/channels/1/2", "ftp://discord.com/api/webhooks/1/x"],
)  # fmt: skip
def test_bad_webhook_urls_are_refused(text: str) -> None:
    with pytest.raises(BadWebhookUrl, match=r"looks like https://discord\.com/api/webhooks/"):
        parse_webhook_url(text)


def test_logs_never_show_webhook_tokens() -> None:
    url = "https://discord.com/api/webhooks/123/s3cret-Token_x"
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "delivery to %s failed", (url,), None
    )
    RedactSecrets([]).filter(record)
    assert record.getMessage() == "delivery to https://discord.com/api/webhooks/123/**** failed"


async def test_card_with_figure_is_posted_as_multipart(
    fake_discord: FakeDiscord, app: App, webhooks: DiscordWebhooks
) -> None:
    chat = await webhook_chat(app, fake_discord.webhook("11"))
    await webhooks.send_card(chat, card())
    (post,) = fake_discord.posts("11")
    (upload,) = post.files
    assert (upload.field, upload.filename) == ("files[0]", "2404.00409-fig1.png")
    assert upload.content_type == "image/png" and upload.data == card().figure.image
    assert post.payload["attachments"] == [
        {"id": 0, "filename": "2404.00409-fig1.png", "description": upload_description()}
    ]
    (embed,) = post.payload["embeds"]
    assert embed["image"] == {"url": "attachment://2404.00409-fig1.png"}
    assert embed["url"] == "https://arxiv.org/abs/2404.00409"
    assert post.payload["allowed_mentions"] == {"parse": []}
    assert "components" not in post.payload


def upload_description() -> str:
    return "Figure 1: Overview of the *pipeline*."


async def test_outbox_delivers_through_webhooks(
    fake_discord: FakeDiscord,
    fake_arxiv: FakeArxiv,
    app: App,
    webhooks: DiscordWebhooks,
    store: Store,
) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(1, title="First"), make_paper(2, title="Second")]
    chat = await webhook_chat(app, fake_discord.webhook("12"), "cs.CV")
    await app.polling.poll()
    report = await app.outbox.deliver_due({PLATFORM: webhooks})
    assert (report.cards, report.failed) == (2, [])
    posts = fake_discord.posts("12")
    assert [p.payload["embeds"][0]["title"] for p in posts] == ["First", "Second"]
    assert all(p.files == [] for p in posts)  # no figures: JSON bodies
    assert store.rows(DeliveryRows).unsent(chat.id) == []
    assert (await app.outbox.deliver_due({PLATFORM: webhooks})).papers == 0


async def test_webhook_digest_lists_the_rest_with_ids_and_why_lines_without_buttons(
    fake_discord: FakeDiscord,
    fake_arxiv: FakeArxiv,
    app: App,
    webhooks: DiscordWebhooks,
    store: Store,
) -> None:
    papers = [
        make_paper(1, title="Plain"),
        make_paper(2, title="Both", categories=["cs.CV", "cs.LG"]),
        make_paper(3, title="Also plain"),
    ]
    fake_arxiv.feeds["cs.CV"] = papers
    fake_arxiv.feeds["cs.LG"] = papers[1:2]
    chat = await webhook_chat(app, fake_discord.webhook("13"), "cs.CV", "cs.LG")
    await app.chats.change_setting(chat, "max", "1")
    await app.polling.poll()
    report = await app.outbox.deliver_due({PLATFORM: webhooks})
    assert (report.digests, report.papers, report.failed) == (1, 3, [])
    cards, listing = fake_discord.posts("13")
    assert "3 new papers" in cards.payload["content"]
    assert [e["title"] for e in cards.payload["embeds"]] == ["Both"]
    assert listing.payload["content"] == "More papers, best first:"
    (embed,) = listing.payload["embeds"]
    entries = [entry.split("\n") for entry in embed["description"].split("\n\n")]
    assert [entry[0] for entry in entries] == [
        r"**2.** [Plain](https://arxiv.org/abs/2511.00001) · 0\.30 · 2511\.00001",
        r"**3.** [Also plain](https://arxiv.org/abs/2511.00003) · 0\.30 · 2511\.00003",
    ]
    assert [entry[2] for entry in entries] == ["*matched: cs.CV*"] * 2
    assert all("components" not in post.payload for post in (cards, listing))
    assert store.rows(DeliveryRows).unsent(chat.id) == []


async def test_bucket_headers_are_honoured(
    fake_discord: FakeDiscord, app: App, webhooks: DiscordWebhooks
) -> None:
    chat = await webhook_chat(app, fake_discord.webhook("13"))
    for number in range(1, 13):
        await webhooks.send_card(chat, card(number, with_figure=False))
    assert len(fake_discord.posts("13")) == 12
    assert fake_discord.rate_limited == {}


async def test_429_retry_after_is_obeyed(fake_discord: FakeDiscord, app: App) -> None:
    chat = await webhook_chat(app, fake_discord.webhook("14"))
    fake_discord.script(
        "14",
        Scripted(429, {"message": "rate limited", "retry_after": 0.05, "global": False}),
        Scripted(429, {"message": "rate limited", "retry_after": 0.1, "global": True}),
    )
    sleeps = RealSleeps()
    async with DiscordWebhooks(sleep=sleeps) as webhooks:
        await webhooks.send_card(chat, card())
    assert len(fake_discord.posts("14")) == 1
    assert sleeps.waits == [pytest.approx(0.05, abs=0.01), pytest.approx(0.1, abs=0.01)]


async def test_a_full_bucket_is_waited_for(
    fake_discord: FakeDiscord, app: App, webhooks: DiscordWebhooks
) -> None:
    url = fake_discord.webhook("15")
    async with httpx.AsyncClient() as other:  # another program used the webhook just now
        for _ in range(5):
            await other.post(url, json={"content": "hello"})
    chat = await webhook_chat(app, url)
    await webhooks.send_card(chat, card(with_figure=False))
    assert len(fake_discord.posts("15")) == 6
    assert fake_discord.rate_limited == {"15": 1}


@pytest.mark.parametrize("lost", ["deleted", "revoked"])
async def test_lost_webhook_pauses_the_channel(
    fake_discord: FakeDiscord,
    fake_arxiv: FakeArxiv,
    app: App,
    webhooks: DiscordWebhooks,
    store: Store,
    lost: str,
) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    url = fake_discord.webhook("16")
    chat = await webhook_chat(app, url, "cs.CV")
    if lost == "deleted":
        fake_discord.deleted.add("16")
    else:
        fake_discord.webhooks["16"] = "a-new-token"
    await app.polling.poll()
    report = await app.outbox.deliver_due({PLATFORM: webhooks})
    assert report.paused == [f"{PLATFORM}:{chat.chat_id}"]
    row = store.rows(ChatRows).chat(PLATFORM, chat.chat_id)
    assert row["active"] == 0
    assert row["paused_reason"].startswith("webhook deleted or revoked (40")
    assert [d["paper_id"] for d in store.rows(DeliveryRows).unsent(chat.id)] == ["2511.00001"]


async def test_server_errors_are_retried_later_without_leaking_the_token(
    fake_discord: FakeDiscord,
    fake_arxiv: FakeArxiv,
    app: App,
    webhooks: DiscordWebhooks,
    store: Store,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    chat = await webhook_chat(app, fake_discord.webhook("17"), "cs.CV")
    fake_discord.script("17", Scripted(500, {"message": "Internal Server Error", "code": 0}))
    await app.polling.poll()
    report = await app.outbox.deliver_due({PLATFORM: webhooks})
    assert len(report.failed) == 1
    (pending,) = store.rows(DeliveryRows).unsent(chat.id)
    assert pending["last_error"] == "Discord answered 500 Internal Server Error (0)"
    assert "secret-token" not in pending["last_error"]
    clock.now += timedelta(minutes=5)  # past the retry time
    assert (await app.outbox.deliver_due({PLATFORM: webhooks})).cards == 1
    assert len(fake_discord.posts("17")) == 1


async def test_a_refused_message_is_charged_to_it_not_to_discord(
    fake_discord: FakeDiscord,
    fake_arxiv: FakeArxiv,
    app: App,
    webhooks: DiscordWebhooks,
    store: Store,
) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(number) for number in range(1, 7)]
    chat = await webhook_chat(app, fake_discord.webhook("20"), "cs.CV")
    refused = Scripted(400, {"message": "Invalid Form Body", "code": 50035})
    fake_discord.script("20", *[refused] * 6)
    await app.polling.poll()
    report = await app.outbox.deliver_due({PLATFORM: webhooks})
    assert (report.cards, len(report.failed), report.paused, report.waiting) == (0, 6, [], 0)
    assert app.outbox.circuit(PLATFORM).closed
    assert store.rows(ChatRows).chat(PLATFORM, chat.chat_id)["active"] == 1
    assert [(d["attempts"], d["last_error"]) for d in store.rows(DeliveryRows).unsent(chat.id)] == [
        (1, "Discord refused the message: 400 Invalid Form Body (50035)")
    ] * 6


async def test_unreachable_discord_is_a_retryable_failure(app: App, sleeps: SleepLog) -> None:
    chat = await webhook_chat(app, "http://127.0.0.1:9/api/webhooks/18/secret-token")
    async with DiscordWebhooks(sleep=sleeps) as webhooks:
        with pytest.raises(DeliveryFailed) as failure:
            await webhooks.send_card(chat, card())
    assert not isinstance(failure.value, ChatUnavailable)
    assert "secret-token" not in str(failure.value)
    assert "webhooks/18/****" in str(failure.value)


async def test_check_names_the_webhook(fake_discord: FakeDiscord) -> None:
    async with DiscordWebhooks() as webhooks:
        assert await webhooks.check(parse_webhook_url(fake_discord.webhook("19"))) == "papers-19"
        fake_discord.deleted.add("19")
        with pytest.raises(BadWebhookUrl, match="Discord does not know this webhook"):
            await webhooks.check(parse_webhook_url(fake_discord.webhook("19")))
