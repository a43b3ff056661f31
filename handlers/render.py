"""Cards and digests as plain text, Markdown, JSON and hexo blog posts.

Pure functions: a `Card` or `Digest` in, a string or a JSON-ready dict out.
Metadata (title, authors, ids, dates, links, categories, venue) comes only
from `card.paper`, which is built from arXiv records; the summary supplies the
TL;DR, takeaways and details and nothing else.

Every piece of arXiv or model text that enters Markdown goes through
`escape_markdown`, so a title such as ``*Fast* [x](y) <b>&`` renders
literally. Summary parts that are empty, or only a template leftover
(``None``, ``N/A``, ``xxx``, ``{placeholder}``), are left out.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.i18n import labels
from bot.models import Card, Digest, Figure, Summary
from bot.summarize.extractive import split_sentences

Labels = dict[str, str]
TextFormat = Callable[[str], str]

BLOG_AUTHOR = "paperbot"
BLOG_CATEGORY = "Paper"

_BACKSLASH = r"\\(?=[!-/:-@\[-`{-~])"  # a backslash that would escape the next character
_MD_INLINE = re.compile(
    _BACKSLASH + r"|[*_`\[\]~]"  # emphasis, code spans, links, strikethrough
    r"|<(?=[A-Za-z/!?])"  # start of an HTML tag or autolink
    r"|&(?=#?\w+;)"  # start of an entity
    r"|#(?=#*$)"  # closing sequence of an ATX heading
    r"|\{(?=[{%#])"  # hexo (Nunjucks) tag or variable
)
_DISCORD_INLINE = re.compile(
    _BACKSLASH
    + r"|[*_`\[\]~|]"  # emphasis, code, masked links, strikethrough, spoilers
    + r"|<(?=[A-Za-z/!?@#:])"  # links, mentions, channels, custom emoji, timestamps
)
_MD_BLOCK_START = re.compile(r"\d+(?=[.)])|(?=[#>+\-])")
_PLACEHOLDER = re.compile(
    r"(?:none|null|nil|n/?a|x{3,}|tbd|todo|unknown|-+|—+|暂缺|无|未知|\{[^{}]*\})",
    re.IGNORECASE,
)
_FIGURE_PREFIX = re.compile(r"(?:fig(?:ure)?\.?|图)\s*\d+", re.IGNORECASE)
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"}
_YAML_PLAIN = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^:#\n\r\t]*(?<=\S)")
_YAML_DATE = re.compile(r"\d{4}-\d\d?-\d\d?\b.*")
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"})


# ---------------------------------------------------------------- text helpers


def escape_markdown(text: str, *, discord: bool = False) -> str:
    """`text` as one line of CommonMark/GFM (GitHub, hexo) that renders literally.

    Whitespace runs collapse to one space. Emphasis, code, link and
    strikethrough characters are backslash-escaped; `<` and `&` only where they
    would start a tag or an entity, `#`, `>`, `-`, `+` and `1.` only where they
    would start a block, so ordinary text stays readable. LaTeX such as
    `$\\alpha_1$` still reaches MathJax unchanged after rendering.

    With `discord`, in Discord's dialect instead: spoiler bars and the `<` of
    mentions, channels and custom emoji are escaped too, HTML is not special.
    """
    inline = _DISCORD_INLINE if discord else _MD_INLINE
    escaped = inline.sub(_escape_match, " ".join(text.split()))
    match = _MD_BLOCK_START.match(escaped)
    if match is None:
        return escaped
    return f"{escaped[: match.end()]}\\{escaped[match.end() :]}"


def _escape_match(match: re.Match[str]) -> str:
    char = match.group()
    return "&#123;" if char == "{" else "\\" + char


def _plain(text: str) -> str:
    return " ".join(text.split())


def _filled(text: str) -> str:
    """`text` on one line, or "" when it is empty or only a template leftover."""
    clean = _plain(text)
    core = clean.rstrip(" .。")
    return "" if not core or _PLACEHOLDER.fullmatch(core) else clean


def yaml_scalar(value: str) -> str:
    """`value` as a YAML scalar: plain when that is unambiguous, else double-quoted."""
    text = _plain(value)
    if (
        _YAML_PLAIN.fullmatch(text)
        and text.lower() not in _YAML_WORDS
        and not _YAML_DATE.match(text)
        and not _is_number(text)
    ):
        return text
    return json.dumps(text, ensure_ascii=False)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.lower().startswith(("0x", "0o", "0b", ".inf", ".nan", "+.inf", "-.inf"))
    return True


def _md_link(label: str, url: str) -> str:
    if not url:
        return ""
    for char, code in _URL_UNSAFE.items():
        url = url.replace(char, code)
    return f"[{escape_markdown(label)}]({url})"


def _labelled(label: str, value: str, lab: Labels, *, markdown: bool) -> str:
    if markdown:
        return f"**{label}**{lab['colon']}{value}"
    return f"{label}{lab['colon']}{value}"


# ---------------------------------------------------------------- card parts


@dataclass(frozen=True)
class Section:
    """One part of the details: a text, or labelled items (the conclusion), as plain text."""

    label: str
    text: str = ""
    items: tuple[tuple[str, str], ...] = ()


def _details(summary: Summary, lab: Labels) -> list[Section]:
    """The detail parts of a summary that say something the TL;DR and takeaways do not,
    in the seeds' order."""
    shown = " ".join([summary.tldr, *summary.takeaways])
    sections = [
        Section(lab[name], text)
        for name in ("background", "prior_work", "method", "results")
        if (text := _filled(getattr(summary, name))) and _adds_to(shown, text)
    ]
    conclusion = tuple(
        (lab[name], text)
        for name in ("significance", "novelty", "limitations")
        if (text := _filled(getattr(summary, name)))
    )
    sections.append(Section(lab["conclusion"], items=conclusion))
    keywords = [word for word in map(_filled, summary.keywords) if word]
    sections.append(Section(lab["keywords"], ", ".join(keywords)))
    return [section for section in sections if section.text or section.items]


