"""Query planning and polling: few requests, correct assignment, paging stops."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.arxiv.client import ArxivClient
from bot.arxiv.source import GROUP_SIZE, MAX_QUERY_CHARS, ArxivSource, Window, plan
from bot.topics import Topic, parse_topic
from tests.fake_arxiv import FakeArxiv, make_paper


def topics(*texts: str):
    return [parse_topic(t) for t in texts]


def windows(wanted: list[Topic], cutoff: datetime, since: datetime | None = None):
    return dict.fromkeys(wanted, Window(since or cutoff, cutoff))


async def nothing_known(ids) -> dict[str, datetime]:
    return {}


def now() -> datetime:
    return datetime.now(UTC)


def test_plan_groups_keywords_and_reads_feeds_once() -> None:
    keywords = [f"keyword number {i}" for i in range(45)]
    todo = plan(
        topics(
            *keywords,
            "cs.CV",
            "cs.cv",
            "NeRF in:cs.CV,cs.GR",
            "au:Mildenhall",
            'q:cat:cs.CV AND abs:"radiance field"',
            "q:ti:diffusion",
        )
    )
    assert list(todo.listings) == ["cs", "cs.CV", "cs.GR"]
    assert [t.canonical for t in todo.listings["cs.CV"]] == ["cs.CV", "nerf in:cs.CV,cs.GR"]
    assert len(todo.listings["cs"]) == 46  # every plain keyword and author, in the archive
    assert [len(g.topics) for g in todo.groups] == [20, 20, 6]
    assert [q.query for q in todo.queries] == ['cat:cs.CV AND abs:"radiance field"', "ti:diffusion"]
    groups = todo.groups + todo.queries
    assert all(len(g.query) <= MAX_QUERY_CHARS for g in groups)
    assert len(groups[0].topics) == GROUP_SIZE
    for group in groups:
        assert all(group.query.count(f"({t.api_clause})") == 1 for t in group.topics[1:])


def test_long_topics_split_by_query_length() -> None:
    long_topics = topics(*[f"{'verylongword ' * 14}{i}" for i in range(20)])
    groups = plan(long_topics).groups
    assert len(groups) > 1
    assert all(len(g.query) <= MAX_QUERY_CHARS for g in groups)
    assert sum(len(g.topics) for g in groups) == 20


async def test_poll_assigns_papers_to_every_matching_topic(
    client: ArxivClient, fake_arxiv: FakeArxiv
) -> None:
    cv = make_paper(1, title="NeRF for robots", categories=["cs.CV"])
    cross = make_paper(2, title="Splats", categories=["cs.GR", "cs.CV"], announce_type="cross")
    replaced = make_paper(
        3, title="Old NeRF", categories=["cs.CV"], announce_type="replace", version=2
    )
    fake_arxiv.feeds["cs.CV"] = [cv, cross, replaced]
    fake_arxiv.papers = [
        make_paper(10, abstract="We study gaussian splatting for cities."),
        make_paper(11, authors=["Ben Mildenhall"], abstract="Views."),
        make_paper(12, abstract="Unrelated physics.", categories=["physics.optics"]),
    ]
    wanted = topics("cs.CV", "NeRF in:cs.CV", "gaussian splatting", "au:Mildenhall", "nerf")
    cutoff = datetime.now(UTC) - timedelta(days=2)
    found = await ArxivSource(client).poll(wanted, windows(wanted, cutoff), nothing_known, now())
    hits = {t.canonical: ids for t, ids in found.hits.items()}
    assert hits["cs.CV"] == ["2511.00001", "2511.00002"]
    assert hits["nerf in:cs.CV"] == ["2511.00001"]
    assert hits["gaussian splatting"] == ["2511.00010"]
    assert hits["au:mildenhall"] == ["2511.00011"]
    assert hits["nerf"] == ["2511.00001"]  # listed in the cs archive
    assert "2511.00003" in found.papers and found.papers["2511.00003"].version == 2
    assert fake_arxiv.rss_requests() == ["/rss/cs", "/rss/cs.CV"]
    (query,) = [r["search_query"] for r in fake_arxiv.api_requests()]
    assert query == (
        '(au:"mildenhall") OR ((ti:"gaussian splatting" OR abs:"gaussian splatting")) '
        'OR ((ti:"nerf" OR abs:"nerf"))'
    )
    assert found.errors == []


async def test_paging_stops_at_cutoff(client: ArxivClient, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.papers = [
        make_paper(i, title="Diffusion model", age=timedelta(hours=i)) for i in range(1, 400)
    ]
    wanted = topics("diffusion model")
    cutoff = datetime.now(UTC) - timedelta(hours=150)
    found = await ArxivSource(client).poll(wanted, windows(wanted, cutoff), nothing_known, now())
    assert [r["start"] for r in fake_arxiv.api_requests()] == ["0", "100"]
    assert len(found.hits[wanted[0]]) == 149


async def test_paging_stops_at_known_papers(client: ArxivClient, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.papers = [
        make_paper(i, title="Diffusion model", age=timedelta(minutes=i)) for i in range(1, 400)
    ]
    wanted = topics("diffusion model")
    old = datetime.now(UTC) - timedelta(days=30)

    async def known(ids) -> dict[str, datetime]:
        return {i: old for i in ids if int(i.split(".")[1]) > 100}

    await ArxivSource(client).poll(wanted, windows(wanted, old), known, now())
    assert [r["start"] for r in fake_arxiv.api_requests()] == ["0", "100"]


async def test_one_failing_feed_does_not_stop_the_poll(
    client: ArxivClient, fake_arxiv: FakeArxiv
) -> None:
    from tests.fake_arxiv import Scripted

    fake_arxiv.feeds["cs.GR"] = [make_paper(5, categories=["cs.GR"])]
    fake_arxiv.rss_script.extend([Scripted(503)] * 3)
    wanted = topics("cs.CV", "cs.GR")
    found = await ArxivSource(client).poll(wanted, {}, nothing_known, now())
    assert found.errors and "RSS cs.CV" in found.errors[0]
    assert {t.canonical: ids for t, ids in found.hits.items()} == {"cs.GR": ["2511.00005"]}


async def test_a_listing_at_arxivs_limit_is_reported(
    client: ArxivClient, fake_arxiv: FakeArxiv, caplog: pytest.LogCaptureFixture
) -> None:
    fake_arxiv.feeds["cs.LG"] = [make_paper(n, categories=["cs.LG"]) for n in range(2000)]
    wanted = topics("cs.LG")
    found = await ArxivSource(client).poll(wanted, windows(wanted, now()), nothing_known, now())
    assert len(found.hits[wanted[0]]) == 2000
    assert "listing cs.LG has 2000 items, arXiv's limit: it may be cut short" in caplog.text
