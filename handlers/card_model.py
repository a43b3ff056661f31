"""What a card and a digest say, built once, for every renderer.

`card_parts` and `digest_parts` turn a `Card` or `Digest` into `CardParts` and
`DigestParts`: every line a reader sees, as plain one-line text with the labels of the
card's language, and a part the card does not have left empty. Renderers (text,
Markdown, hexo, JSON, Telegram HTML, Discord embeds) read nothing else and only format:
each escapes the texts for its own markup.

Metadata (title, authors, ids, dates, links, categories, venue) comes only from
`card.paper`, built from arXiv records; the summary, already cleaned where it was made
(`bot.summarize.clean`), supplies the TL;DR, takeaways and details.

Adding a line to the card: a field here, filled in `card_parts`, and one line in each
renderer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.i18n import labels
from bot.models import Card, Digest, Figure, Listed, Paper, Summary
from bot.summarize.clean import CONCLUSION, REPEATABLE, filled

Labels = dict[str, str]
Labelled = tuple[str, str]  # (label, plain text)

_FIGURE_PREFIX = re.compile(r"(?:fig(?:ure)?\.?|图)\s*\d+", re.IGNORECASE)


def plain(text: str) -> str:
    """`text` on one line."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Section:
    """One part of the details: a text, or labelled items (the conclusion)."""

    label: str
    text: str = ""
    items: tuple[Labelled, ...] = ()


@dataclass(frozen=True)
class CardParts:
    """A card's pieces. `paper`, `summary`, `figure` and `figures` are the card's own
    values (for JSON and uploads); every other field is a plain one-line text (or a
    tuple of them), empty when the card does not have it."""

    labels: Labels
    language: str
    paper: Paper
    summary: Summary
    figure: Figure | None
    title: str
    url: str  # the abstract page
    pdf_url: str
    authors: str  # the first authors, then "et al."
    all_authors: str  # every author (blog posts)
    facts: tuple[Labelled, ...]  # primary category, first-version date
    links: tuple[Labelled, ...]  # PDF, abstract page, the paper's code and project pages
    venue: str
    abstract: str
    tldr: str
    takeaways: tuple[str, ...]
    figure_caption: str
    figure_filename: str
    figures: tuple[Figure, ...]  # every figure found, the key figure first
    figure_captions: tuple[str, ...]  # their captions, in the same order
    hidden_text: str  # the warning when the PDF hides text from its readers
    details: tuple[Section, ...]
    why: str  # why the card was sent to this chat
    score: str  # how relevant it is to the chat, "0.72" (digests list it)
    source: str  # what wrote the summary, with its label


@dataclass(frozen=True)
class ListedParts:
    """A paper of a digest's compact list: plain one-line texts like `CardParts`'."""

    number: int  # its place in the digest, counting the cards before it
    paper: Paper
    language: str
    title: str
    url: str  # the abstract page
    authors: str  # the first authors, then "et al."
    tldr: str
    why: str
    score: str  # "0.72", or empty


@dataclass(frozen=True)
class DigestParts:
    """A digest's pieces: its header texts, its cards' parts and the papers it lists after
    them."""

    labels: Labels
    language: str
    title: str
    day: str
    count: str  # "3 new papers"
    topics: str  # the topics joined, or the title when there are none
    tags: tuple[str, ...]  # the topics one by one
    disclaimer: str  # what wrote the summaries (blog posts); empty without cards
    cards: tuple[CardParts, ...]
    listed: tuple[ListedParts, ...]


def card_parts(card: Card) -> CardParts:
    """The pieces of `card` (metadata from arXiv, the rest from the summary)."""
    lab = labels(card.language)
    paper, summary, figure = card.paper, card.summary, card.figure
    facts = [(lab["category"], paper.primary_category)]
    facts.append((lab["published"], paper.first_version_date.isoformat()))
    authors, more = paper.shown_authors
    shown = card.figures or ((figure,) if figure is not None else ())
    return CardParts(
        labels=lab,
        language=card.language,
        paper=paper,
        summary=summary,
        figure=figure,
        title=plain(paper.title),
        url=paper.abs_url,
        pdf_url=card.pdf_url,
        authors=_authors(authors, lab["et_al"] if more else ""),
        all_authors=_authors(paper.authors, ""),
        facts=tuple((label, value) for label, value in facts if value),
        links=_links(card, lab),
        venue=filled(paper.venue),
        abstract=plain(paper.abstract),
        tldr=summary.tldr,
        takeaways=tuple(summary.takeaways),
        figure_caption=_figure_caption(figure, lab) if figure is not None else "",
        figure_filename=figure.filename(paper) if figure is not None else "",
        figures=shown,
        figure_captions=tuple(_figure_caption(each, lab) for each in shown),
        hidden_text=lab["hidden_text"] if card.hides_text else "",
        details=_details(summary, lab),
        why=plain(card.why),
        score=_score(card.score),
        source=f"{lab['source']}{lab['colon']}{lab['source_' + summary.source]}",
    )