def _adds_to(shown: str, text: str) -> bool:
    """Whether `text` has a sentence that is not already in `shown` (no repeated sections)."""
    return any(sentence not in shown for sentence in split_sentences(text))


def _takeaways(summary: Summary) -> list[str]:
    return [text for text in map(_filled, summary.takeaways) if text]


def _authors(names: Iterable[str], more: bool, lab: Labels, fmt: TextFormat) -> str:
    shown = ", ".join(fmt(name) for name in names)
    return f"{shown} {lab['et_al']}" if more else shown


def _shown_authors(card: Card, lab: Labels, fmt: TextFormat) -> str:
    names, more = card.paper.shown_authors
    return _authors(names, more, lab, fmt)


def _link_urls(card: Card, lab: Labels) -> list[tuple[str, str]]:
    """(label, url) of the PDF, the abstract page and the paper's own code/project links."""
    found = card.paper.links
    pairs = [
        (lab["pdf"], card.pdf_url),
        (lab["abstract_page"], card.paper.abs_url),
        (lab["code"], found.get("code", "")),
        (lab["project"], found.get("project", "")),
    ]
    return [(label, url) for label, url in pairs if url]


def _figure_caption(figure: Figure, lab: Labels) -> str:
    caption = _filled(figure.caption)
    if _FIGURE_PREFIX.match(caption):
        return caption
    prefix = f"{lab['figure']} {figure.number}"
    return f"{prefix}{lab['colon']}{caption}" if caption else prefix


def _source_line(summary: Summary, lab: Labels) -> str:
    return f"{lab['source']}{lab['colon']}{lab['source_' + summary.source]}"


def _meta_line(card: Card, lab: Labels, *, markdown: bool) -> str:
    paper = card.paper
    category = escape_markdown(paper.primary_category) if markdown else paper.primary_category
    parts = [
        (lab["category"], category),
        (lab["published"], paper.first_version_date.isoformat()),
    ]
    return " · ".join(
        _labelled(label, value, lab, markdown=markdown) for label, value in parts if value
    )


def _venue(card: Card, lab: Labels, *, markdown: bool) -> str:
    venue = _filled(card.paper.venue)
    if not venue:
        return ""
    return _labelled(
        lab["venue"], escape_markdown(venue) if markdown else venue, lab, markdown=markdown
    )


@dataclass(frozen=True)
class CardParts:
    """A card's pieces as plain one-line texts with the labels of its language, for the
    renderers of chat platforms (each escapes them for its own markup). A part the card
    does not have is empty."""

    labels: Labels
    title: str
    authors: str
    category: str
    published: str
    links: tuple[tuple[str, str], ...]
    venue: str
    tldr: str
    takeaways: tuple[str, ...]
    figure_caption: str
    details: tuple[Section, ...]
    source: str


