"""Rendering of cards and digests (handlers/render.py) with real arXiv fixture papers."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.arxiv.parse import parse_api_response
from bot.i18n import labels
from bot.models import Card, Digest, Figure, Listed, Paper, Summary
from bot.summarize.clean import clean
from handlers.escape import escape_markdown, yaml_scalar
from handlers.render import (
    card_json,
    card_markdown,
    card_text,
    digest_hexo,
    digest_json,
    digest_markdown,
    digest_text,
)

markdown_it = pytest.importorskip("markdown_it")

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv_api"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_7eb6023a4ac8f43e.txt"
SEED_KEYS = [
    "title",
    "date",
    "author",
    "cover",
    "categories",
    "tags",
    "description",
    "keywords",
    "toc",
    "toc_number",
    "toc_style_simple",
    "copyright",
    "copyright_author",
    "copyright_author_href",
    "copyright_url",
    "copyright_info",
    "mathjax",
    "katex",
    "aplayer",
    "highlight_shrink",
    "aside",
]
PDF_BASE = "https://arxiv.org/pdf/"
LEFTOVER = re.compile(r"\bNone\b|xxx|N/A|\{\w*\}|\]\(\)|src=\"\"", re.IGNORECASE)
TRICKY_TITLE = r"*Fast* and __bold__ [x](y) <b>& $\alpha_1$ ~~gone~~ #1"

MD = markdown_it.MarkdownIt("commonmark").enable(["strikethrough", "table"])


def _papers(name: str) -> list[Paper]:
    return parse_api_response((FIXTURES / name).read_bytes()).papers


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    return _papers("search_all-testing_10_entries_2026.xml")


@pytest.fixture(scope="module")
def many_authors() -> Paper:
    (paper,) = _papers("id_list_two_ids_one_missing_utf8_author_2026.xml")
    assert len(paper.authors) > 6
    return paper


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s]


def _summary(paper: Paper, language: str = "en", **details: str) -> Summary:
    """An extractive-style summary built by hand from the paper's abstract sentences,
    cleaned as the summary cache serves every summary."""
    sentences = _sentences(paper.abstract)
    made = Summary(
        tldr=sentences[0],
        takeaways=sentences[1:4] or sentences[:1],
        language=language,
        model="extractive",
        source="extractive",
        **details,
    )
    return clean(made)


def _card(paper: Paper, language: str = "en", figure: Figure | None = None, **details) -> Card:
    return Card(
        paper=paper,
        summary=_summary(paper, language, **details),
        language=language,
        pdf_url=paper.pdf_url(PDF_BASE),
        figure=figure,
    )


def _rendered_text(markdown: str) -> str:
    """What a reader sees: the Markdown rendered to HTML, tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", MD.render(markdown)))


def _digest(cards: list[Card], language: str = "en", listed: list[Listed] | None = None) -> Digest:
    return Digest(
        cards=cards,
        topics=["testing", "cs.SE"],
        day=date(2026, 1, 5),
        language=language,
        listed=listed or [],
    )


def _listed(paper: Paper, score: float, language: str = "en") -> Listed:
    """`paper` as a digest lists it after its cards, with its first abstract sentence."""
    return Listed(paper, _sentences(paper.abstract)[0], language, score=score)


def _seed_keys() -> list[str]:
    if not SEED.exists():
        return SEED_KEYS
    return _front_matter_keys(SEED.read_text(encoding="utf-8"))


def _front_matter_keys(post: str) -> list[str]:
    block = post.strip().split("---")[1]
    return [m.group(1) for m in re.finditer(r"^([A-Za-z_]+):", block, re.MULTILINE)]


# ---------------------------------------------------------------- cards


