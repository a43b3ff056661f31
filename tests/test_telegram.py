"""The Telegram bot end to end: PTB's real requests against a local fake Bot API server
(tests/fake_telegram.py) and the local fake arXiv, with a real database."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from bot.app import App, build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chats import ChatRef
from bot.commands import CommandLayer
from bot.config import ConfigError, Settings
from bot.figures import NoFigures
from bot.logs import setup_logging
from bot.models import Figure, Paper, Summary
from bot.outbox import DeliveryReport
from bot.retry import RetryPolicy
from bot.summarize import BACKGROUND, PERSON
from bot.summarize.extractive import ExtractiveSummarizer, summarize_abstract
from bot.topics import parse_topic
from handlers.registry import adapters
from handlers.telegram import TelegramAdapter
from handlers.telegram_render import RateLimits, Window
from storage.chats import ChatRows
from storage.database import Store
from storage.feedback import FeedbackRows
from storage.outbox import DeliveryRows
from storage.papers import PaperRows, SummaryRows
from storage.rows import Rows, iso
from tests.conftest import CountingModel, app_with_figure
from tests.fake_arxiv import FakeArxiv, FakePaper, make_paper
from tests.fake_telegram import BOT_USERNAME, TOKEN, FakeTelegram, Sent, png
from tests.sim import FakeClock

# Telegram's limits, 50 times faster: the fake enforces them and the bot must keep them.
R = TypeVar("R", bound=Rows)
LIMITS = RateLimits(overall=Window(30, 0.02), chat=Window(1, 0.02), group=Window(20, 1.2))
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.1)
ALICE, BOB = 42, 43
GROUP_ID, CHANNEL_ID = -1001, -1002


FIGURE_PNG = png(40, 30)


@pytest.fixture
def app(settings: Settings, store: Store, client: ArxivClient, clock: FakeClock) -> App:
    figure = Figure(1, 2, "Overview of the <method> & its parts.", FIGURE_PNG)
    return app_with_figure(settings, store, client, figure, clock)


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    fake = FakeTelegram(LIMITS).start()
    yield fake
    fake.stop()


@pytest.fixture
async def bot(
    settings: Settings, app: App, telegram: FakeTelegram
) -> AsyncIterator[TelegramAdapter]:
    configured = replace(settings, telegram_bot_token=TOKEN, telegram_api_url=telegram.base)
    adapter = TelegramAdapter(
        configured, CommandLayer(app), limits=LIMITS, retry=FAST_RETRY, poll_timeout=1
    )
    await adapter.start()
    yield adapter
    await adapter.stop()
    assert telegram.throttled == 0, "the bot exceeded a flood limit"


@dataclass
class World:
    """The bot running against the fake Bot API, with its app, the fake arXiv and the
    database behind it."""

    bot: TelegramAdapter
    telegram: FakeTelegram
    app: App
    arxiv: FakeArxiv
    store: Store
    clock: FakeClock
    started: datetime

    def say(self, chat: dict, user_id: int, text: str) -> None:
        self.telegram.message(chat, self.telegram.user(user_id), text)

    async def reply_to(self, chat: dict, user_id: int, text: str) -> Sent:
        """Say `text` in `chat` and wait for the (first) message that answers it."""
        before = len(self.telegram.sent_to(chat["id"]))
        self.say(chat, user_id, text)
        return (await self.telegram.wait_sent(chat["id"], before + 1))[before]

    async def alice_follows(self, papers: list[FakePaper], *commands: str) -> dict:
        """Alice's private chat following cs.CV (after `commands`), with `papers` announced
        and polled."""
        chat = self.telegram.private(ALICE)
        for command in ("/subscribe cs.CV", *commands):
            await self.reply_to(chat, ALICE, command)
        self.arxiv.feeds["cs.CV"] = papers
        await self.app.polling.poll()
        return chat

    async def deliver(self, later: timedelta = timedelta(0)) -> DeliveryReport:
        """Deliver what is due `later` from now (failed deliveries wait for their retry)."""
        self.clock.now = self.started + later
        return await self.app.outbox.deliver_due({"telegram": self.bot})

    def deliveries(self) -> dict[str, int]:
        return self.store.rows(DeliveryRows).delivery_counts()

    def chat_row(self, chat_id: int) -> dict | None:
        return self.store.rows(ChatRows).chat("telegram", str(chat_id))

    async def wait_rows(
        self, kind: type[R], query: Callable[[R], object], expected: object
    ) -> None:
        """Wait until the bot's own handling has stored what `query` should read."""
        for _ in range(500):
            if query(self.store.rows(kind)) == expected:
                return
            await asyncio.sleep(0.01)
        assert query(self.store.rows(kind)) == expected


@pytest.fixture
def world(
    bot: TelegramAdapter,
    telegram: FakeTelegram,
    app: App,
    fake_arxiv: FakeArxiv,
    store: Store,
    clock: FakeClock,
) -> World:
    return World(bot, telegram, app, fake_arxiv, store, clock, clock.now)