def card_parts(card: Card) -> CardParts:
    """The pieces of `card` (metadata from arXiv, the rest from the summary)."""
    lab = labels(card.language)
    paper = card.paper
    return CardParts(
        labels=lab,
        title=_plain(paper.title),
        authors=_shown_authors(card, lab, _plain),
        category=paper.primary_category,
        published=paper.first_version_date.isoformat(),
        links=tuple(_link_urls(card, lab)),
        venue=_filled(paper.venue),
        tldr=_filled(card.summary.tldr),
        takeaways=tuple(_takeaways(card.summary)),
        figure_caption=_figure_caption(card.figure, lab) if card.figure is not None else "",
        details=tuple(_details(card.summary, lab)),
        source=_source_line(card.summary, lab),
    )


# ---------------------------------------------------------------- plain text


def card_text(card: Card) -> str:
    """The card as plain text for a terminal."""
    lab = labels(card.language)
    paper, summary = card.paper, card.summary
    head = [
        _plain(paper.title),
        _labelled(lab["authors"], _shown_authors(card, lab, _plain), lab, markdown=False),
        _meta_line(card, lab, markdown=False),
        *(_labelled(label, url, lab, markdown=False) for label, url in _link_urls(card, lab)),
        _venue(card, lab, markdown=False),
    ]
    blocks = ["\n".join(line for line in head if line)]
    if tldr := _filled(summary.tldr):
        blocks.append(_labelled(lab["tldr"], tldr, lab, markdown=False))
    if takeaways := _takeaways(summary):
        blocks.append("\n".join([lab["takeaways"], *(f"• {text}" for text in takeaways)]))
    if card.figure is not None:
        blocks.append(_figure_caption(card.figure, lab))
    if details := _details(summary, lab):
        blocks.append("\n".join(_text_section(section, lab) for section in details))
    blocks.append(_source_line(summary, lab))
    return "\n\n".join(blocks) + "\n"


def _text_section(section: Section, lab: Labels) -> str:
    if section.text:
        return _labelled(section.label, section.text, lab, markdown=False)
    items = (f"  - {_labelled(label, text, lab, markdown=False)}" for label, text in section.items)
    return "\n".join([section.label, *items])


# ---------------------------------------------------------------- markdown


def _md_links_line(card: Card, lab: Labels) -> str:
    parts = [_md_link(label, url) for label, url in _link_urls(card, lab)]
    parts.append(_venue(card, lab, markdown=True))
    return " · ".join(part for part in parts if part)


def _md_summary(card: Card, lab: Labels, heading: str) -> list[str]:
    """The TL;DR under `heading` and the takeaways as bullets."""
    blocks = []
    if tldr := _filled(card.summary.tldr):
        blocks.append(f"**{lab[heading]}**\n{escape_markdown(tldr)}")
    if takeaways := _takeaways(card.summary):
        bullets = "\n".join(f"- {escape_markdown(text)}" for text in takeaways)
        blocks.append(f"**{lab['takeaways']}**\n{bullets}")
    return blocks


def _md_source(card: Card, lab: Labels) -> str:
    return f"*{escape_markdown(_source_line(card.summary, lab))}*"


def _md_details(summary: Summary, lab: Labels) -> list[str]:
    """The detail parts as Markdown blocks (empty when the summary has none)."""
    blocks = []
    for section in _details(summary, lab):
        if section.text:
            blocks.append(
                _labelled(section.label, escape_markdown(section.text), lab, markdown=True)
            )
            continue
        items = "\n".join(
            f"- {_labelled(label, escape_markdown(text), lab, markdown=True)}"
            for label, text in section.items
        )
        blocks.append(f"**{section.label}**\n\n{items}")
    return blocks


def _md_figure_caption(card: Card, lab: Labels) -> str:
    if card.figure is None:
        return ""
    return f"*{escape_markdown(_figure_caption(card.figure, lab))}*"


def _html_details(summary_label: str, blocks: list[str]) -> str:
    """A collapsed `<details>` block whose body is still Markdown (blank lines around it)."""
    body = "\n\n".join(block for block in blocks if block)
    if not body:
        return ""
    return f"<details>\n  <summary>{html.escape(summary_label)}</summary>\n\n{body}\n\n</details>"