def test_every_card_format_has_arxiv_title_first_author_and_links(papers: list[Paper]) -> None:
    for paper in papers:
        card = _card(paper)
        text, markdown, data = card_text(card), card_markdown(card), card_json(card)
        title = " ".join(paper.title.split())
        seen = _rendered_text(markdown)
        for output in (text, seen):
            assert title in output
            assert paper.authors[0] in output
        for output in (text, markdown):
            assert paper.abs_url in output
            assert card.pdf_url in output
            assert not LEFTOVER.search(output), output
        assert f"]({paper.abs_url})" in markdown
        assert f"]({card.pdf_url})" in markdown
        assert data["paper"]["title"] == paper.title
        assert data["paper"]["authors"][0] == paper.authors[0]
        assert data["paper"]["links"]["abs"] == paper.abs_url
        assert data["paper"]["links"]["pdf"] == card.pdf_url


def test_card_shows_category_date_venue_and_source(papers: list[Paper]) -> None:
    paper = next(p for p in papers if p.venue)
    card = _card(paper)
    lab = labels("en")
    for output in (card_text(card), _rendered_text(card_markdown(card))):
        assert paper.primary_category in output
        assert paper.first_version_date.isoformat() in output
        assert paper.venue in output
        assert lab["source_extractive"] in output
        assert card.summary.tldr in output
        for takeaway in card.summary.takeaways:
            assert takeaway in output


def test_many_authors_are_cut_on_the_card_but_not_in_the_blog_post(many_authors: Paper) -> None:
    card = _card(many_authors)
    sixth, seventh, last = (
        many_authors.authors[5],
        many_authors.authors[6],
        many_authors.authors[-1],
    )
    for output in (card_text(card), _rendered_text(card_markdown(card))):
        assert sixth in output
        assert f"{sixth} et al." in output
        assert seventh not in output
    post = digest_hexo(_digest([card]), now=datetime(2026, 1, 5, 9, 30))
    authors_line = "**Authors: " + ", ".join(many_authors.authors) + "**"
    assert authors_line in post
    assert last in post
    assert "et al." not in post
    assert card_json(card)["paper"]["authors"] == list(many_authors.authors)


def test_markdown_special_characters_in_a_title_render_literally(papers: list[Paper]) -> None:
    paper = replace(papers[0], title=TRICKY_TITLE, authors=("A_b *C*", *papers[0].authors[1:]))
    card = _card(paper)
    page = MD.render(card_markdown(card))
    heading = re.search(r"<h2>(.*?)</h2>", page, re.S)
    assert heading is not None
    link = re.fullmatch(r'<a href="([^"]+)">(.*)</a>', heading.group(1), re.S)
    assert link is not None, heading.group(1)
    assert link.group(1) == paper.abs_url
    assert "<" not in link.group(2)  # no bold, emphasis, link, strikethrough or raw <b>
    assert html.unescape(link.group(2)) == TRICKY_TITLE
    assert 'href="y"' not in page
    assert "<b>" not in page
    assert "A_b *C*" in _rendered_text(card_markdown(card))

    post = MD.render(digest_markdown(_digest([card])))
    section = re.search(r"<h2>(.*?)</h2>", post, re.S)
    assert section is not None
    assert html.unescape(section.group(1)) == TRICKY_TITLE
    assert 'href="y"' not in post


@pytest.mark.parametrize(
    "text",
    [
        TRICKY_TITLE,
        "1. Introduction",
        "# not a heading",
        "- not a bullet",
        "+ neither",
        "> not a quote",
        r"a \* b \_ c \\ d",
        "C# and F#",
        "Nunjucks {{ x }} and {% tag %}",
        "<https://example.org> &amp; &copy;",
        "`code` and ``more``",
        r"$\mathcal{O}(n^{2})$ with $\alpha_1$ and $x*y$",
        "Promises & Perils: 3 < 4 > 2",
    ],
)
def test_escape_markdown_renders_literally(text: str) -> None:
    escaped = escape_markdown(text)
    assert "\n" not in escaped
    page = MD.render(escaped)
    assert page.startswith("<p>") and page.endswith("</p>\n"), page
    assert html.unescape(page[3:-5]) == text


def test_escape_markdown_keeps_plain_text_readable() -> None:
    plain = "Active Fuzzing for Testing and Securing Cyber-Physical Systems: 3 < 4 & more"
    assert escape_markdown(plain) == plain
    assert escape_markdown("  several\n lines\tof text ") == "several lines of text"


