"""Faults during a poll: arXiv, the summarizer and the platforms fail; the poll
completes what it can, the rest arrives once the fault clears, nothing twice."""

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from bot.app import App, build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chats import ChatRef
from bot.config import Settings
from bot.delivery import ChatUnavailable, DeliveryFailed, MessageRejected
from bot.figures import NoFigures
from bot.models import Card, Chat, Paper, Summary
from bot.retry import RetryPolicy
from bot.runner import Runner
from bot.stats import stats as gather_stats
from bot.summarize import ModelUnavailable, SummaryRun
from bot.summarize.extractive import ExtractiveSummarizer
from bot.topics import parse_topic
from storage.chats import ChatRows
from storage.database import Store
from storage.outbox import DeliveryRows
from storage.papers import SummaryRows
from tests.conftest import SleepLog
from tests.fake_arxiv import FakeArxiv, Scripted, atom_feed, make_paper
from tests.sim import FakeClock, SimPlatform, Ticker
from tests.sim import clock as clock  # fixtures
from tests.sim import platform as platform
from tests.test_service import follow


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
async def quick(
    settings: Settings, store: Store, clock: FakeClock, ticker: Ticker
) -> AsyncIterator[App]:
    """A app whose arXiv client times out after 0.2 s and has a movable clock."""
    http = httpx.AsyncClient(timeout=httpx.Timeout(0.2))
    client = ArxivClient(
        settings, http, policy=RetryPolicy(attempts=3), sleep=SleepLog(), clock=ticker
    )
    yield build_app(
        settings, store, ArxivSource(client), ExtractiveSummarizer(), NoFigures(), clock
    )
    await client.aclose()


def later(clock: FakeClock, **delta: float) -> None:
    clock.now += timedelta(**delta)


MALFORMED_RSS = b"<?xml version='1.0'?><rss><channel><item><title>cut"


@pytest.mark.parametrize(
    ("source", "fault"),
    [
        ("rss", Scripted(503, b"busy", {"Retry-After": "0"})),
        ("rss", Scripted(delay=0.6)),
        ("rss", Scripted(body=MALFORMED_RSS)),
        ("api", Scripted(500)),
        ("api", Scripted(body=atom_feed([], total=3, start=0))),
        ("api", Scripted(delay=0.6)),
    ],
    ids=["rss-503", "rss-timeout", "rss-malformed", "api-500", "api-empty", "api-timeout"],
)
async def test_arxiv_fault_delays_only_what_it_touches(
    quick: App,
    store: Store,
    fake_arxiv: FakeArxiv,
    platform: SimPlatform,
    source: str,
    fault: Scripted,
) -> None:
    await follow(quick, "a", "cs.CV", "cs.GR", "radiance field")
    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    fake_arxiv.feeds["cs.GR"] = [make_paper(2, categories=["cs.GR"])]
    fake_arxiv.papers = [make_paper(3, title="Radiance field rendering")]
    (fake_arxiv.rss_script if source == "rss" else fake_arxiv.api_script).extend([fault] * 3)
    runner = Runner(quick, {"test": platform}, 3600)

    await runner.poll()
    report = await gather_stats(quick.store)
    failed = {"rss": {"2511.00001"}, "api": {"2511.00003"}}[source]
    assert set(platform.received()) == {
        ("a", p) for p in {"2511.00001", "2511.00002", "2511.00003"} - failed
    }
    assert report["last_poll_result"].endswith("1 errors")

    await runner.poll()  # the fault has cleared
    assert platform.received() == {("a", p): 1 for p in ("2511.00001", "2511.00002", "2511.00003")}


async def test_arxiv_down_is_left_alone_then_probed(
    quick: App, fake_arxiv: FakeArxiv, platform: SimPlatform, ticker: Ticker
) -> None:
    categories = ["cs.AI", "cs.CL", "cs.CV", "cs.GR", "cs.LG"]
    await follow(quick, "a", *categories)
    for number, category in enumerate(categories, 1):
        fake_arxiv.feeds[category] = [make_paper(number, categories=[category])]
    fake_arxiv.rss_script.extend([Scripted(503, headers={"Retry-After": "0"})] * 9)
    runner = Runner(quick, {"test": platform}, 3600)

    await runner.poll()
    assert len(fake_arxiv.rss_requests()) == 9  # three feeds, three attempts each, then none
    last = await gather_stats(quick.store)
    assert "arXiv RSS is down; next try in 300s" in last["last_poll_result"]
    assert last["last_successful_poll"] == "never"
    await runner.poll()
    assert len(fake_arxiv.rss_requests()) == 9 and platform.sent == []

    ticker.now += 300  # the probe finds arXiv back
    await runner.poll()
    assert len(platform.received()) == 5 and max(platform.received().values()) == 1


async def test_platform_5xx_and_429_are_retried_after_their_wait(
    app: App,
    store: Store,
    fake_arxiv: FakeArxiv,
    clock: FakeClock,
    platform: SimPlatform,
) -> None:
    await follow(app, "a", "cs.CV")
    await follow(app, "b", "cs.CV")
    fake_arxiv.feeds["cs.CV"] = [make_paper(1), make_paper(2)]
    platform.failures = [
        DeliveryFailed("HTTP 502"),
        None,
        DeliveryFailed("HTTP 429", retry_after=600),
    ]
    runner = Runner(app, {"test": platform}, 3600)

    await runner.poll()
    assert platform.received() == {("b", "2511.00001"): 1}
    (first, second) = store.rows(DeliveryRows).unsent(1)
    assert (first["attempts"], first["last_error"], second["attempts"]) == (1, "HTTP 502", 0)
    later(clock, minutes=2)
    await runner.tick()
    assert set(platform.received()) == {
        ("a", "2511.00001"),
        ("a", "2511.00002"),
        ("b", "2511.00001"),
    }
    later(clock, minutes=7)
    await runner.tick()
    assert ("b", "2511.00002") not in platform.received()  # Retry-After: 600 s
    later(clock, minutes=1)
    await runner.tick()
    assert platform.received() == {(c, p): 1 for c in "ab" for p in ("2511.00001", "2511.00002")}
    assert store.rows(DeliveryRows).delivery_counts() == {"sent": 4}