def _md_figures(card: Card, lab: Labels, link: str) -> str:
    """The seeds' screenshot block: the key figure image and its caption."""
    if not link:
        return ""
    alt = _figure_caption(card.figure, lab) if card.figure else lab["figure"]
    image = f'<img src="{html.escape(link)}" alt="{html.escape(alt)}" align="middle">'
    return _html_details(lab["figures_heading"], [image, _md_figure_caption(card, lab)])


def card_markdown(card: Card) -> str:
    """The card as Markdown: linked title, metadata, TL;DR, takeaways, caption, details."""
    lab = labels(card.language)
    blocks = [
        f"## {_md_link(card.paper.title, card.paper.abs_url)}",
        _labelled(lab["authors"], _shown_authors(card, lab, escape_markdown), lab, markdown=True),
        _meta_line(card, lab, markdown=True),
        _md_links_line(card, lab),
        *_md_summary(card, lab, "tldr"),
        _md_figure_caption(card, lab),
    ]
    if details := _md_details(card.summary, lab):
        blocks += [f"### {escape_markdown(lab['details'])}", *details]
    blocks.append(_md_source(card, lab))
    return "\n\n".join(block for block in blocks if block) + "\n"


def _paper_section(card: Card, lab: Labels, figure_link: str) -> str:
    """One paper of a digest or blog post, shaped like the seeds' sections."""
    paper = card.paper
    authors = _authors(paper.authors, False, lab, escape_markdown)
    blocks = [
        f"## {escape_markdown(paper.title)}",
        f"**{lab['authors']}{lab['colon']}{authors}**",
        _meta_line(card, lab, markdown=True),
        escape_markdown(paper.abstract),
        _md_links_line(card, lab),
        *_md_summary(card, lab, "summary"),
        _md_source(card, lab),
        _html_details(lab["details"], _md_details(card.summary, lab)),
        _md_figures(card, lab, figure_link),
    ]
    return "\n\n".join(block for block in blocks if block)


def _digest_body(digest: Digest, lab: Labels, figure_links: dict[str, str] | None) -> list[str]:
    links = figure_links or {}
    if not digest.cards:
        return [lab["digest_empty"]]
    return [_paper_section(card, lab, links.get(card.paper.id, "")) for card in digest.cards]


def _topics_text(digest: Digest, lab: Labels) -> str:
    return (
        ", ".join(_plain(topic) for topic in digest.topics if topic.strip()) or lab["digest_title"]
    )


def _disclaimer(digest: Digest, lab: Labels) -> str:
    """The blog's warning, naming truthfully what wrote the summaries."""
    if not digest.cards:
        return ""
    models = sorted(
        {_plain(c.summary.model) for c in digest.cards if c.summary.source != "extractive"}
    )
    sources = []
    if models:
        named = [name for name in models if name]
        if named:
            sources.append(lab["blog_source_llm_named"].format(model=", ".join(named)))
        else:
            sources.append(lab["blog_source_llm"])
    if any(card.summary.source == "extractive" for card in digest.cards):
        sources.append(lab["blog_source_extractive"])
    source = lab["and"].join(sources)
    return "> " + escape_markdown(lab["blog_disclaimer"].format(source=source))


def _counted(digest: Digest, lab: Labels) -> str:
    count = len(digest.cards)
    return lab["digest_count_one"] if count == 1 else lab["digest_count"].format(count=count)


def digest_text(digest: Digest) -> str:
    """The digest as plain text for a terminal: a header, then each card."""
    lab = labels(digest.language)
    topics = _labelled(lab["digest_topics"], _topics_text(digest, lab), lab, markdown=False)
    header = f"{lab['digest_title']} · {digest.day.isoformat()}\n{_counted(digest, lab)} · {topics}"
    cards = [card_text(card) for card in digest.cards] or [lab["digest_empty"]]
    return f"\n{'─' * 40}\n\n".join([header, *cards])


def digest_markdown(digest: Digest, figure_links: dict[str, str] | None = None) -> str:
    """The digest as Markdown: title, count, then one section per paper.

    `figure_links` maps a paper id to the (relative) path of its key figure image.
    """
    lab = labels(digest.language)
    topics = _labelled(
        lab["digest_topics"], escape_markdown(_topics_text(digest, lab)), lab, markdown=True
    )
    blocks = [
        f"# {escape_markdown(lab['digest_title'])} · {digest.day.isoformat()}",
        f"{_counted(digest, lab)} · {topics}",
        _disclaimer(digest, lab),
        *_digest_body(digest, lab, figure_links),
    ]
    return "\n\n".join(block for block in blocks if block) + "\n"