def test_empty_summary_parts_produce_no_heading(papers: list[Paper]) -> None:
    lab = labels("en")
    bare = _card(papers[1])
    filled = _card(
        papers[1],
        background="Regression testing needs ordering.",
        method="",
        significance="None",
        novelty="N/A",
        limitations="xxx",
        keywords=["test prioritisation", "None"],
    )
    for card in (bare, filled):
        outputs = [
            card_text(card),
            card_markdown(card),
            digest_markdown(_digest([card])),
            digest_hexo(_digest([card]), now=datetime(2026, 1, 5)),
        ]
        for output in outputs:
            for key in ("prior_work", "method", "results", "conclusion", "significance"):
                assert lab[key] not in output
            assert not LEFTOVER.search(output), output
    for output in (card_text(bare), card_markdown(bare), digest_hexo(_digest([bare]))):
        assert lab["background"] not in output
        assert lab["keywords"] not in output
        assert lab["details"] not in output
    for output in (card_text(filled), card_markdown(filled), digest_hexo(_digest([filled]))):
        assert "Regression testing needs ordering." in output
        assert "test prioritisation" in output
    assert "<summary>Details</summary>" in digest_hexo(_digest([filled]))


def test_full_details_appear_in_the_seeds_order(papers: list[Paper]) -> None:
    lab = labels("en")
    card = _card(
        papers[2],
        background="B text.",
        prior_work="P text.",
        method="M text.",
        results="R text.",
        significance="S text.",
        novelty="N text.",
        limitations="L text.",
        keywords=["fuzzing", "CPS"],
    )
    names = ["background", "prior_work", "method", "results", "conclusion", "keywords"]
    for output in (card_text(card), card_markdown(card), digest_hexo(_digest([card]))):
        positions = [output.index(lab[name]) for name in names]
        assert positions == sorted(positions)
        for part in ("B text.", "P text.", "M text.", "R text.", "S text.", "N text.", "L text."):
            assert part in output


def test_card_figure_caption(papers: list[Paper]) -> None:
    captioned = Figure(number=1, page=2, caption="Figure 1: Overview of the approach.", image=b"")
    bare = Figure(number=2, page=3, caption="Results per tool.", image=b"")
    card = _card(papers[0], figure=captioned)
    assert "Figure 1: Overview of the approach." in card_text(card)
    assert "Figure 1: Figure 1" not in card_text(card)
    assert "Figure 1: Overview of the approach." in _rendered_text(card_markdown(card))
    assert "Figure 2: Results per tool." in card_text(replace(card, figure=bare))
    assert "Figure" not in card_text(_card(papers[0]))


def test_card_json_is_serializable_and_round_trips_the_summary(papers: list[Paper]) -> None:
    figure = Figure(number=1, page=2, caption="Figure 1: The pipeline.", image=b"\x89PNG")
    for paper in papers:
        card = _card(paper, figure=figure, background="Some background.")
        data = json.loads(json.dumps(card_json(card), ensure_ascii=False))
        assert Summary.model_validate(data["summary"]) == card.summary
        meta = data["paper"]
        assert meta["id"] == paper.id
        assert meta["version"] == paper.version
        assert meta["published"] == paper.first_version_date.isoformat()
        assert meta["categories"] == list(paper.categories)
        assert meta["primary_category"] == paper.primary_category
        assert meta["venue"] == paper.venue
        assert all(meta["links"].values())
        assert data["figure"] == {"number": 1, "page": 2, "caption": "Figure 1: The pipeline."}
    assert card_json(_card(papers[0]))["figure"] is None


def test_project_link_from_the_paper_is_shown() -> None:
    (paper,) = _papers("id_list_astro-ph_0601001_oldstyle_id_affiliation_journalref_2026.xml")
    url = paper.links["project"]
    card = _card(paper)
    assert f"[Project page]({url})" in card_markdown(card)
    assert url in card_text(card)
    assert card_json(card)["paper"]["links"]["project"] == url
    assert f"[Project page]({url})" in digest_hexo(_digest([card]))


