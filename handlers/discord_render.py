"""Cards, digests and replies as Discord messages, and every Discord limit paperbot respects.

Pure functions: a `Card`, `Digest` or reply text in, `Message`s out (embeds as
Discord's JSON, figures as uploads). The bot adapter and the webhook platform
send the same messages. arXiv and model text is escaped for Discord's
markdown with `escape_discord`; every text is cut to its
limit, and messages are split so that none exceeds the per-message limits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from bot.models import Card, Digest
from handlers.card_model import (
    CardParts,
    DigestParts,
    ListedParts,
    Section,
    card_parts,
    digest_parts,
)
from handlers.escape import escape_discord

# Discord's limits (developer docs: message, embed and interaction resources; rate limits).
CONTENT_CHARS = 2000
EMBED_TITLE_CHARS = 256
EMBED_DESCRIPTION_CHARS = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME_CHARS = 256
EMBED_FIELD_VALUE_CHARS = 1024
EMBED_FOOTER_CHARS = 2048
EMBED_TOTAL_CHARS = 6000  # all embeds of one message together
EMBEDS_PER_MESSAGE = 10
FILES_PER_MESSAGE = 10
UPLOAD_BYTES = 10 * 1024 * 1024  # all files of one message, on a server without boosts
ATTACHMENT_DESCRIPTION_CHARS = 1024
BUTTONS_PER_MESSAGE = 25
BUTTON_LABEL_CHARS = 80
PAPER_BUTTONS = 3  # Details, 👍, 👎
LIST_TLDR_CHARS = 200  # characters of a TL;DR in a digest's compact list
AUTOCOMPLETE_CHOICES = 25
CHOICE_CHARS = 100
GLOBAL_REQUESTS_PER_SECOND = 50  # per bot or IP; per-route buckets come in X-RateLimit-* headers

COLOR = 0xB31B1B  # arXiv red
ELLIPSIS = "…"

Embed = dict[str, Any]


@dataclass(frozen=True)
class Upload:
    """A file attached to a message."""

    filename: str
    data: bytes = field(repr=False)
    description: str = ""
    content_type: str = "image/png"


@dataclass(frozen=True)
class Message:
    """One Discord message: content, embeds, files, Details buttons as (label, versioned
    arXiv id), 👍 / 👎 buttons and the numbered buttons of a digest's compact list — the
    bot shows them; webhooks cannot carry buttons — and the papers it carries (recorded as
    sent once Discord has the message)."""

    content: str = ""
    embeds: tuple[Embed, ...] = ()
    files: tuple[Upload, ...] = ()
    details: tuple[tuple[str, str], ...] = ()
    votes: tuple[tuple[str, str], ...] = ()  # 👍 / 👎 buttons: (number or "", arXiv id)
    opens: tuple[tuple[str, str], ...] = ()  # a listed paper's card: (number, arXiv id)
    papers: tuple[str, ...] = ()  # the arXiv ids of the papers it carries


# ---------------------------------------------------------------- texts and sizes


def fit(text: str, limit: int, *, markdown: bool = True) -> str:
    """`text` on one line (escaped for Discord's markdown unless `markdown` is False),
    shortened with an ellipsis to at most `limit` characters."""

    def render(part: str) -> str:
        return md(part) if markdown else " ".join(part.split())

    rendered = render(text)
    cut = len(text)
    while len(rendered) > limit:
        cut -= max(len(rendered) - limit, 1)
        rendered = render(text[: max(cut, 0)]).rstrip("\\ ") + ELLIPSIS
    return rendered


def _clip(text: str, limit: int) -> str:
    """Already rendered (multi-line) `text`, cut at a line end when possible."""
    if len(text) <= limit:
        return text
    head = text[: limit - len(ELLIPSIS)]
    line_end = head.rfind("\n")
    if line_end > limit // 2:
        head = head[:line_end]
    return head.rstrip("\\ \n") + ELLIPSIS


def md(text: str) -> str:
    """`text` on one line, escaped for Discord's markdown."""
    return escape_discord(text)


def embed_size(embed: Embed) -> int:
    """The characters Discord counts against `EMBED_TOTAL_CHARS`."""
    texts = [embed.get("title", ""), embed.get("description", "")]
    texts += [embed.get("footer", {}).get("text", ""), embed.get("author", {}).get("name", "")]
    texts += [f["name"] + f["value"] for f in embed.get("fields", ())]
    return sum(map(len, texts))


_URL_SAFE = ":/?#@!$&'*+,;=%~"


def _link(label: str, url: str) -> str:
    return f"[{md(label)}]({quote(url, safe=_URL_SAFE)})"


def _labelled(lab: dict[str, str], label: str, text: str) -> str:
    return f"**{md(label)}**{lab['colon']}{text}"


def text_messages(text: str) -> list[str]:
    """A plain reply as message contents: each line escaped, split at line ends so that no
    content exceeds `CONTENT_CHARS`."""
    lines = [fit(line, CONTENT_CHARS) if line.strip() else "" for line in text.splitlines()]
    return [chunk for chunk in _pack_lines(lines, CONTENT_CHARS) if chunk.strip()] or [""]


def _pack_lines(lines: Iterable[str], limit: int, separator: str = "\n") -> Iterator[str]:
    """`lines` joined into as few chunks of at most `limit` characters as possible (a line
    longer than `limit` makes a chunk of its own)."""
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(separator) + len(line) > limit:
            yield separator.join(chunk)
            chunk, size = [], 0
        size += len(line) + (len(separator) if chunk else 0)
        chunk.append(line)
    if chunk:
        yield separator.join(chunk)


# ---------------------------------------------------------------- cards


def _figure_upload(parts: CardParts) -> Upload | None:
    """The card's key figure as a file, or None (no figure, or too large to upload)."""
    figure = parts.figure
    if figure is None or len(figure.image) > UPLOAD_BYTES:
        return None
    description = fit(parts.figure_caption, ATTACHMENT_DESCRIPTION_CHARS, markdown=False)
    return Upload(parts.figure_filename, figure.image, description, figure.mime_type)


def _card_embed(parts: CardParts, figure: Upload | None) -> Embed:
    """The card as one embed: linked title, metadata fields, TL;DR and takeaways, the figure
    shown from its attachment, the summary source in the footer."""
    lab = parts.labels
    footer = "\n".join(text for text in (parts.why, parts.source) if text)
    embed: Embed = {
        "title": fit(parts.title, EMBED_TITLE_CHARS),
        "url": parts.url,
        "color": COLOR,
        "fields": _card_fields(parts, figure is not None),
        "footer": {"text": _clip(footer, EMBED_FOOTER_CHARS)},
    }
    if figure is not None:
        embed["image"] = {"url": f"attachment://{figure.filename}"}
    blocks = [" · ".join(_link(label, url) for label, url in parts.links)]
    if parts.hidden_text:
        blocks.append(f"**{md(parts.hidden_text)}**")
    if parts.tldr:
        blocks.append(_labelled(lab, lab["tldr"], md(parts.tldr)))
    if parts.takeaways:
        bullets = (f"- {md(text)}" for text in parts.takeaways)
        blocks.append("\n".join([f"**{md(lab['takeaways'])}**", *bullets]))
    budget = min(EMBED_DESCRIPTION_CHARS, EMBED_TOTAL_CHARS - embed_size(embed))
    if description := _clip("\n\n".join(block for block in blocks if block), budget):
        embed["description"] = description
    return embed


def _card_fields(parts: CardParts, with_figure: bool) -> list[dict[str, Any]]:
    lab = parts.labels
    values = [
        (lab["authors"], parts.authors, False),
        *((label, value, True) for label, value in parts.facts),
        (lab["venue"], parts.venue, True),
        (lab["figure"], parts.figure_caption if with_figure else "", False),
    ]
    return [
        {
            "name": fit(name, EMBED_FIELD_NAME_CHARS),
            "value": fit(value, EMBED_FIELD_VALUE_CHARS),
            "inline": inline,
        }
        for name, value, inline in values
        if value
    ]


def _card_message(parts: CardParts, number: int | None = None) -> Message:
    """One paper: its embed, its figure attached, a Details button (numbered in a digest)."""
    figure = _figure_upload(parts)
    label = parts.labels["details"]
    if number is not None:
        label = fit(f"{label} {number}", BUTTON_LABEL_CHARS, markdown=False)
    return Message(
        embeds=(_card_embed(parts, figure),),
        files=(figure,) if figure is not None else (),
        details=((label, parts.paper.versioned_id),),
        votes=(("" if number is None else str(number), parts.paper.id),),
        papers=(parts.paper.id,),
    )


def card_message(card: Card) -> Message:
    """One paper: its embed, its figure attached, a Details button."""
    return _card_message(card_parts(card))


# ---------------------------------------------------------------- digests


def digest_messages(digest: Digest, *, buttons: bool = True) -> list[Message]:
    """A digest as as few messages as the limits allow: the header as the first message's
    content, then one embed per card (numbered Details buttons), then the papers it lists
    as a compact numbered list (`_list_messages`)."""
    parts = digest_parts(digest)
    lab = parts.labels
    header = f"**{md(parts.title)}** · {parts.day} · {parts.count}"
    if parts.tags:
        header += f" · {lab['digest_topics']}{lab['colon']}{md(parts.topics)}"
    header = _clip(header, CONTENT_CHARS)
    if not parts.cards and not parts.listed:
        return [Message(content=f"{header}\n{lab['digest_empty']}")]
    messages: list[Message] = []
    current = Message(content=header)
    for number, card in enumerate(parts.cards, start=1):
        one = _card_message(card, number)
        if current.embeds and not _room_for(current, one.embeds[0], one.files):
            messages.append(current)
            current = Message()
        current = Message(
            content=current.content,
            embeds=current.embeds + one.embeds,
            files=current.files + one.files,
            details=current.details + one.details,
            votes=current.votes + one.votes,
            papers=current.papers + one.papers,
        )
    messages.append(current)
    return messages + _list_messages(parts, buttons)


def _list_messages(parts: DigestParts, buttons: bool) -> list[Message]:
    """The listed papers, numbered on after the cards, one embed of entries per message (at
    most one button per entry: `BUTTONS_PER_MESSAGE`); with `buttons`, a numbered button
    per paper brings its card, else each entry says why it was sent."""
    if not parts.listed:
        return []
    chunks: list[list[tuple[ListedParts, str]]] = [[]]
    size = 0
    for listed in parts.listed:
        entry = _list_entry(listed, buttons)
        if len(chunks[-1]) == BUTTONS_PER_MESSAGE or size + len(entry) > EMBED_DESCRIPTION_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append((listed, entry))
        size += len(entry) + 2  # and the blank line before the next
    messages = [
        Message(
            embeds=({"color": COLOR, "description": "\n\n".join(e for _, e in chunk)},),
            opens=tuple((str(p.number), p.paper.id) for p, _ in chunk) if buttons else (),
            papers=tuple(p.paper.id for p, _ in chunk),
        )
        for chunk in chunks
    ]
    heading = parts.labels["digest_more" if buttons else "digest_more_plain"]
    return [replace(messages[0], content=md(heading)), *messages[1:]]


def _list_entry(parts: ListedParts, buttons: bool) -> str:
    """Number, linked title, score and id; authors; the why line (without buttons); the
    TL;DR."""
    head = " · ".join(text for text in (md(parts.score), md(parts.paper.id)) if text)
    lines = [
        f"**{parts.number}.** {_link(parts.title, parts.url)} · {head}",
        fit(parts.authors, EMBED_FIELD_VALUE_CHARS),
        "" if buttons or not parts.why else f"*{fit(parts.why, EMBED_FIELD_VALUE_CHARS)}*",
        f"*{fit(parts.tldr, LIST_TLDR_CHARS)}*" if parts.tldr else "",
    ]
    return "\n".join(line for line in lines if line)


def buttons(message: Message) -> int:
    """How many buttons the bot puts under `message`."""
    return len(message.details) + 2 * len(message.votes) + len(message.opens)


def _room_for(message: Message, embed: Embed, files: tuple[Upload, ...]) -> bool:
    """Whether `embed` and `files` can join `message` within the per-message limits."""
    return (
        len(message.embeds) < EMBEDS_PER_MESSAGE
        and buttons(message) + PAPER_BUTTONS <= BUTTONS_PER_MESSAGE
        and sum(map(embed_size, message.embeds)) + embed_size(embed) <= EMBED_TOTAL_CHARS
        and len(message.files) + len(files) <= FILES_PER_MESSAGE
        and sum(len(f.data) for f in (*message.files, *files)) <= UPLOAD_BYTES
    )


# ---------------------------------------------------------------- details


def details_messages(card: Card) -> list[Message]:
    """The structured summary (background, prior work, method, results, conclusion,
    keywords) as embeds, for the Details button; split over messages when long."""
    parts = card_parts(card)
    lab = parts.labels
    blocks = [_section_block(section, lab) for section in parts.details]
    if not blocks and parts.tldr:
        blocks = [_labelled(lab, lab["tldr"], md(parts.tldr))]
    title = fit(f"{lab['details']}: {parts.title}", EMBED_TITLE_CHARS)
    footer = {"text": fit(parts.source, EMBED_FOOTER_CHARS, markdown=False)}
    budget = EMBED_DESCRIPTION_CHARS - len(title) - len(footer["text"])
    descriptions = list(
        _pack_lines((_clip(block, budget) for block in blocks), budget, "\n\n")
    ) or [""]
    embeds = [
        {"title": title, "url": parts.url, "color": COLOR, "description": text}
        for text in descriptions
    ]
    embeds[-1]["footer"] = footer
    messages: list[Message] = []
    for embed in embeds:
        if messages and _room_for(messages[-1], embed, ()):
            messages[-1] = Message(embeds=(*messages[-1].embeds, embed))
        else:
            messages.append(Message(embeds=(embed,)))
    return messages


def _section_block(section: Section, lab: dict[str, str]) -> str:
    head = f"**{md(section.label)}**"
    if section.text:
        return f"{head}\n{md(section.text)}"
    items = (f"- {_labelled(lab, label, md(text))}" for label, text in section.items)
    return "\n".join([head, *items])
