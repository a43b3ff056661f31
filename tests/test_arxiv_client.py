"""The arXiv client against the local fake server: retries, limits, bad answers."""

from datetime import date, timedelta

import httpx
import pytest

from bot.arxiv.client import ArxivClient
from bot.arxiv.parse import ArxivQueryError
from bot.config import Settings
from bot.retry import RetryPolicy, ServiceUnavailable
from tests.conftest import SleepLog
from tests.fake_arxiv import FakeArxiv, Scripted, atom_feed, make_paper


async def test_503_with_retry_after_is_waited_then_retried(
    client: ArxivClient, fake_arxiv: FakeArxiv, sleeps: SleepLog
) -> None:
    fake_arxiv.papers = [make_paper(1, title="Radiance fields")]
    fake_arxiv.api_script.append(Scripted(503, b"busy", {"Retry-After": "7"}))
    page = await client.search('ti:"radiance"')
    assert [p.id for p in page.papers] == ["2511.00001"]
    assert sleeps.waits == [7.0]
    assert len(fake_arxiv.api_requests()) == 2


async def test_429_and_500_backoff_then_give_up(
    client: ArxivClient, fake_arxiv: FakeArxiv, sleeps: SleepLog
) -> None:
    fake_arxiv.api_script.extend([Scripted(429), Scripted(500), Scripted(502)])
    with pytest.raises(ServiceUnavailable, match=r"HTTP 502 \(after 3 attempts\)"):
        await client.search("cat:cs.CV")
    assert len(sleeps.waits) == 2
    assert all(0 < w <= 2.0 for w in sleeps.waits)


async def test_spurious_empty_page_is_retried(
    client: ArxivClient, fake_arxiv: FakeArxiv, sleeps: SleepLog
) -> None:
    fake_arxiv.papers = [make_paper(i) for i in range(3)]
    fake_arxiv.api_script.append(Scripted(body=atom_feed([], total=3, start=0)))
    page = await client.search("cat:cs.CV")
    assert len(page.papers) == 3
    assert len(fake_arxiv.api_requests()) == 2


async def test_malformed_xml_is_retried(client: ArxivClient, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.papers = [make_paper(1)]
    fake_arxiv.api_script.append(Scripted(body=b"<?xml version='1.0'?><feed><entry>"))
    assert len((await client.search("cat:cs.CV")).papers) == 1


async def test_error_entry_is_not_retried(
    client: ArxivClient, fake_arxiv: FakeArxiv, fixtures
) -> None:
    body = (fixtures / "arxiv_api/error_400_incorrect_id_format_abc_2026.xml").read_bytes()
    fake_arxiv.api_script.append(Scripted(400, body))
    with pytest.raises(ArxivQueryError, match="incorrect id format"):
        await client.papers(["abc"])
    assert len(fake_arxiv.api_requests()) == 1


async def test_timeout_then_success(settings: Settings, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.papers = [make_paper(1)]
    fake_arxiv.api_script.append(Scripted(delay=1.0))
    sleeps = SleepLog()
    http = httpx.AsyncClient(timeout=httpx.Timeout(0.3))
    arxiv = ArxivClient(settings, http, policy=RetryPolicy(attempts=2), sleep=sleeps)
    try:
        assert len((await arxiv.search("cat:cs.CV")).papers) == 1
    finally:
        await arxiv.aclose()
    assert len(sleeps.waits) == 1


async def test_delay_between_api_requests(settings: Settings, fake_arxiv: FakeArxiv) -> None:
    sleeps = SleepLog()
    spaced = Settings.from_env({**fake_arxiv.env, "PAPERBOT_ARXIV_DELAY": "3"}, None)
    arxiv = ArxivClient(spaced, httpx.AsyncClient(), sleep=sleeps)
    try:
        for _ in range(3):
            await arxiv.search("cat:cs.CV")
        await arxiv.feed("cs.CV")
    finally:
        await arxiv.aclose()
    assert len(sleeps.waits) == 2
    assert all(2.5 < w <= 3.0 for w in sleeps.waits)
    assert (arxiv.counts.api, arxiv.counts.rss) == (3, 1)


async def test_rss_feed_and_its_failures(
    client: ArxivClient, fake_arxiv: FakeArxiv, fixtures
) -> None:
    body = (fixtures / "arxiv_rss/rss_quant-ph_2025-04-28.xml").read_bytes()
    fake_arxiv.rss_script.extend(
        [
            Scripted(503, headers={"Retry-After": "1"}),
            Scripted(body=b"<html>oops"),
            Scripted(body=body),
        ]
    )
    listing = await client.feed("quant-ph")
    assert len(listing.items) == 81
    assert fake_arxiv.rss_requests() == ["/rss/quant-ph"] * 3


async def test_lookup_by_ids(client: ArxivClient, fake_arxiv: FakeArxiv, fixtures) -> None:
    name = "arxiv_api/id_list_astro-ph_0601001_oldstyle_id_affiliation_journalref_2026.xml"
    fake_arxiv.raw_ids["astro-ph/0601001"] = (fixtures / name).read_bytes()
    (paper,) = await client.papers(["astro-ph/0601001"])
    assert paper.title.startswith("Frequency of Hot Jupiters")
    assert await client.papers(["2404.99999"]) == []


async def test_oai_harvest_follows_resumption_tokens_and_flow_control(
    client: ArxivClient, fake_arxiv: FakeArxiv, sleeps: SleepLog
) -> None:
    day = date(2025, 10, 21)
    fake_arxiv.papers = [
        make_paper(1, authors=["Ben Mildenhall"], announced=day),
        make_paper(2, categories=["quant-ph"], announced=day),
        make_paper(3, categories=["cs.GR", "cs.CV"], announced=day),
        make_paper(4, version=2, announced=day),
        make_paper(5, announced=day - timedelta(days=3)),
    ]
    fake_arxiv.oai_page_size = 1
    fake_arxiv.oai_script.append(Scripted(503, headers={"Retry-After": "5"}))
    records = await client.harvest("cs", day - timedelta(days=1))
    assert [(p.id, p.version, stamp) for p, stamp in records] == [
        ("2511.00001", 1, day),
        ("2511.00003", 1, day),
        ("2511.00004", 2, day),
    ]
    assert records[0][0].authors == ("Ben Mildenhall",)
    assert records[1][0].categories == ("cs.GR", "cs.CV")
    first, again, *rest = fake_arxiv.oai_requests()  # 503, then after its Retry-After
    assert first == again and sleeps.waits == [5.0]
    assert (first["set"], first["from"], first["metadataPrefix"]) == ("cs", "2025-10-20", "arXiv")
    assert [r["resumptionToken"] for r in rest] == ["1|cs|2025-10-20", "2|cs|2025-10-20"]
    assert (await client.harvest("quant-ph", day))[0][0].id == "2511.00002"
    assert fake_arxiv.oai_requests()[-1]["set"] == "physics:quant-ph"
