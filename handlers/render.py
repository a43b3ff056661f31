"""Cards and digests as plain text, Markdown, JSON and hexo blog posts.

Pure functions: a `Card` or `Digest` in, a string or a JSON-ready dict out. Each reads
only the card's `CardParts` / `DigestParts` (`handlers.card_model`) and formats them.

Every piece of arXiv or model text that enters Markdown goes through
`escape_markdown`, so a title such as ``*Fast* [x](y) <b>&`` renders literally.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from bot.models import Card, Digest
from handlers.card_model import CardParts, DigestParts, Labels, Section, card_parts, digest_parts
from handlers.escape import escape_markdown, yaml_scalar

BLOG_AUTHOR = "paperbot"
BLOG_CATEGORY = "Paper"

_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"}
_RULE = f"\n{'─' * 40}\n\n"
FIGURES_JSON = "figures.json"  # written next to the figure images by `summarize --figures`
FigureLinks = dict[str, list[str]]  # paper id → paths of its figure images, key figure first


def _joined(blocks: list[str], separator: str = "\n\n") -> str:
    return separator.join(block for block in blocks if block)


# ---------------------------------------------------------------- plain text


def _text_label(label: str, value: str, lab: Labels) -> str:
    return f"{label}{lab['colon']}{value}" if value else ""


def card_text(card: Card) -> str:
    """The card as plain text for a terminal."""
    return _card_text(card_parts(card))


def _card_text(parts: CardParts) -> str:
    lab = parts.labels
    head = [
        parts.title,
        _text_label(lab["authors"], parts.authors, lab),
        " · ".join(_text_label(label, value, lab) for label, value in parts.facts),
        *(_text_label(label, url, lab) for label, url in parts.links),
        _text_label(lab["venue"], parts.venue, lab),
    ]
    bullets = [f"• {text}" for text in parts.takeaways]
    blocks = [
        _joined(head, "\n"),
        parts.hidden_text,
        _text_label(lab["tldr"], parts.tldr, lab),
        _joined([lab["takeaways"], *bullets], "\n") if bullets else "",
        parts.figure_caption,
        _joined([_text_section(section, lab) for section in parts.details], "\n"),
        parts.why,
        parts.source,
    ]
    return _joined(blocks) + "\n"


def _text_section(section: Section, lab: Labels) -> str:
    if section.text:
        return _text_label(section.label, section.text, lab)
    items = (f"  - {_text_label(label, text, lab)}" for label, text in section.items)
    return "\n".join([section.label, *items])


def digest_text(digest: Digest) -> str:
    """The digest as plain text for a terminal: a header, each card, then the papers it
    lists (numbered, with score and id)."""
    parts = digest_parts(digest)
    lab = parts.labels
    header = f"{parts.title} · {parts.day}\n{parts.count} · "
    header += _text_label(lab["digest_topics"], parts.topics, lab)
    cards = [_card_text(card) for card in parts.cards] or [lab["digest_empty"]]
    return _RULE.join([header, *cards, *_text_list(parts)])


def _text_list(parts: DigestParts) -> list[str]:
    """The papers listed after the cards, numbered on, each with its score and id."""
    if not parts.listed:
        return []
    entries = [parts.labels["digest_more_ids"]]
    for listed in parts.listed:
        head = " · ".join(text for text in (listed.title, listed.score, listed.paper.id) if text)
        lines = [f"{listed.number}. {head}", listed.authors, listed.tldr]
        entries.append("\n    ".join(line for line in lines if line))
    return ["\n\n".join(entries) + "\n"]


# ---------------------------------------------------------------- markdown


def _md_label(label: str, value: str, lab: Labels) -> str:
    """`**Label**: value` with `value` already Markdown."""
    return f"**{label}**{lab['colon']}{value}" if value else ""


def _md_link(label: str, url: str) -> str:
    for char, code in _URL_UNSAFE.items():
        url = url.replace(char, code)
    return f"[{escape_markdown(label)}]({url})"


def _md_facts(parts: CardParts) -> str:
    facts = (_md_label(label, escape_markdown(value), parts.labels) for label, value in parts.facts)
    return " · ".join(facts)


def _md_links(parts: CardParts) -> str:
    links = [_md_link(label, url) for label, url in parts.links]
    links.append(_md_label(parts.labels["venue"], escape_markdown(parts.venue), parts.labels))
    return " · ".join(link for link in links if link)


def _md_warning(parts: CardParts) -> str:
    """The warning that the PDF hides text, as a quote."""
    return f"> **{escape_markdown(parts.hidden_text)}**" if parts.hidden_text else ""


def _md_summary(parts: CardParts, heading: str) -> list[str]:
    """The TL;DR under `heading` and the takeaways as bullets."""
    lab = parts.labels
    bullets = "\n".join(f"- {escape_markdown(text)}" for text in parts.takeaways)
    return [
        f"**{lab[heading]}**\n{escape_markdown(parts.tldr)}" if parts.tldr else "",
        f"**{lab['takeaways']}**\n{bullets}" if bullets else "",
    ]


def _md_end(parts: CardParts) -> list[str]:
    """Why the card was sent, and what wrote the summary."""
    return [
        f"*{escape_markdown(parts.why)}*" if parts.why else "",
        f"*{escape_markdown(parts.source)}*",
    ]


def _md_details(parts: CardParts) -> list[str]:
    """The detail parts as Markdown blocks (empty when the summary has none)."""
    lab = parts.labels
    blocks = []
    for section in parts.details:
        if section.text:
            blocks.append(_md_label(section.label, escape_markdown(section.text), lab))
            continue
        items = "\n".join(
            f"- {_md_label(label, escape_markdown(text), lab)}" for label, text in section.items
        )
        blocks.append(f"**{section.label}**\n\n{items}")
    return blocks


def _md_caption(parts: CardParts) -> str:
    return f"*{escape_markdown(parts.figure_caption)}*" if parts.figure_caption else ""


def card_markdown(card: Card) -> str:
    """The card as Markdown: linked title, metadata, TL;DR, takeaways, caption, details."""
    parts = card_parts(card)
    lab = parts.labels
    blocks = [
        f"## {_md_link(parts.title, parts.url)}",
        _md_label(lab["authors"], escape_markdown(parts.authors), lab),
        _md_facts(parts),
        _md_links(parts),
        _md_warning(parts),
        *_md_summary(parts, "tldr"),
        _md_caption(parts),
    ]
    if details := _md_details(parts):
        blocks += [f"### {escape_markdown(lab['details'])}", *details]
    blocks += _md_end(parts)
    return _joined(blocks) + "\n"


def _html_details(summary_label: str, blocks: list[str]) -> str:
    """A collapsed `<details>` block whose body is still Markdown (blank lines around it)."""
    body = _joined(blocks)
    if not body:
        return ""
    return f"<details>\n  <summary>{html.escape(summary_label)}</summary>\n\n{body}\n\n</details>"


def _md_figures(parts: CardParts, links: list[str]) -> str:
    """The seeds' screenshot block: each linked figure's image and caption, the key figure
    first (`links` are in the order of the card's figures)."""
    lab = parts.labels
    blocks = []
    captions = parts.figure_captions
    for index, link in enumerate(links):
        caption = captions[index] if index < len(captions) else ""
        alt = caption or lab["figure"]
        blocks.append(f'<img src="{html.escape(link)}" alt="{html.escape(alt)}" align="middle">')
        blocks.append(f"*{escape_markdown(caption)}*" if caption else "")
    return _html_details(lab["figures_heading"], blocks)


def _paper_section(parts: CardParts, figure_links: list[str]) -> str:
    """One paper of a digest or blog post, shaped like the seeds' sections."""
    lab = parts.labels
    blocks = [
        f"## {escape_markdown(parts.title)}",
        f"**{lab['authors']}{lab['colon']}{escape_markdown(parts.all_authors)}**",
        _md_facts(parts),
        escape_markdown(parts.abstract),
        _md_links(parts),
        _md_warning(parts),
        *_md_summary(parts, "summary"),
        *_md_end(parts),
        _html_details(lab["details"], _md_details(parts)),
        _md_figures(parts, figure_links),
    ]
    return _joined(blocks)


def _digest_body(parts: DigestParts, figure_links: FigureLinks) -> list[str]:
    if not parts.cards:
        return [parts.labels["digest_empty"]]
    return [_paper_section(card, figure_links.get(card.paper.id, [])) for card in parts.cards]


def _md_disclaimer(parts: DigestParts) -> str:
    return f"> {escape_markdown(parts.disclaimer)}" if parts.disclaimer else ""


def digest_markdown(digest: Digest, figure_links: FigureLinks | None = None) -> str:
    """The digest as Markdown: title, count, then one section per paper.

    `figure_links` maps a paper id to the (relative) paths of the figure images to show,
    in the order of the card's figures: its key figure, or all of them.
    """
    parts = digest_parts(digest)
    lab = parts.labels
    topics = _md_label(lab["digest_topics"], escape_markdown(parts.topics), lab)
    blocks = [
        f"# {escape_markdown(parts.title)} · {parts.day}",
        f"{parts.count} · {topics}",
        _md_disclaimer(parts),
        *_digest_body(parts, figure_links or {}),
    ]
    return _joined(blocks) + "\n"


# ---------------------------------------------------------------- hexo


def _front_matter(parts: DigestParts, now: datetime, cover: str) -> str:
    """YAML front matter with the seeds' keys in the seeds' order."""
    description = parts.labels["blog_description"].format(topics=parts.topics, date=parts.day)
    fields: list[tuple[str, str | bool | list[str] | datetime | None]] = [
        ("title", parts.topics),
        ("date", now),
        ("author", BLOG_AUTHOR),
        ("cover", cover or None),
        ("categories", BLOG_CATEGORY),
        ("tags", list(parts.tags)),
        ("description", description),
        ("keywords", parts.topics),
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
    figure_links: FigureLinks | None = None,
    now: datetime | None = None,
) -> str:
    """The digest as a hexo blog post shaped like the posts in `shared/seeds/`.

    `figure_links` maps a paper id to the (relative) paths of the figure images to
    show, as for `digest_markdown`; the first paper's key figure is the post's cover.
    `now` is the post's date (the current time when not given).
    """
    parts = digest_parts(digest)
    links = figure_links or {}
    cover = next((links[c.paper.id][0] for c in parts.cards if links.get(c.paper.id)), "")
    update = parts.labels["digest_update"].format(date=parts.day)
    blocks = [
        _front_matter(parts, now or datetime.now(), cover),
        _md_disclaimer(parts),
        f"# {escape_markdown(update)}",
        *_digest_body(parts, links),
    ]
    return _joined(blocks) + "\n"


# ---------------------------------------------------------------- json


def card_json(card: Card) -> dict[str, Any]:
    """The card as a JSON-serializable dict: arXiv metadata, the summary, the figure."""
    return _card_json(card_parts(card))


def _card_json(parts: CardParts) -> dict[str, Any]:
    paper, figure = parts.paper, parts.figure
    links = {"abs": parts.url, "pdf": parts.pdf_url, **paper.links}
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
        "summary": parts.summary.model_dump(),
        "figure": (
            {"number": figure.number, "page": figure.page, "caption": figure.caption}
            if figure is not None
            else None
        ),
        "hides_text": bool(parts.hidden_text),
        "why": parts.why,
        "language": parts.language,
    }


def figures_json(card: Card) -> list[dict[str, Any]]:
    """The card's figures as `figures.json` lists them next to their image files: number,
    page (1-based), bbox ([x0, y0, x1, y1] in PDF points, top-left origin), caption, file
    name, and whether it is the card's key figure."""
    return [
        {
            "number": figure.number,
            "page": figure.page,
            "bbox": list(figure.bbox),
            "caption": figure.caption,
            "file": figure.filename(card.paper),
            "key": figure == card.figure,
        }
        for figure in card.figures
    ]


def digest_json(digest: Digest) -> dict[str, Any]:
    """The digest as a JSON-serializable dict: day, topics, language and the cards."""
    parts = digest_parts(digest)
    return {
        "day": parts.day,
        "topics": list(parts.tags),
        "language": parts.language,
        "count": len(parts.cards),
        "cards": [_card_json(card) for card in parts.cards],
    }