async def test_start_subscribe_poll_card_with_photo(world: World) -> None:
    telegram, app = world.telegram, world.app
    assert telegram.commands[None][0]["command"] == "subscribe"
    assert telegram.commands["zh"][0]["description"].startswith("关注主题")
    chat = telegram.private(ALICE)
    welcome = await world.reply_to(chat, ALICE, "/start")
    assert "/subscribe <topic>" in welcome.visible and "/subscribe @channel" in welcome.visible
    assert welcome.parse_mode is None
    assert "Following cs.CV" in (await world.reply_to(chat, ALICE, "/subscribe cs.CV")).text

    world.arxiv.feeds["cs.CV"] = [make_paper(1, title="Splats <fast> & $x<y$")]
    await app.polling.poll()
    report = await world.deliver()

    assert report.cards == 1
    card = telegram.sent_to(ALICE)[-1]
    assert card.method == "sendPhoto" and card.photo == FIGURE_PNG
    assert card.parse_mode == "HTML"
    assert card.text.startswith(
        '<b><a href="https://arxiv.org/abs/2511.00001">Splats &lt;fast&gt; &amp; $x&lt;y$</a></b>'
    )
    assert "Figure 1: Overview of the <method> & its parts." in card.visible
    assert {"text": "PDF", "url": f"{world.arxiv.base}/pdf/2511.00001v1"} in card.buttons
    assert world.deliveries() == {"sent": 1}
    assert telegram.rejected == []


async def test_summarize_every_id_form(world: World) -> None:
    telegram = world.telegram
    old_style = FakePaper(
        id="hep-th/9901001",
        title="Strings in old style",
        abstract="We study strings. We find that they vibrate. The result is new.",
        authors=["E. Witten"],
        categories=["hep-th"],
        published=datetime(1999, 1, 4, tzinfo=UTC),
    )
    world.arxiv.papers = [make_paper(409, title="Talking heads"), old_style]
    chat = telegram.private(ALICE)
    await world.reply_to(chat, ALICE, "/set figures off")
    forms = [
        "2511.00409",
        "2511.00409v1",
        "arXiv:2511.00409",
        "https://arxiv.org/abs/2511.00409",
        f"/summarize@{BOT_USERNAME} https://arxiv.org/pdf/2511.00409v1",
    ]
    for form in forms:
        text = form if form.startswith("/") else f"/summarize {form}"
        card = await world.reply_to(chat, ALICE, text)
        assert card.method == "sendMessage" and card.parse_mode == "HTML", form
        assert card.visible.startswith("Talking heads\nAuthors: Ada Lovelace, Alan Turing"), form
        assert card.preview_disabled
    card = await world.reply_to(chat, ALICE, "/summarize hep-th/9901001")
    assert card.visible.startswith("Strings in old style\nAuthors: E. Witten")
    missing = await world.reply_to(chat, ALICE, "/summarize 2404.99999")
    assert missing.text == "No arXiv paper 2404.99999."
    wrong = await world.reply_to(chat, ALICE, "/summarize 12345")
    assert wrong.text.startswith("Not an arXiv id or URL")
    assert telegram.rejected == []


async def test_group_admins_change_others_read(world: World) -> None:
    telegram, store = world.telegram, world.store
    group = telegram.group(GROUP_ID, admins=(ALICE,))
    refused = await world.reply_to(group, BOB, "/subscribe cs.CV")
    assert refused.text == "Only administrators of this chat can change its topics or settings."
    assert refused.reply_to is not None  # quotes the command it answers
    assert (await world.reply_to(group, BOB, "/set mode daily")).text.startswith("Only")
    added = await world.reply_to(group, ALICE, f"/subscribe@{BOT_USERNAME} cs.CV; NeRF")
    assert added.text.startswith("Following cs.CV\nFollowing nerf")
    listing = await world.reply_to(group, BOB, "/list")
    assert "• cs.CV" in listing.text

    world.say(group, BOB, "/weather Berlin")  # another bot's command: not ours to answer
    unknown = await world.reply_to(group, BOB, f"/weather@{BOT_USERNAME}")
    assert unknown.text == "Unknown command /weather. Send /help for the list."
    assert [s.text for s in telegram.sent_to(GROUP_ID)][-2:] == [listing.text, unknown.text]
    chat = store.rows(ChatRows).chat("telegram", str(GROUP_ID))
    assert (chat["kind"], chat["title"], chat["mode"]) == ("group", "Lab", "instant")
    assert store.rows(ChatRows).topics_of(chat["id"]) == ["cs.CV", "nerf"]


async def test_anonymous_group_admin_may_change(world: World) -> None:
    telegram = world.telegram
    group = telegram.group(GROUP_ID)
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
    telegram.message(group, anonymous, "/subscribe cs.CV", sender_chat=group)
    (reply,) = await telegram.wait_sent(GROUP_ID, 1)
    assert reply.text.startswith("Following cs.CV")


