"""Polling and delivery through the app, against the fake arXiv and a real database."""

import asyncio
from datetime import timedelta

import pytest

from bot.app import App
from bot.arxiv.ids import parse_arxiv_id
from bot.chats import ChatRef
from bot.delivery import ChatUnavailable, DeliveryFailed, Sent
from bot.models import Card, Chat, Digest, Listed
from bot.papers import PaperNotFound
from bot.topics import parse_topic
from storage.chats import ChatRows
from storage.database import Store
from storage.outbox import DeliveryRows
from storage.papers import PaperRows, SummaryRows
from storage.rows import iso
from tests.fake_arxiv import FakeArxiv, make_paper
from tests.sim import FakeClock


class Killed(BaseException):
    """The process dying at this very moment (raised where `except Exception` cannot catch
    it, like SystemExit, but without leaving the event loop)."""


class RecordingPlatform:
    """A platform adapter that records what it was asked to send."""

    name = "test"

    def __init__(self) -> None:
        self.cards: list[tuple[str, str]] = []
        self.digests: list[tuple[str, list[str]]] = []  # each digest's papers, cards first
        self.made: list[Card] = []  # every card sent, alone or in a digest
        self.listed: list[Listed] = []  # every paper a digest listed after its cards
        self.fail_with: Exception | None = None
        self.crash_after_send = False

    async def send_card(self, chat: Chat, card: Card) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.cards.append((chat.chat_id, card.paper.id))
        self.made.append(card)
        if self.crash_after_send:
            raise Killed("killed between send and record")

    async def send_digest(self, chat: Chat, digest: Digest, sent: Sent) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        papers = [item.paper.id for item in (*digest.cards, *digest.listed)]
        self.digests.append((chat.chat_id, papers))
        self.made.extend(digest.cards)
        self.listed.extend(digest.listed)


async def follow(app: App, chat_id: str, *topics: str) -> Chat:
    chat = await app.chats.chat(ChatRef("test", chat_id))
    await app.chats.subscribe(chat, [parse_topic(t) for t in topics])
    return chat


async def one_paper_queued(app: App, fake_arxiv: FakeArxiv, chat_id: str) -> Chat:
    """A chat following cs.CV with one announced paper waiting for it."""
    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    chat = await follow(app, chat_id, "cs.CV")
    await app.polling.poll()
    return chat


def pending_ids(store: Store, chat: Chat) -> list[str]:
    return [d["paper_id"] for d in store.rows(DeliveryRows).unsent(chat.id)]