# ---------------------------------------------------------------- hexo


def _front_matter(digest: Digest, lab: Labels, now: datetime, cover: str) -> str:
    """YAML front matter with the seeds' keys in the seeds' order."""
    topics = _topics_text(digest, lab)
    description = lab["blog_description"].format(topics=topics, date=digest.day.isoformat())
    fields: list[tuple[str, str | bool | list[str] | datetime | None]] = [
        ("title", topics),
        ("date", now),
        ("author", BLOG_AUTHOR),
        ("cover", cover or None),
        ("categories", BLOG_CATEGORY),
        ("tags", [_plain(topic) for topic in digest.topics if topic.strip()]),
        ("description", description),
        ("keywords", topics),
        ("toc", None),
        ("toc_number", False),
        ("toc_style_simple", True),
        ("copyright", None),
        ("copyright_author", None),
        ("copyright_author_href", None),
        ("copyright_url", None),
        ("copyright_info", None),
        ("mathjax", True),
        ("katex", None),
        ("aplayer", None),
        ("highlight_shrink", None),
        ("aside", None),
    ]
    return "\n".join(["---", *(_yaml_field(key, value) for key, value in fields), "---"])


def _yaml_field(key: str, value: str | bool | list[str] | datetime | None) -> str:
    if value is None or value == []:
        return f"{key}:"
    if isinstance(value, bool):
        return f"{key}: {'true' if value else 'false'}"
    if isinstance(value, datetime):
        return f"{key}: {value.strftime('%Y-%m-%d %H:%M:%S')}"
    if isinstance(value, list):
        return "\n".join([f"{key}:", *(f"    - {yaml_scalar(item)}" for item in value)])
    return f"{key}: {yaml_scalar(value)}"


def digest_hexo(
    digest: Digest,
    figure_links: dict[str, str] | None = None,
    now: datetime | None = None,
) -> str:
    """The digest as a hexo blog post shaped like the posts in `shared/seeds/`.

    `figure_links` maps a paper id to the (relative) path of its key figure
    image; `now` is the post's date (the current time when not given).
    """
    lab = labels(digest.language)
    links = figure_links or {}
    cover = next((links[c.paper.id] for c in digest.cards if links.get(c.paper.id)), "")
    blocks = [
        _front_matter(digest, lab, now or datetime.now(), cover),
        _disclaimer(digest, lab),
        f"# {escape_markdown(lab['digest_update'].format(date=digest.day.isoformat()))}",
        *_digest_body(digest, lab, links),
    ]
    return "\n\n".join(block for block in blocks if block) + "\n"


# ---------------------------------------------------------------- json


def card_json(card: Card) -> dict[str, Any]:
    """The card as a JSON-serializable dict: arXiv metadata, the summary, the figure."""
    paper = card.paper
    links = {"abs": paper.abs_url, "pdf": card.pdf_url, **paper.links}
    figure = card.figure
    return {
        "paper": {
            "id": paper.id,
            "version": paper.version,
            "title": paper.title,
            "authors": list(paper.authors),
            "abstract": paper.abstract,
            "categories": list(paper.categories),
            "primary_category": paper.primary_category,
            "published": paper.first_version_date.isoformat(),
            "updated": paper.updated.isoformat(),
            "comment": paper.comment,
            "journal_ref": paper.journal_ref,
            "doi": paper.doi,
            "links": {key: url for key, url in links.items() if url},
            "venue": paper.venue,
        },
        "summary": card.summary.model_dump(),
        "figure": (
            {"number": figure.number, "page": figure.page, "caption": figure.caption}
            if figure is not None
            else None
        ),
        "language": card.language,
    }


def digest_json(digest: Digest) -> dict[str, Any]:
    """The digest as a JSON-serializable dict: day, topics, language and the cards."""
    return {
        "day": digest.day.isoformat(),
        "topics": list(digest.topics),
        "language": digest.language,
        "count": len(digest.cards),
        "cards": [card_json(card) for card in digest.cards],
    }