async def test_channel_managed_from_a_private_chat(world: World) -> None:
    telegram, app, store = world.telegram, world.app, world.store
    telegram.channel(CHANNEL_ID, "Lab news", "labnews", admins=(ALICE,))
    telegram.channel(-1003, "Mute", "mutechannel", can_post=False, admins=(ALICE,))
    telegram.group(GROUP_ID)
    telegram.group(-1004, "Public group")["username"] = "publicgroup"
    alice, bob = telegram.private(ALICE), telegram.private(BOB, "Bob")

    added = await world.reply_to(alice, ALICE, "/subscribe @labnews cs.CV")
    assert added.text.startswith("Following cs.CV")
    refused = await world.reply_to(bob, BOB, "/subscribe @labnews cs.GR")
    assert refused.text.startswith("Only administrators")
    listing = await world.reply_to(bob, BOB, "/list @labnews")
    assert "• cs.CV" in listing.text and "cs.GR" not in listing.text
    unknown = await world.reply_to(alice, ALICE, "/subscribe @nosuchchannel cs.CV")
    assert unknown.text.startswith("I cannot see @nosuchchannel")
    mute = await world.reply_to(alice, ALICE, "/subscribe @mutechannel cs.CV")
    assert mute.text.startswith("Make me an administrator of Mute who may post messages")
    group = await world.reply_to(alice, ALICE, "/subscribe @publicgroup cs.CV")
    assert group.text.startswith("@publicgroup is not a channel")

    channel = store.rows(ChatRows).chat("telegram", str(CHANNEL_ID))
    assert (channel["kind"], channel["title"]) == ("channel", "Lab news")
    assert store.rows(ChatRows).topics_of(channel["id"]) == ["cs.CV"]
    assert store.rows(ChatRows).chat("telegram", "-1003") is None
    assert telegram.sent_to(CHANNEL_ID) == []

    world.arxiv.feeds["cs.CV"] = [make_paper(5)]
    await app.polling.poll()
    await world.deliver()
    (card,) = telegram.sent_to(CHANNEL_ID)
    assert card.method == "sendPhoto" and "A Study of Problem 5" in card.visible


async def test_added_removed_readded(world: World) -> None:
    telegram, app = world.telegram, world.app
    group = {"id": GROUP_ID, "type": "supergroup", "title": "Reading club"}
    telegram.chats[GROUP_ID] = group
    alice = telegram.user(ALICE)
    telegram.membership(group, alice, "left", "member")
    (greeting,) = await telegram.wait_sent(GROUP_ID, 1)
    assert greeting.text.startswith("paperbot follows arXiv for this chat")
    await world.wait_rows(
        ChatRows, lambda r: r.chat("telegram", str(GROUP_ID))["title"], "Reading club"
    )

    stored = await app.chats.chat(ChatRef("telegram", str(GROUP_ID), "group"))
    await app.chats.subscribe(stored, [parse_topic("cs.CV")])
    telegram.membership(group, alice, "member", "kicked")
    await world.wait_rows(ChatRows, lambda r: r.chat("telegram", str(GROUP_ID))["active"], 0)
    world.arxiv.feeds["cs.CV"] = [make_paper(1)]
    await app.polling.poll()  # a paused chat's topics are not fetched
    await world.deliver()
    assert len(telegram.sent_to(GROUP_ID)) == 1

    telegram.membership(group, alice, "left", "administrator")
    await telegram.wait_sent(GROUP_ID, 2)
    await world.wait_rows(ChatRows, lambda r: r.chat("telegram", str(GROUP_ID))["active"], 1)

    channel = {"id": CHANNEL_ID, "type": "channel", "title": "News", "username": "news"}
    telegram.chats[CHANNEL_ID] = channel
    telegram.private(ALICE)
    telegram.membership(channel, alice, "left", "administrator")
    (hint,) = await telegram.wait_sent(ALICE, 1)
    assert hint.text == (
        "I was added to the channel News. Manage it from here, e.g. /subscribe @news cs.CV"
    )
    assert telegram.sent_to(CHANNEL_ID) == []


async def test_blocked_chat_is_paused_and_keeps_its_papers(world: World) -> None:
    telegram, store = world.telegram, world.store
    chat = await world.alice_follows([make_paper(1), make_paper(2)])
    telegram.block(ALICE)
    report = await world.deliver()

    assert report.paused == [f"telegram:{ALICE}"] and report.cards == 0
    row = store.rows(ChatRows).chat("telegram", str(ALICE))
    assert row["active"] == 0 and "blocked" in row["paused_reason"]
    assert world.deliveries() == {"pending": 2}
    await world.deliver()  # paused: not tried again
    assert len(telegram.calls_of("sendPhoto")) == 1  # the one refused with 403

    telegram.membership(chat, telegram.user(ALICE), "kicked", "member")  # unblocked
    await world.wait_rows(ChatRows, lambda r: r.chat("telegram", str(ALICE))["active"], 1)
    await world.deliver()
    cards = telegram.sent_to(ALICE, "sendPhoto")
    assert [c.visible.split("\n")[0] for c in cards] == [
        "A Study of Problem 1 with Neural Methods",
        "A Study of Problem 2 with Neural Methods",
    ]
    assert world.deliveries() == {"sent": 2}