async def test_poll_queues_each_paper_once_per_chat(
    app: App, store: Store, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.feeds["cs.CV"] = [
        make_paper(1, title="NeRF in the dark"),
        make_paper(2, categories=["cs.GR", "cs.CV"], announce_type="cross"),
        make_paper(3, announce_type="replace", version=3),
    ]
    fake_arxiv.papers = [make_paper(1, title="NeRF in the dark"), make_paper(9, title="NeRF too")]
    a = await follow(app, "a", "cs.CV", "nerf")
    b = await follow(app, "b", "nerf")
    report = await app.polling.poll()
    assert (report.rss_requests, report.api_requests) == (2, 1)  # cs.CV, the cs archive
    assert report.deliveries_queued == 5
    assert sorted(pending_ids(store, a)) == ["2511.00001", "2511.00002", "2511.00009"]
    assert sorted(pending_ids(store, b)) == ["2511.00001", "2511.00009"]
    assert store.rows(PaperRows).paper("2511.00003")["version"] == 3

    again = await app.polling.poll()
    assert again.deliveries_queued == 0
    assert store.rows(DeliveryRows).delivery_counts() == {"pending": 5}


async def test_new_version_updates_row_and_is_not_sent_again(
    app: App, store: Store, fake_arxiv: FakeArxiv
) -> None:
    first = make_paper(1, title="Gaussian splatting v1")
    fake_arxiv.papers = [first]
    chat = await follow(app, "a", "gaussian splatting")
    await app.polling.poll()
    platform = RecordingPlatform()
    await app.outbox.deliver_due({"test": platform})
    assert platform.cards == [("a", "2511.00001")]

    fake_arxiv.papers = [make_paper(1, title="Gaussian splatting v2", version=2)]
    report = await app.polling.poll()
    assert report.papers_updated == 1 and report.deliveries_queued == 0
    await app.outbox.deliver_due({"test": platform})
    assert platform.cards == [("a", "2511.00001")]
    row = store.rows(PaperRows).paper("2511.00001")
    assert (row["version"], row["title"]) == (2, "Gaussian splatting v2")
    assert pending_ids(store, chat) == []


async def test_instant_cards_and_burst_as_digest(
    app: App, store: Store, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(i) for i in range(1, 4)]
    few = await follow(app, "few", "cs.CV")
    many = await follow(app, "many", "cs.CV")
    await app.chats.change_setting(many, "max", "2")
    await app.polling.poll()
    platform = RecordingPlatform()
    report = await app.outbox.deliver_due({"test": platform})
    assert sorted(platform.cards) == [("few", f"2511.0000{i}") for i in (1, 2, 3)]
    assert platform.digests == [("many", ["2511.00001", "2511.00002", "2511.00003"])]
    assert (report.cards, report.digests, report.papers) == (3, 1, 6)
    assert pending_ids(store, few) == pending_ids(store, many) == []


async def test_daily_digest_waits_for_its_time(
    app: App, store: Store, fake_arxiv: FakeArxiv, clock: FakeClock
) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    chat = await follow(app, "d", "cs.CV")
    later = (clock.now + timedelta(hours=2)).strftime("%H:%M")
    await app.chats.change_setting(chat, "mode", "daily")
    await app.chats.change_setting(chat, "time", later)
    await app.polling.poll()
    platform = RecordingPlatform()
    await app.outbox.deliver_due({"test": platform})
    assert platform.digests == [] and platform.cards == []

    clock.now += timedelta(hours=3)
    await app.outbox.deliver_due({"test": platform})
    await app.outbox.deliver_due({"test": platform})
    assert platform.digests == [("d", ["2511.00001"])]


async def test_blocked_chat_is_paused_and_keeps_its_papers(
    app: App, store: Store, fake_arxiv: FakeArxiv
) -> None:
    chat = await one_paper_queued(app, fake_arxiv, "gone")
    platform = RecordingPlatform()
    platform.fail_with = ChatUnavailable("Forbidden: bot was blocked by the user")
    report = await app.outbox.deliver_due({"test": platform})
    assert report.paused == ["test:gone"]
    assert store.rows(ChatRows).chat_by_id(chat.id)["active"] == 0
    assert pending_ids(store, chat) == ["2511.00001"]
    platform.fail_with = None
    await app.outbox.deliver_due({"test": platform})
    assert platform.cards == []


async def test_failed_send_stays_due_and_is_retried(
    app: App, store: Store, fake_arxiv: FakeArxiv, clock: FakeClock
) -> None:
    chat = await one_paper_queued(app, fake_arxiv, "flaky")
    platform = RecordingPlatform()
    platform.fail_with = DeliveryFailed("HTTP 502")
    report = await app.outbox.deliver_due({"test": platform})
    assert report.failed and "HTTP 502" in report.failed[0]
    (row,) = store.rows(DeliveryRows).unsent(chat.id)
    assert (row["attempts"], row["last_error"]) == (1, "HTTP 502")
    platform.fail_with = None
    await app.outbox.deliver_due({"test": platform})
    assert platform.cards == []  # waits for its retry time
    clock.now += timedelta(minutes=2)
    await app.outbox.deliver_due({"test": platform})
    assert platform.cards == [("flaky", "2511.00001")]
    assert store.rows(DeliveryRows).delivery_counts() == {"sent": 1}


async def test_crash_between_send_and_record_repeats_only_that_card(
    app: App, store: Store, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(1), make_paper(2)]
    await follow(app, "c", "cs.CV")
    await app.polling.poll()
    platform = RecordingPlatform()
    platform.crash_after_send = True
    with pytest.raises(Killed):
        await app.outbox.deliver_due({"test": platform})
    platform.crash_after_send = False
    await app.outbox.deliver_due({"test": platform})
    assert platform.cards == [("c", "2511.00001"), ("c", "2511.00001"), ("c", "2511.00002")]
    assert store.rows(DeliveryRows).delivery_counts() == {"sent": 2}


async def test_paper_lookup_and_cached_summary(
    app: App, store: Store, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.papers = [make_paper(7, title="Cached")]
    paper = await app.papers.paper(parse_arxiv_id("https://arxiv.org/abs/2511.00007"))
    card = await app.papers.card(paper, "en")
    assert card.paper.title == "Cached" and card.summary.source == "extractive"
    assert card.pdf_url == f"{fake_arxiv.base}/pdf/2511.00007v1"
    assert store.rows(SummaryRows).db["summaries"].count == 1
    assert (await app.papers.card(paper, "en")).summary == card.summary
    assert store.rows(SummaryRows).db["summaries"].count == 1
    with pytest.raises(PaperNotFound, match=r"no arXiv paper 2404\.99999"):
        await app.papers.paper(parse_arxiv_id("2404.99999"))
    with pytest.raises(PaperNotFound):
        await app.papers.paper(parse_arxiv_id("2511.00007v4"))


async def test_one_chat_crashing_does_not_stop_the_others(
    app: App, store: Store, fake_arxiv: FakeArxiv
) -> None:
    await one_paper_queued(app, fake_arxiv, "ok")
    await follow(app, "bad", "cs.CV")
    await app.polling.poll()

    class Picky(RecordingPlatform):
        async def send_card(self, chat: Chat, card: Card) -> None:
            if chat.chat_id == "ok":
                raise RuntimeError("renderer bug")
            await super().send_card(chat, card)

    platform = Picky()
    report = await app.outbox.deliver_due({"test": platform})
    assert platform.cards == [("bad", "2511.00001")]
    assert report.failed == ["test:ok: renderer bug"]


async def test_a_stored_topic_that_no_longer_parses_is_skipped(
    app: App, store: Store, fake_arxiv: FakeArxiv, clock: FakeClock
) -> None:
    chat = await one_paper_queued(app, fake_arxiv, "a")
    store.rows(ChatRows).subscribe(chat.id, ["cs.NOPE"], iso(clock.now))
    report = await app.polling.poll()
    assert report.topics == 1 and report.errors == []


async def test_a_chat_moves_to_its_new_id_unless_that_id_is_taken(
    app: App, store: Store, fake_arxiv: FakeArxiv
) -> None:
    chat = await one_paper_queued(app, fake_arxiv, "old")
    await app.chats.set_active(chat, False, "upgraded")
    await app.chats.move_chat(ChatRef("test", "old"), "new")
    moved = store.rows(ChatRows).chat("test", "new")
    assert (moved["id"], moved["active"], moved["paused_reason"]) == (chat.id, 1, None)
    assert pending_ids(store, chat) == ["2511.00001"]

    other = await app.chats.chat(ChatRef("test", "other"))
    await app.chats.move_chat(ChatRef("test", "new"), "other")
    assert store.rows(ChatRows).chat("test", "new")["id"] == chat.id
    assert store.rows(ChatRows).chat("test", "other")["id"] == other.id
    await app.chats.move_chat(ChatRef("test", "unknown"), "x")
    assert store.rows(ChatRows).chat("test", "x") is None


async def test_two_deliveries_to_one_chat_at_once_send_each_paper_once(
    app: App, store: Store, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(1), make_paper(2)]
    chat = await follow(app, "c", "cs.CV")
    await app.polling.poll()

    class Slow(RecordingPlatform):
        async def send_card(self, chat: Chat, card: Card) -> None:
            await asyncio.sleep(0.01)  # the other delivery runs meanwhile
            await super().send_card(chat, card)

    platform = Slow()
    await asyncio.gather(
        app.outbox.deliver_chat(chat, platform), app.outbox.deliver_due({"test": platform})
    )
    assert platform.cards == [("c", "2511.00001"), ("c", "2511.00002")]


async def test_digest_failing_half_way_repeats_only_what_did_not_arrive(
    app: App, store: Store, fake_arxiv: FakeArxiv, clock: FakeClock
) -> None:
    class OneMessagePerPaper(RecordingPlatform):
        """Sends a digest as one message per paper and breaks after `breaks_after`."""

        breaks_after: int | None = 2

        async def send_digest(self, chat: Chat, digest: Digest, sent: Sent) -> None:
            for number, item in enumerate([*digest.cards, *digest.listed]):
                if number == self.breaks_after:
                    raise DeliveryFailed("HTTP 502")
                self.cards.append((chat.chat_id, item.paper.id))
                await sent([item.paper.id])

    fake_arxiv.feeds["cs.CV"] = [make_paper(i) for i in range(1, 6)]
    chat = await follow(app, "d", "cs.CV")
    await app.chats.change_setting(chat, "max", "2")  # five papers: a digest
    await app.polling.poll()
    platform = OneMessagePerPaper()
    report = await app.outbox.deliver_due({"test": platform})
    assert report.papers == 2 and report.failed
    assert sorted(pending_ids(store, chat)) == ["2511.00003", "2511.00004", "2511.00005"]

    platform.breaks_after = None
    clock.now += timedelta(hours=1)  # past the retry time
    await app.outbox.deliver_due({"test": platform})
    assert [paper for _, paper in platform.cards] == [f"2511.0000{i}" for i in range(1, 6)]
    assert store.rows(DeliveryRows).delivery_counts() == {"sent": 5}