def test_chinese_labels(many_authors: Paper) -> None:
    card = _card(many_authors, language="zh", background="背景。")
    zh = labels("zh")
    text, markdown = card_text(card), card_markdown(card)
    for output in (text, markdown):
        for key in ("authors", "category", "published", "tldr", "takeaways", "background"):
            assert zh[key] in output
        assert f"{many_authors.authors[5]} 等" in output
        assert zh["source_extractive"] in output
        assert "Authors" not in output
    post = digest_hexo(_digest([card], language="zh"), now=datetime(2026, 1, 5))
    assert "# 2026-01-05 更新" in post
    assert f"**{zh['summary']}**" in post
    assert f"**{zh['takeaways']}**" in post
    assert zh["blog_source_extractive"] in post


# ---------------------------------------------------------------- digests


def test_hexo_post_is_shaped_like_the_seeds(papers: list[Paper], many_authors: Paper) -> None:
    cards = [_card(paper) for paper in [*papers, many_authors]]
    links = {papers[0].id: [f"images/{papers[0].id}.png"]}
    post = digest_hexo(_digest(cards), figure_links=links, now=datetime(2026, 1, 5, 9, 30, 5))
    assert post.startswith("---\n")
    assert _front_matter_keys(post) == _seed_keys()
    front = post.split("---")[1]
    assert "\ntitle: testing, cs.SE\n" in front
    assert "\ndate: 2026-01-05 09:30:05\n" in front
    assert "\nauthor: paperbot\n" in front
    assert "\ncategories: Paper\n" in front
    assert "\ntags:\n    - testing\n    - cs.SE\n" in front
    assert "\nkeywords: testing, cs.SE\n" in front
    assert "\nmathjax: true\n" in front
    assert f"\ncover: images/{papers[0].id}.png\n" in front

    body = post.split("---", 2)[2]
    assert "\n> " in body
    assert labels("en")["blog_source_extractive"] in body
    assert "language model" not in body.split("\n# ")[0].replace("no language model", "")
    assert "\n# Update 2026-01-05\n" in body
    sections = body.split("\n## ")[1:]
    assert len(sections) == len(cards)
    for card, section in zip(cards, sections, strict=True):
        assert section.startswith(escape_markdown(card.paper.title) + "\n")
        assert "\n**Authors: " + ", ".join(card.paper.authors) + "**\n" in section
        assert f"[PDF]({card.pdf_url})" in section
        assert f"[arXiv]({card.paper.abs_url})" in section
        assert f"**Summary**\n{escape_markdown(card.summary.tldr)}" in section
        assert "**Key takeaways**\n- " in section
        assert escape_markdown(" ".join(card.paper.abstract.split())) in section
    assert f'<img src="images/{papers[0].id}.png"' in sections[0]
    assert "<summary>Figures</summary>" in sections[0]
    assert "<img" not in "".join(sections[1:])
    assert not LEFTOVER.search(post)


def test_hexo_front_matter_quotes_unsafe_values(papers: list[Paper]) -> None:
    topic = 'q:cat:cs.CV AND abs:"radiance field"'
    digest = Digest(cards=[_card(papers[0])], topics=[topic], day=date(2026, 1, 5), language="en")
    front = digest_hexo(digest, now=datetime(2026, 1, 5)).split("---")[1]
    title = re.search(r"^title: (.*)$", front, re.MULTILINE)
    assert title is not None
    assert json.loads(title.group(1)) == topic
    assert f"    - {json.dumps(topic)}" in front
    assert yaml_scalar("NeRF") == "NeRF"
    assert yaml_scalar("3DGS") == "3DGS"
    assert yaml_scalar("gaussian splatting, NeRF") == "gaussian splatting, NeRF"
    for unsafe in ("au:Mildenhall", "yes", "2024", "2024-04-01", "- x", "#tag", "*a", "C# x"):
        assert yaml_scalar(unsafe) == json.dumps(unsafe)