async def test_blocked_chat_is_paused_without_holding_up_others(
    app: App,
    store: Store,
    fake_arxiv: FakeArxiv,
    clock: FakeClock,
    platform: SimPlatform,
) -> None:
    gone = await follow(app, "gone", "cs.CV")
    await follow(app, "ok", "cs.CV")
    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    platform.failures = [ChatUnavailable("Forbidden: bot was kicked")]
    runner = Runner(app, {"test": platform}, 3600)
    await runner.poll()
    assert platform.received() == {("ok", "2511.00001"): 1}
    assert store.rows(ChatRows).chat_by_id(gone.id)["paused_reason"] == "Forbidden: bot was kicked"

    fake_arxiv.feeds["cs.CV"] = [make_paper(2)]
    later(clock, hours=1)
    await runner.poll()
    assert platform.to("gone") == []
    assert [d["paper_id"] for d in store.rows(DeliveryRows).unsent(gone.id)] == [
        "2511.00001"
    ]  # kept
    await app.chats.set_active(gone, True)
    await runner.tick()
    assert platform.received()[("gone", "2511.00001")] == 1


async def test_platform_down_opens_its_circuit_and_others_go_on(
    app: App, store: Store, fake_arxiv: FakeArxiv, clock: FakeClock
) -> None:
    down, other = SimPlatform(clock, "down"), SimPlatform(clock, "other")
    for ref in [ChatRef("down", str(n)) for n in range(8)] + [ChatRef("other", "x")]:
        chat = await app.chats.chat(ref)
        await app.chats.subscribe(chat, [parse_topic("cs.CV")])
    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    down.always_fail = DeliveryFailed("HTTP 503")
    runner = Runner(app, {"down": down, "other": other}, 3600)

    await runner.poll()
    assert other.received() == {("x", "2511.00001"): 1}
    attempts = [
        d["attempts"]
        for d in store.rows(DeliveryRows).db["deliveries"].rows_where("status = 'pending'")
    ]
    assert sorted(attempts) == [0, 0, 0, 0, 1, 1, 1, 1]  # the fifth failure opened the circuit
    for minutes in (1, 2, 4, 8):  # probes, each failing, charge nothing
        later(clock, minutes=minutes)
        await runner.tick()
    assert app.outbox.circuit("down").state == "open"

    down.always_fail = None
    later(clock, minutes=16)
    await runner.tick()
    assert down.received() == {(str(n), "2511.00001"): 1 for n in range(8)}
    assert store.rows(DeliveryRows).delivery_counts() == {"sent": 9}


async def test_a_message_that_keeps_failing_is_given_up_and_sent_on_request(
    app: App, store: Store, fake_arxiv: FakeArxiv, clock: FakeClock
) -> None:
    class Picky(SimPlatform):
        fixed = False

        async def send_card(self, chat: Chat, card: Card) -> None:
            if card.paper.id == "2511.00001" and not self.fixed:
                raise MessageRejected("Bad Request: message is too long")
            await super().send_card(chat, card)

    platform = Picky(clock)
    chat = await follow(app, "p", "cs.CV")
    fake_arxiv.feeds["cs.CV"] = [make_paper(1), make_paper(2)]
    runner = Runner(app, {"test": platform}, 3600)
    await runner.poll()
    for _ in range(12):
        later(clock, hours=6)
        await runner.tick()
    assert platform.received() == {("p", "2511.00002"): 1}
    assert store.rows(DeliveryRows).delivery_counts() == {"failed": 1, "sent": 1}
    figures = await gather_stats(app.store)
    assert (figures["deliveries_failed"], figures["deliveries_pending"]) == (1, 0)

    platform.fixed = True
    report = await app.outbox.deliver_chat(chat, platform)  # what /digest does
    assert report.cards == 1
    assert platform.received() == {("p", "2511.00001"): 1, ("p", "2511.00002"): 1}


async def test_model_failure_still_delivers_with_the_extractive_summary(
    app: App,
    store: Store,
    fake_arxiv: FakeArxiv,
    clock: FakeClock,
    platform: SimPlatform,
) -> None:
    class Failing(ExtractiveSummarizer):
        model = "failing-model"

        async def summarize(
            self,
            paper: Paper,
            language: str,
            fulltext: str | None = None,
            run: SummaryRun | None = None,
        ) -> Summary:
            raise ModelUnavailable("model: HTTP 500")

    app.summaries.summarizer = Failing()
    await follow(app, "m", "cs.CV")
    fake_arxiv.feeds["cs.CV"] = [make_paper(1)]
    runner = Runner(app, {"test": platform}, 3600)
    await runner.poll()
    assert platform.received() == {("m", "2511.00001"): 1}
    stored = store.rows(SummaryRows).summary("2511.00001", 1, "en", "failing-model")
    assert (stored["source"], stored["grounding"]) == ("extractive", "fallback")
    assert stored["retry_at"] is not None