def _listed_parts(listed: Listed, number: int) -> ListedParts:
    """The pieces of one listed paper, `number` in its digest."""
    paper = listed.paper
    authors, more = paper.shown_authors
    return ListedParts(
        number=number,
        paper=paper,
        language=listed.language,
        title=plain(paper.title),
        url=paper.abs_url,
        authors=_authors(authors, labels(listed.language)["et_al"] if more else ""),
        tldr=plain(listed.tldr),
        why=plain(listed.why),
        score=_score(listed.score),
    )


def _score(score: float | None) -> str:
    return "" if score is None else f"{score:.2f}"


def _authors(names: Iterable[str], et_al: str) -> str:
    shown = ", ".join(map(plain, names))
    return f"{shown} {et_al}" if et_al else shown


def _links(card: Card, lab: Labels) -> tuple[Labelled, ...]:
    found = card.paper.links
    pairs = [
        (lab["pdf"], card.pdf_url),
        (lab["abstract_page"], card.paper.abs_url),
        (lab["code"], found.get("code", "")),
        (lab["project"], found.get("project", "")),
    ]
    return tuple((label, url) for label, url in pairs if url)


def _figure_caption(figure: Figure, lab: Labels) -> str:
    caption = filled(figure.caption)
    if _FIGURE_PREFIX.match(caption):
        return caption
    prefix = f"{lab['figure']} {figure.number}"
    return f"{prefix}{lab['colon']}{caption}" if caption else prefix


def _details(summary: Summary, lab: Labels) -> tuple[Section, ...]:
    """The summary's detail parts in the seeds' order: sections, conclusion, keywords."""
    sections = [Section(lab[name], getattr(summary, name)) for name in REPEATABLE]
    conclusion = tuple((lab[name], getattr(summary, name)) for name in CONCLUSION)
    sections.append(Section(lab["conclusion"], items=tuple(i for i in conclusion if i[1])))
    sections.append(Section(lab["keywords"], ", ".join(summary.keywords)))
    return tuple(section for section in sections if section.text or section.items)


def digest_parts(digest: Digest) -> DigestParts:
    """The pieces of `digest`: header texts, the parts of each card and of each paper it
    lists (numbered on after the cards)."""
    lab = labels(digest.language)
    tags = tuple(plain(topic) for topic in digest.topics if topic.strip())
    count = len(digest.cards) + len(digest.listed)
    first = len(digest.cards) + 1
    return DigestParts(
        labels=lab,
        language=digest.language,
        title=lab["digest_title"],
        day=digest.day.isoformat(),
        count=lab["digest_count_one"] if count == 1 else lab["digest_count"].format(count=count),
        topics=", ".join(tags) or lab["digest_title"],
        tags=tags,
        disclaimer=_disclaimer(digest, lab),
        cards=tuple(map(card_parts, digest.cards)),
        listed=tuple(
            _listed_parts(listed, number) for number, listed in enumerate(digest.listed, first)
        ),
    )


def _disclaimer(digest: Digest, lab: Labels) -> str:
    """The blog's warning, naming truthfully what wrote the summaries."""
    if not digest.cards:
        return ""
    summaries = [card.summary for card in digest.cards]
    models = sorted({plain(s.model) for s in summaries if s.source != "extractive"})
    sources = []
    if models:
        named = [name for name in models if name]
        if named:
            sources.append(lab["blog_source_llm_named"].format(model=", ".join(named)))
        else:
            sources.append(lab["blog_source_llm"])
    if any(s.source == "extractive" for s in summaries):
        sources.append(lab["blog_source_extractive"])
    return lab["blog_disclaimer"].format(source=lab["and"].join(sources))