async def test_flood_control_mid_digest_delivers_all_in_order_once(world: World) -> None:
    telegram = world.telegram
    papers = [make_paper(i) for i in range(1, 6)]
    chat = await world.alice_follows(papers, "/set mode daily", "/set figures off")
    telegram.fail(429, retry_after=0.05, skip=2, times=2)  # the 2nd and 3rd cards
    world.say(chat, ALICE, "/digest")
    await world.wait_rows(DeliveryRows, DeliveryRows.delivery_counts, {"sent": 5})

    digest = telegram.sent_to(ALICE)[3:]
    assert digest[0].visible.startswith("arXiv digest · ")
    assert "5 new papers · Topics: cs.CV" in digest[0].visible
    titles = [message.visible.split("\n")[0] for message in digest[1:]]
    assert titles == [f"A Study of Problem {i} with Neural Methods" for i in range(1, 6)]
    assert telegram.rejected == []


async def test_digest_broken_half_way_resends_only_the_missing_cards(world: World) -> None:
    telegram = world.telegram
    papers = [make_paper(i) for i in range(1, 5)]
    chat = await world.alice_follows(papers, "/set mode daily", "/set figures off")
    before = len(telegram.sent_to(ALICE))
    telegram.fail(502, skip=3, times=3)  # header, cards 1 and 2 arrive; card 3 fails for good
    world.say(chat, ALICE, "/digest")
    await world.wait_rows(DeliveryRows, DeliveryRows.delivery_counts, {"sent": 2, "pending": 2})
    row = world.chat_row(ALICE)
    assert row is not None
    await world.wait_rows(
        DeliveryRows, lambda r: [d["attempts"] for d in r.unsent(row["id"])], [1, 1]
    )

    report = await world.deliver(later=timedelta(days=1, minutes=5))
    assert report.papers == 2 and world.deliveries() == {"sent": 4}
    titles = [m.visible.split("\n")[0] for m in telegram.sent_to(ALICE)[before:]]
    cards = [t for t in titles if t.startswith("A Study of Problem")]
    assert cards == [f"A Study of Problem {i} with Neural Methods" for i in range(1, 5)]


async def test_network_errors_are_retried_then_reported(world: World) -> None:
    telegram, store = world.telegram, world.store
    await world.alice_follows([make_paper(1)])
    telegram.fail(502, times=3)  # every attempt of the policy
    report = await world.deliver()
    assert report.failed and "after 3 attempts" in report.failed[0]
    assert world.deliveries() == {"pending": 1}
    assert store.rows(ChatRows).chat("telegram", str(ALICE))["active"] == 1

    telegram.fail(500, times=2)
    assert (await world.deliver()).cards == 0, "not before its retry time"
    report = await world.deliver(later=timedelta(minutes=5))
    assert report.cards == 1 and world.deliveries() == {"sent": 1}
    assert len(telegram.sent_to(ALICE, "sendPhoto")) == 1


