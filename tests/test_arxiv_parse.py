from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.arxiv.parse import (
    ArxivQueryError,
    MalformedFeed,
    parse_api_response,
    parse_oai,
    parse_rss,
)


def load(fixtures: Path, name: str) -> bytes:
    return (fixtures / name).read_bytes()


def test_single_entry(fixtures: Path) -> None:
    page = parse_api_response(load(fixtures, "arxiv_api/id_list_2104.12255v1_single_2026.xml"))
    (paper,) = page.papers
    assert (paper.id, paper.version, paper.title) == ("2104.12255", 1, "0")
    assert paper.authors == ("Quan Thoi Minh Nguyen",)
    assert paper.categories == ("cs.CR",) and paper.primary_category == "cs.CR"
    assert paper.published == datetime(2021, 4, 20, 16, 7, 14, tzinfo=UTC)
    assert paper.abstract.startswith("What is the funniest number in cryptography? 0.")
    assert page.total == 1


def test_old_style_id_with_journal_ref(fixtures: Path) -> None:
    name = "arxiv_api/id_list_astro-ph_0601001_oldstyle_id_affiliation_journalref_2026.xml"
    (paper,) = parse_api_response(load(fixtures, name)).papers
    assert paper.id == "astro-ph/0601001"
    assert paper.versioned_id == "astro-ph/0601001v1"
    assert paper.authors == ("Andrew Gould", "Susan Dorsher", "B. Scott Gaudi", "Andrzej Udalski")
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.venue == "ActaAstron.56:1-50,2006"
    assert paper.comment.startswith("62 pages including 16 figures")
    assert paper.links == {
        "project": "http://www.astronomy.ohio-state.edu/~gould/ogle_hot_jupiters.ps.gz"
    }
    assert paper.abs_url == "https://arxiv.org/abs/astro-ph/0601001"


def test_non_ascii_author_and_missing_id(fixtures: Path) -> None:
    name = "arxiv_api/id_list_two_ids_one_missing_utf8_author_2026.xml"
    papers = parse_api_response(load(fixtures, name)).papers
    assert len(papers) == 1
    assert any(any(ord(ch) > 127 for ch in a) for a in papers[0].authors)


def test_search_page_with_doi(fixtures: Path) -> None:
    page = parse_api_response(load(fixtures, "arxiv_api/search_all-testing_10_entries_2026.xml"))
    assert len(page.papers) == 10 and page.total == 214881
    assert sum(1 for p in page.papers if p.doi) == 6
    assert all(p.title and p.authors and p.abstract for p in page.papers)
    assert all("\n" not in p.title for p in page.papers)


def test_empty_and_error_results(fixtures: Path) -> None:
    page = parse_api_response(load(fixtures, "arxiv_api/empty_result_id_0000.0000_2026.xml"))
    assert (page.papers, page.total) == ([], 0)
    with pytest.raises(ArxivQueryError, match="incorrect id format for abc"):
        parse_api_response(load(fixtures, "arxiv_api/error_400_incorrect_id_format_abc_2026.xml"))


def test_malformed_xml() -> None:
    with pytest.raises(MalformedFeed):
        parse_api_response(b"<?xml version='1.0'?><feed><entry><id>http://arxiv.org/abs/1")
    with pytest.raises(MalformedFeed):
        parse_rss(b"<html><body>Service unavailable</body>")
    with pytest.raises(MalformedFeed):
        parse_rss(b"")


def test_real_rss_feed(fixtures: Path) -> None:
    listing = parse_rss(load(fixtures, "arxiv_rss/rss_quant-ph_2025-04-28.xml"))
    assert listing.day == date(2025, 4, 28)
    items = listing.items
    assert len(items) == 81
    assert Counter(i.announce_type for i in items) == {
        "new": 40,
        "replace": 22,
        "cross": 10,
        "replace-cross": 9,
    }
    assert sum(i.is_new for i in items) == 50
    first = items[0].paper
    assert (first.id, first.version) == ("2504.17830", 1)
    assert first.title == "Self-Adjoint Time Operator in a Weighted Energy Space"
    assert first.authors == ("Radmir Kokoulin",)
    assert first.abstract.startswith("We introduce a self-adjoint time operator")
    assert "Announce Type" not in first.abstract
    cross = next(i.paper for i in items if i.paper.id == "2504.17845")
    assert cross.categories == ("cond-mat.str-el", "quant-ph")
    assert cross.primary_category == "cond-mat.str-el"
    assert cross.authors[0] == "Seik Pak" and len(cross.authors) == 6
    assert all(i.paper.version >= 1 for i in items)
    assert any(i.paper.version > 1 for i in items if i.announce_type == "replace")


OAI_PAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2025-10-22T03:00:00Z</responseDate>
<request verb="ListRecords" metadataPrefix="arXiv" set="cs" from="2025-10-20">https://oaipmh.arxiv.org/oai</request>
<ListRecords>
<record><header><identifier>oai:arXiv.org:2510.17224</identifier><datestamp>2025-10-21</datestamp>
<setSpec>cs:cs:CV</setSpec></header><metadata>
<arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>2510.17224</id><created>2025-10-02</created>
<authors><author><keyname>M\xc3\xbcller</keyname><forenames>Anna</forenames></author>
<author><keyname>Wang</keyname><forenames>Wei</forenames></author></authors>
<title>Held for two weeks:
  a study</title><categories>cs.CV cs.GR</categories><comments>12 pages</comments>
<doi>10.1000/x</doi><abstract>  We study holds.  </abstract></arXiv></metadata></record>
<record><header status="deleted"><identifier>oai:arXiv.org:2510.00001</identifier>
<datestamp>2025-10-21</datestamp></header></record>
<record><header><identifier>oai:arXiv.org:2401.00001</identifier><datestamp>2025-10-21</datestamp>
</header><metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>2401.00001</id>
<created>2024-01-01</created><updated>2025-10-20</updated><title>Replaced</title>
<categories>cs.CV</categories><abstract>Again.</abstract></arXiv></metadata></record>
<resumptionToken cursor="0" completeListSize="3000">6825723|1001</resumptionToken>
</ListRecords></OAI-PMH>"""


def test_oai_records() -> None:
    harvest = parse_oai(OAI_PAGE)
    assert harvest.token == "6825723|1001"
    (held, stamp), (replaced, _) = harvest.records
    assert (held.id, held.version, stamp) == ("2510.17224", 1, date(2025, 10, 21))
    assert held.published == datetime(2025, 10, 2, tzinfo=UTC)
    assert held.title == "Held for two weeks: a study"
    assert held.authors == ("Anna M\u00fcller", "Wei Wang")
    assert (held.categories, held.primary_category) == (("cs.CV", "cs.GR"), "cs.CV")
    assert (held.comment, held.doi, held.abstract) == ("12 pages", "10.1000/x", "We study holds.")
    assert (replaced.version, replaced.updated) == (2, datetime(2025, 10, 20, tzinfo=UTC))


def test_oai_errors() -> None:
    def error(code: str) -> bytes:
        return (
            b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            + f'<error code="{code}">no luck</error></OAI-PMH>'.encode()
        )

    assert parse_oai(error("noRecordsMatch")).records == []
    with pytest.raises(ArxivQueryError, match="badArgument"):
        parse_oai(error("badArgument"))
    with pytest.raises(MalformedFeed):
        parse_oai(b"<html>busy")