def test_disclaimer_names_the_language_model_truthfully(papers: list[Paper]) -> None:
    llm = _card(papers[0])
    llm = replace(
        llm,
        summary=llm.summary.model_copy(update={"model": "gemini-2.5-flash", "source": "abstract"}),
    )
    post = digest_hexo(_digest([llm]), now=datetime(2026, 1, 5))
    assert "a language model (gemini-2.5-flash)" in post
    assert labels("en")["blog_source_extractive"] not in post
    mixed = digest_hexo(_digest([llm, _card(papers[1])]), now=datetime(2026, 1, 5))
    assert "a language model (gemini-2.5-flash) and extracting sentences" in mixed


def test_digest_markdown(papers: list[Paper]) -> None:
    cards = [_card(paper) for paper in papers[:3]]
    links = {papers[1].id: ["figures/b.png"]}
    out = digest_markdown(_digest(cards), figure_links=links)
    assert out.startswith(
        "# arXiv digest · 2026-01-05\n\n3 new papers · **Topics**: testing, cs.SE"
    )
    assert not out.startswith("---")
    sections = out.split("\n## ")[1:]
    assert [s.split("\n", 1)[0] for s in sections] == [escape_markdown(p.title) for p in papers[:3]]
    assert '<img src="figures/b.png"' in sections[1]
    assert not LEFTOVER.search(out)
    assert "1 new paper ·" in digest_markdown(_digest(cards[:1]))


def test_empty_digest() -> None:
    digest = _digest([])
    assert "No new papers." in digest_markdown(digest)
    post = digest_hexo(digest, now=datetime(2026, 1, 5))
    assert "No new papers." in post
    assert _front_matter_keys(post) == _seed_keys()
    assert not LEFTOVER.search(post)
    assert json.loads(json.dumps(digest_json(digest)))["count"] == 0


def test_text_digest_lists_the_rest_with_scores_and_ids(papers: list[Paper]) -> None:
    cards = [_card(paper) for paper in papers[:2]]
    listed = [_listed(papers[2], 0.4567), _listed(papers[3], 0.1)]
    out = digest_text(_digest(cards, listed=listed))
    assert "\n4 new papers · Topics: testing, cs.SE" in out
    head, listing = out.split("More papers, best first; /summarize ID opens one, /why ID says why.")
    assert head.count("TL;DR: ") == 2 and "TL;DR" not in listing
    entries = listing.strip().split("\n\n")
    assert entries[0].splitlines() == [
        f"3. {' '.join(papers[2].title.split())} · 0.46 · {papers[2].id}",
        f"    {', '.join(papers[2].authors[:6])}"
        + (" et al." if len(papers[2].authors) > 6 else ""),
        f"    {listed[0].tldr}",
    ]
    assert entries[1].startswith(f"4. {' '.join(papers[3].title.split())} · 0.10 · {papers[3].id}")
    zh = digest_text(_digest([_card(papers[0], "zh")], "zh", [_listed(papers[1], 0.5, "zh")]))
    assert "/summarize ID 查看卡片" in zh and f"2. {' '.join(papers[1].title.split())}" in zh
    assert "More papers" not in digest_text(_digest(cards))


def test_digest_json(papers: list[Paper]) -> None:
    cards = [_card(paper) for paper in papers]
    data = json.loads(json.dumps(digest_json(_digest(cards))))
    assert data["day"] == "2026-01-05"
    assert data["topics"] == ["testing", "cs.SE"]
    assert [c["paper"]["id"] for c in data["cards"]] == [p.id for p in papers]
    assert data["cards"][0]["summary"] == cards[0].summary.model_dump()


def test_details_that_repeat_the_tldr_or_takeaways_are_left_out(papers: list[Paper]) -> None:
    paper = papers[0]
    first, second = _sentences(paper.abstract)[:2]
    summary = Summary(
        tldr=first,
        takeaways=[second],
        method=first,
        results=f"{second} Gains are large.",
        language="en",
        model="extractive",
        source="extractive",
    )
    card = Card(paper, clean(summary), "en", "https://arxiv.org/pdf/x")
    for text in (card_text(card), card_markdown(card)):
        assert "Method" not in text
        assert "Results" in text and "Gains are large." in text
        assert text.count(first) == 1