async def test_refused_card_is_resent_as_plain_text(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    telegram = world.telegram
    await world.alice_follows([make_paper(1, title="Odd <title>")])
    telegram.fail(400, "Bad Request: PHOTO_INVALID_DIMENSIONS", methods=("sendPhoto",))
    await world.deliver()

    plain = telegram.sent_to(ALICE)[-1]
    assert plain.method == "sendMessage" and plain.parse_mode is None
    assert plain.text.startswith("Odd <title>\nAuthors: Ada Lovelace")
    assert world.deliveries() == {"sent": 1}
    assert f"card of 2511.00001 for chat {ALICE}" in caplog.text
    assert "photo_invalid_dimensions" in caplog.text.lower()


async def test_a_card_every_chat_refuses_holds_up_no_other_card(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    telegram, app = world.telegram, world.app
    chats = [telegram.private(2000 + number)["id"] for number in range(20)]
    for chat_id in chats:
        chat = await app.chats.chat(ChatRef("telegram", str(chat_id), "private"))
        await app.chats.subscribe(chat, [parse_topic("cs.CV")])
    refused = make_paper(3, title="Refused by Telegram")
    world.arxiv.feeds["cs.CV"] = [
        make_paper(1),
        make_paper(2),
        refused,
        make_paper(4),
        make_paper(5),
    ]
    telegram.fail(  # the card with its photo, then as plain text: everywhere, every time
        400,
        'Bad Request: can\'t parse entities: unsupported start tag "x" at byte offset 9',
        containing="Refused by Telegram",
        times=1000,
    )
    await app.polling.poll()

    first = await world.deliver()
    good = [f"A Study of Problem {number} with Neural Methods" for number in (1, 2, 4, 5)]
    for chat_id in chats:
        assert [sent.visible.split("\n")[0] for sent in telegram.sent_to(chat_id)] == good
    assert (first.cards, first.waiting, first.paused, len(first.failed)) == (80, 0, [], 20)

    given_up = 0
    for retry in range(1, 10):  # 9 more attempts, each after its backoff (at most 6 hours)
        report = await world.deliver(later=timedelta(hours=7 * retry))
        assert report.cards == 0 and report.waiting == 0
        given_up += report.given_up
        assert app.outbox.circuit("telegram").closed
    assert given_up == 20 and world.deliveries() == {"sent": 80, "failed": 20}
    for chat_id in chats:
        assert len(telegram.sent_to(chat_id)) == 4
        assert world.chat_row(chat_id)["active"] == 1
    assert "waits while telegram is down" not in caplog.text
    assert "telegram deliveries is down" not in caplog.text


async def test_details_button_and_compact_digest(world: World) -> None:
    telegram, store = world.telegram, world.store
    papers = [make_paper(i) for i in range(1, 4)]
    await world.alice_follows(papers, "/set max 2", "/set figures off")
    at = iso(world.clock.now)
    for number in range(1, 4):
        store.rows(SummaryRows).save_summary(
            f"2511.0000{number}", 1, "en", "extractive", "abstract", rich_summary(number), at
        )
    await world.deliver()

    header, first, second, listing = telegram.sent_to(ALICE)[3:]
    assert "3 new papers" in header.visible
    assert first.visible.startswith("A Study of Problem 1")
    assert second.visible.startswith("A Study of Problem 2")
    assert "More papers, best first; tap a number" in listing.visible
    assert "3. A Study of Problem 3 with Neural Methods · 0.30" in listing.visible
    assert "Summary 3 in one line." in listing.visible  # the stored summary's TL;DR
    assert [b["text"] for b in listing.buttons] == ["3"]

    telegram.press(listing, telegram.user(ALICE), listing.buttons[0]["callback_data"])
    edited, card = (await telegram.wait_sent(ALICE, 9))[7:]
    assert edited.method == "editMessageReplyMarkup" and edited.buttons == []
    assert card.visible.startswith("A Study of Problem 3") and card.reply_to == listing.message_id
    assert "TL;DR: Summary 3 in one line." in card.visible

    details_data = next(b["callback_data"] for b in card.buttons if b["text"] == "Details")
    telegram.press(card, telegram.user(ALICE), details_data)
    details = (await telegram.wait_sent(ALICE, 11))[10]
    assert details.visible.startswith("Details · A Study of Problem 3")
    assert "Method: We stack <layers> & more." in details.visible
    assert "Conclusion\n• Significance: It matters." in details.visible
    assert details.reply_to == card.message_id
    assert len(telegram.callback_answers) == 2
    assert telegram.rejected == []


async def test_daily_digest_sends_max_cards_then_lists_the_rest_without_the_model(
    world: World,
) -> None:
    telegram, store, app = world.telegram, world.store, world.app
    topics = {1: ["cs.CV"], 2: ["cs.CV", "cs.LG", "cs.AI"], 3: ["cs.CV", "cs.LG"], 4: ["cs.CV"]}
    topics[5] = topics[2]
    papers = [make_paper(n, categories=topics[n]) for n in range(1, 6)]
    world.arxiv.feeds["cs.LG"] = [p for p in papers if "cs.LG" in p.categories]
    world.arxiv.feeds["cs.AI"] = [p for p in papers if "cs.AI" in p.categories]
    slot = (world.clock.now + timedelta(hours=1)).strftime("%H:%M")
    settings = ("/subscribe cs.LG; cs.AI", "/set max 2", "/set mode daily", f"/set time {slot}")
    await world.alice_follows(papers, *settings)
    model, pdfs = CountingModel(), app.papers.figures
    app.summaries.summarizer = model
    assert (await world.deliver()).papers == 0  # before its time
    await world.deliver(timedelta(hours=2))

    header, first, second, listing = telegram.sent_to(ALICE)[5:]
    assert "5 new papers" in header.visible
    assert first.visible.startswith("A Study of Problem 2") and first.method == "sendPhoto"
    assert second.visible.startswith("A Study of Problem 5")
    assert "Summary source: language model, abstract only" in first.visible
    assert model.asked == [("2511.00002", BACKGROUND), ("2511.00005", BACKGROUND)]
    assert pdfs.read == ["2511.00002", "2511.00005"]
    entries = listing.visible.split("\n\n")
    assert entries[0] == "More papers, best first; tap a number for the paper's card."
    assert [e.splitlines()[0] for e in entries[1:]] == [
        "3. A Study of Problem 3 with Neural Methods · 0.51",
        "4. A Study of Problem 1 with Neural Methods · 0.30",
        "5. A Study of Problem 4 with Neural Methods · 0.30",
    ]
    third = Paper.from_row(store.rows(PaperRows).paper("2511.00003"))
    assert entries[1].splitlines()[1:] == [
        "Ada Lovelace, Alan Turing",
        summarize_abstract(third).tldr,
    ]
    assert [b["text"] for b in listing.buttons] == ["3", "4", "5"]
    assert world.deliveries() == {"sent": 5}
    assert store.rows(SummaryRows).summary("2511.00003", 1, "en", model.model) is None

    asked = len(world.arxiv.requests)
    telegram.press(listing, telegram.user(ALICE), listing.buttons[0]["callback_data"])
    card = (await telegram.wait_sent(ALICE, 11))[-1]
    assert card.visible.startswith("A Study of Problem 3") and card.reply_to == listing.message_id
    assert "Summary source: language model, abstract only" in card.visible
    assert model.asked[2:] == [("2511.00003", PERSON)]
    assert len(world.arxiv.requests) == asked  # the stored paper: no arXiv request
    assert [b["text"] for b in telegram.sent_to(ALICE)[-2].buttons] == ["4", "5"]


async def test_group_vote_buttons_show_the_counts(world: World) -> None:
    telegram, store = world.telegram, world.store
    group = telegram.group(GROUP_ID, admins=(ALICE,))
    await world.reply_to(group, ALICE, "/subscribe cs.CV")
    world.arxiv.feeds["cs.CV"] = [make_paper(1)]
    await world.app.polling.poll()
    await world.deliver()
    card = telegram.sent_to(GROUP_ID)[-1]
    up, down = (b["callback_data"] for b in card.buttons[-2:])

    async def press(user: int, data: str, answer: str, votes: list[str]) -> None:
        before = len(telegram.callback_answers)
        telegram.press(card, telegram.user(user), data)
        await telegram.wait_for(lambda: len(telegram.callback_answers) > before)
        assert telegram.callback_answers[-1]["text"] == answer
        await telegram.wait_for(
            lambda: [b["text"] for b in telegram.sent_to(GROUP_ID)[-1].buttons][-2:] == votes
        )

    await press(ALICE, up, "👍 Noted: more papers like this one.", ["👍 1", "👎"])
    await press(BOB, down, "👎 Noted: fewer papers like this one.", ["👍 1", "👎 1"])
    edits = len(telegram.sent_to(GROUP_ID))
    await press(BOB, down, "Already noted.", ["👍 1", "👎 1"])
    assert len(telegram.sent_to(GROUP_ID)) == edits  # nothing changed, nothing edited
    await press(BOB, up, "👍 Noted: more papers like this one.", ["👍 2", "👎"])
    chat = world.chat_row(GROUP_ID)["id"]
    rows = store.rows(FeedbackRows).voted_papers(chat)
    assert [(r["likes"], r["dislikes"]) for r in rows] == [(2, 0)]
    assert telegram.rejected == []


def rich_summary(number: int) -> dict:
    return Summary(
        tldr=f"Summary {number} in one line.",
        takeaways=["First point.", "Second point.", "Third point."],
        background="Background text.",
        method="We stack <layers> & more.",
        results="It works.",
        significance="It matters.",
        language="en",
        model="extractive",
        source="abstract",
    ).model_dump()


@pytest.mark.parametrize(
    ("update", "reply"),
    [
        ("/subscribe " + "x" * 5000, "That message is too long (at most 4096 characters)."),
        ("/subscribe <b>NeRF</b>", "Not subscribed:"),
        ("/summarize <script>alert(1)</script>", "Not an arXiv id or URL"),
        ("/subscribe", "Give a topic: /subscribe cs.CV"),
        ("/set", "Usage: /set <name> <value>"),
        ("/frobnicate", "Unknown command /frobnicate. Send /help for the list."),
        ("hello bot", "Commands start with /. Send /help to see them."),
        ("sticker", "I read text commands only. Send /help to see them."),
    ],
)
async def test_bad_input_gets_a_short_plain_reply(
    world: World,
    update: str,
    reply: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram = world.telegram
    chat = telegram.private(ALICE)
    before = len(telegram.sent_to(ALICE))
    if update == "sticker":
        sticker = {
            "file_id": "s1",
            "file_unique_id": "u1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        telegram.message(chat, telegram.user(ALICE), sticker=sticker)
    else:
        world.say(chat, ALICE, update)
    answer = (await telegram.wait_sent(ALICE, before + 1))[before]
    assert answer.text.startswith(reply)
    assert answer.parse_mode is None and len(answer.text) < 300
    assert telegram.rejected == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_edited_messages_and_channel_posts_are_ignored(world: World) -> None:
    telegram, store = world.telegram, world.store
    chat = telegram.private(ALICE)
    telegram.message(chat, telegram.user(ALICE), "/subscribe cs.CV", kind="edited_message")
    channel = telegram.channel(CHANNEL_ID, "News", "news")
    telegram.message(channel, None, "/subscribe cs.GR", kind="channel_post")
    listing = await world.reply_to(chat, ALICE, "/list")
    assert "(none; try /subscribe cs.CV)" in listing.text
    assert len(telegram.sent_to(ALICE)) == 1 and telegram.sent_to(CHANNEL_ID) == []
    assert store.rows(ChatRows).chat("telegram", str(CHANNEL_ID)) is None


async def test_long_reply_is_split_under_the_limit(world: World) -> None:
    telegram, store = world.telegram, world.store
    chat = telegram.private(ALICE)
    await world.reply_to(chat, ALICE, "/list")
    row = store.rows(ChatRows).chat("telegram", str(ALICE))
    many = [f"au:author number {i:03d} of many" for i in range(200)]
    store.rows(ChatRows).subscribe(row["id"], many, iso(world.clock.now))
    world.say(chat, ALICE, "/list")
    await telegram.wait_sent(ALICE, 3)
    await telegram.wait_for(lambda: telegram.sent_to(ALICE)[-1].text.endswith("threshold off"))
    parts = telegram.sent_to(ALICE)[1:]
    assert len(parts) == 2 and all(len(part.text) <= 4096 for part in parts)
    text = "\n".join(part.text for part in parts)
    assert all(f"• au:author number {i:03d} of many" in text for i in range(200))


async def test_registry_and_bad_token(settings: Settings, app: App, telegram: FakeTelegram) -> None:
    layer = CommandLayer(app)
    assert adapters(settings, layer) == []
    configured = replace(settings, telegram_bot_token="999:wrong", telegram_api_url=telegram.base)
    (adapter,) = adapters(configured, layer)
    assert adapter.name == "telegram"
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN was not accepted"):
        await adapter.start()
    await adapter.stop()


def test_token_never_reaches_the_log(
    settings: Settings, app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    configured = replace(settings, telegram_bot_token=TOKEN, log_level="DEBUG")
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging(configured)
        TelegramAdapter(configured, CommandLayer(app))  # PTB logs its URLs at DEBUG
        try:
            raise ConnectionError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed")
        except ConnectionError:
            logging.getLogger("telegram.ext").exception("request to %s failed", f"/bot{TOKEN}/")
    finally:
        root.handlers[:], root.level = saved
    logged = capsys.readouterr().err
    assert "Set Bot API URL: https://api.telegram.org/bot[redacted]" in logged
    assert "ConnectionError: POST https://api.telegram.org/bot[redacted]/sendMessage" in logged
    assert TOKEN not in logged and TOKEN.split(":")[1] not in logged


async def test_many_chats_and_a_group_stay_within_flood_limits(
    settings: Settings,
    app: App,
    telegram: FakeTelegram,
    fake_arxiv: FakeArxiv,
    store: Store,
) -> None:
    tight = RateLimits(overall=Window(10, 0.05), chat=Window(1, 0.02), group=Window(4, 0.2))
    telegram.windows = FakeTelegram(tight).windows
    configured = replace(settings, telegram_bot_token=TOKEN, telegram_api_url=telegram.base)
    adapter = TelegramAdapter(configured, CommandLayer(app), limits=tight, retry=FAST_RETRY)
    await adapter.start()
    try:
        chats = [telegram.private(1000 + i)["id"] for i in range(30)]
        chats.append(telegram.group(GROUP_ID)["id"])
        for chat_id in chats:
            kind = "group" if chat_id < 0 else "private"
            chat = await app.chats.chat(ChatRef("telegram", str(chat_id), kind))
            await app.chats.change_setting(chat, "figures", "off")
            await app.chats.subscribe(chat, [parse_topic("cs.CV")])
        fake_arxiv.feeds["cs.CV"] = [make_paper(i) for i in range(1, 7)]
        await app.polling.poll()
        report = await app.outbox.deliver_due({"telegram": adapter})
    finally:
        await adapter.stop()
    assert report.cards == 6 * len(chats) and not report.failed
    assert telegram.throttled == 0
    for chat_id in chats:
        titles = [s.visible.split("\n")[0] for s in telegram.sent_to(chat_id)]
        assert titles == [f"A Study of Problem {i} with Neural Methods" for i in range(1, 7)]


async def test_paperbot_run_starts_the_bot(
    telegram: FakeTelegram, fake_arxiv: FakeArxiv, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOT_", "TELEGRAM_"))},
        **fake_arxiv.env,
        **telegram.env,
        "PAPERBOT_DB": str(tmp_path / "run.db"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await telegram.wait_for(lambda: bool(telegram.calls_of("getUpdates")), within=30)
        assert set(telegram.commands) == {None, "zh"}
        telegram.message(telegram.private(ALICE), telegram.user(ALICE), "/help")
        (help_text,) = await telegram.wait_sent(ALICE, 1)
        assert help_text.text.startswith("paperbot follows arXiv")
    finally:
        process.send_signal(signal.SIGTERM)
        _, output = await asyncio.wait_for(process.communicate(), 30)
    err = output.decode()
    assert process.returncode == 0, err
    assert "Telegram bot @paperbot_test_bot is running" in err
    assert TOKEN not in err and TOKEN.split(":")[1] not in err


async def test_poll_once_delivers_to_telegram_chats_without_receiving(
    telegram: FakeTelegram, fake_arxiv: FakeArxiv, tmp_path: Path, settings: Settings
) -> None:
    database = tmp_path / "once.db"
    store, client = Store(database), ArxivClient(settings)
    try:
        app = build_app(
            replace(settings, db_path=database),
            store,
            ArxivSource(client),
            ExtractiveSummarizer(),
            NoFigures(),
        )
        chat = await app.chats.chat(ChatRef("telegram", str(ALICE)))
        await app.chats.subscribe(chat, [parse_topic("cs.CV")])
    finally:
        await client.aclose()
        store.close()
    telegram.private(ALICE)
    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PAPERBOT_", "TELEGRAM_"))},
        **fake_arxiv.env,
        **telegram.env,
        "PAPERBOT_DB": str(database),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "poll",
        "--once",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    (card,) = telegram.sent_to(ALICE)
    assert card.visible.startswith("A Study of Problem 1")
    assert telegram.calls_of("getUpdates") == []


async def test_group_upgraded_to_supergroup_keeps_its_topics(world: World) -> None:
    telegram, app, store = world.telegram, world.app, world.store
    seen = telegram.group(GROUP_ID, admins=(ALICE,))
    unseen = telegram.group(-1005, admins=(ALICE,))
    for group in (seen, unseen):
        await world.reply_to(group, ALICE, "/subscribe cs.CV")
        await world.reply_to(group, ALICE, "/set figures off")
    telegram.upgrade(seen, -100777)  # the bot gets the app message
    await world.wait_rows(ChatRows, lambda r: r.chat("telegram", "-100777") is not None, True)
    telegram.migrated[-1005] = -100888  # the bot learns it when sending
    telegram.group(-100888)
    world.arxiv.feeds["cs.CV"] = [make_paper(1)]
    await app.polling.poll()

    first = await world.deliver()
    assert first.cards == 1 and len(first.failed) == 1
    second = await world.deliver(later=timedelta(minutes=5))
    assert second.cards == 1 and not second.failed
    for new_id in (-100777, -100888):
        (card,) = telegram.sent_to(new_id)
        assert card.visible.startswith("A Study of Problem 1")
        assert store.rows(ChatRows).chat("telegram", str(new_id))["active"] == 1
    assert store.rows(ChatRows).chat("telegram", str(GROUP_ID)) is None
    assert world.deliveries() == {"sent": 2}


async def test_vote_buttons_answer_at_once_and_mark_the_choice(world: World) -> None:
    telegram = world.telegram
    await world.alice_follows([make_paper(1)], "/set figures off")
    await world.deliver()
    card = telegram.sent_to(ALICE)[-1]
    assert [b["text"] for b in card.buttons][-2:] == ["👍", "👎"]
    up, down = (b["callback_data"] for b in card.buttons[-2:])
    chat = world.chat_row(ALICE)["id"]

    def votes(rows: FeedbackRows) -> list[tuple]:
        return [(r["id"], r["likes"], r["dislikes"]) for r in rows.voted_papers(chat)]

    async def press(data: str, answer: str) -> None:
        before = len(telegram.callback_answers)
        telegram.press(card, telegram.user(ALICE), data)
        await telegram.wait_for(lambda: len(telegram.callback_answers) > before)
        assert telegram.callback_answers[-1]["text"] == answer

    def marks() -> list[str]:
        return [b["text"] for b in telegram.sent_to(ALICE)[-1].buttons][-2:]

    await press(up, "👍 Noted: more papers like this one.")
    await telegram.wait_for(lambda: telegram.sent_to(ALICE)[-1].method == "editMessageReplyMarkup")
    assert marks() == ["👍 ✓", "👎"]
    await world.wait_rows(FeedbackRows, votes, [("2511.00001", 1, 0)])
    edits = len(telegram.sent_to(ALICE))
    await press(up, "Already noted.")  # idempotent: no second vote, no edit
    assert len(telegram.sent_to(ALICE)) == edits
    await press(down, "👎 Noted: fewer papers like this one.")
    await telegram.wait_for(lambda: marks() == ["👍", "👎 ✓"])
    await world.wait_rows(FeedbackRows, votes, [("2511.00001", 0, 1)])
    await press("+:2511.99999", "This paper is not available any more.")
    await press(
        "v2:old-button", "This button no longer works; use /like or /dislike with the paper's id."
    )
    await world.wait_rows(FeedbackRows, votes, [("2511.00001", 0, 1)])
    assert "Score" in (await world.reply_to(telegram.private(ALICE), ALICE, "/why 2511.00001")).text
