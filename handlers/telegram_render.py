"""Cards, details and digests as Telegram HTML, next to every Telegram limit.

Pure functions: a `Card` or `Digest` in, message texts (HTML parse mode) and
inline keyboards out. Every piece of arXiv or model text is escaped with
`html.escape`; the only tags are the ones written here. Lengths are counted as
Telegram counts them: visible characters after entity parsing, in UTF-16 code
units. Long texts are split at paragraph boundaries, then at line breaks, then
at spaces.

What a card says comes from its `CardParts` (`handlers.card_model`), shared with every
other renderer; this module only formats it.
"""

from __future__ import annotations

import html
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.models import Card, Digest, Figure
from handlers.card_model import CardParts, DigestParts, ListedParts, card_parts, digest_parts
from handlers.render import card_text

# ---------------------------------------------------------------- Telegram's limits

TEXT_LIMIT = 4096  # characters of a message after entity parsing
CAPTION_LIMIT = 1024  # characters of a photo caption after entity parsing
CALLBACK_DATA_LIMIT = 64  # bytes of an inline button's callback data
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES = 10_000  # width + height of a photo
PHOTO_MAX_RATIO = 20  # longer side / shorter side of a photo
LIST_ITEMS_PER_MESSAGE = 20  # papers (and buttons) per message of a compact digest
LIST_BUTTONS_PER_ROW = 5
LIST_TLDR_LIMIT = 300  # characters of a TL;DR in a compact digest


@dataclass(frozen=True)
class Window:
    """At most `limit` messages in any `seconds`-long window."""

    limit: int
    seconds: float


@dataclass(frozen=True)
class RateLimits:
    """Telegram's flood limits for sending and editing messages."""

    overall: Window = Window(30, 1.0)
    chat: Window = Window(1, 1.0)
    group: Window = Window(20, 60.0)


TELEGRAM_LIMITS = RateLimits()

# ---------------------------------------------------------------- buttons

DETAILS = "d"  # callback: the structured summary of a paper
CARD = "c"  # callback: the whole card of a paper (from a compact digest)
LIKE = "+"  # callback: 👍
DISLIKE = "-"  # callback: 👎
VOTES = {LIKE: "👍", DISLIKE: "👎"}
CHOSEN = " ✓"  # marks the vote pressed (private chats; groups and channels show counts)
_BUTTON = re.compile(r"(?P<kind>[dc+-]):(?P<id>[^:]{1,40})(?::(?P<language>[^:]{1,32}))?")


@dataclass(frozen=True)
class Button:
    """What an inline button of ours asks for."""

    kind: str
    paper_id: str
    language: str | None


def button_data(kind: str, paper_id: str, language: str) -> str:
    """Callback data for a paper button; the language is left out when it would not fit."""
    data = f"{kind}:{paper_id}:{language}"
    if len(data.encode()) <= CALLBACK_DATA_LIMIT:
        return data
    return f"{kind}:{paper_id}"


def parse_button(data: str | None) -> Button | None:
    """The button's request, or None for data that is not ours."""
    match = _BUTTON.fullmatch(data or "")
    if match is None:
        return None
    return Button(match["kind"], match["id"], match["language"])


def _keyboard(parts: CardParts) -> InlineKeyboardMarkup:
    """The buttons under a card: "Details" (when the summary has any) and the PDF link,
    then 👍 / 👎."""
    lab = parts.labels
    row = []
    if parts.details:
        data = button_data(DETAILS, parts.paper.id, parts.language)
        row.append(InlineKeyboardButton(lab["details"], callback_data=data))
    row.append(InlineKeyboardButton(lab["pdf"], url=parts.pdf_url))
    votes = [
        InlineKeyboardButton(label, callback_data=f"{kind}:{parts.paper.id}")
        for kind, label in VOTES.items()
    ]
    return InlineKeyboardMarkup([row, votes])


def marked_vote(
    markup: InlineKeyboardMarkup | None, data: str, counts: tuple[int, int] | None = None
) -> InlineKeyboardMarkup | None:
    """`markup` with the vote buttons of the paper of `data` relabelled: without `counts`
    (a private chat), the pressed one marked chosen and its twin not; with the (👍, 👎)
    `counts` of a group or channel, each showing how many members pressed it. None when
    there is nothing to change (already so, or no such button)."""
    if markup is None:
        return None
    chosen = parse_button(data)
    assert chosen is not None
    changed = False

    def label(kind: str) -> str:
        if counts is None:
            return VOTES[kind] + (CHOSEN if kind == chosen.kind else "")
        count = counts[0] if kind == LIKE else counts[1]
        return f"{VOTES[kind]} {count}" if count else VOTES[kind]

    def marked(button: InlineKeyboardButton) -> InlineKeyboardButton:
        nonlocal changed
        pressed = parse_button(
            button.callback_data if isinstance(button.callback_data, str) else ""
        )
        if pressed is None or pressed.kind not in VOTES or pressed.paper_id != chosen.paper_id:
            return button
        text = label(pressed.kind)
        changed = changed or text != button.text
        return InlineKeyboardButton(text, callback_data=button.callback_data)

    rows = [[marked(button) for button in row] for row in markup.inline_keyboard]
    return InlineKeyboardMarkup(rows) if changed else None


def without_button(markup: InlineKeyboardMarkup | None, data: str) -> InlineKeyboardMarkup | None:
    """`markup` less the button with callback `data` (None when nothing is left)."""
    if markup is None:
        return None
    rows = [
        [button for button in row if button.callback_data != data] for row in markup.inline_keyboard
    ]
    kept = [row for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None


# ---------------------------------------------------------------- lengths and splitting

_TAG = re.compile(r"<[^>]*>")


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def visible_length(markup: str) -> int:
    """Length of HTML text after Telegram parses its tags and entities."""
    return telegram_length(html.unescape(_TAG.sub("", markup)))


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """HTML text in messages of at most `limit` visible characters: split at blank lines,
    then line breaks; a line longer than `limit` loses its tags and is split at spaces.
    Every tag written here opens and closes on one line, so no split breaks one."""
    return _split(text, limit, markup=True)


def split_plain(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Plain text in messages of at most `limit` characters, split like `split_html`."""
    return _split(text, limit, markup=False)


def _split(text: str, limit: int, *, markup: bool) -> list[str]:
    size = visible_length if markup else telegram_length

    def pieces(block: str, separators: tuple[str, ...]) -> list[str]:
        if size(block) <= limit:
            return [block]
        if not separators:
            plain = html.unescape(_TAG.sub("", block)) if markup else block
            words = _words(plain, limit)
            return [html.escape(w, quote=False) for w in words] if markup else words
        separator, rest = separators[0], separators[1:]
        parts = [p for part in block.split(separator) for p in pieces(part, rest)]
        return _pack(parts, separator, limit, size)

    return [part for part in pieces(text.strip(), ("\n\n", "\n")) if part.strip()]


def _pack(parts: list[str], separator: str, limit: int, measure: Callable[[str], int]) -> list[str]:
    """Consecutive parts joined by `separator` as long as the result fits."""
    packed: list[str] = []
    for part in parts:
        if packed and measure(packed[-1] + separator + part) <= limit:
            packed[-1] += separator + part
        else:
            packed.append(part)
    return packed


def _words(text: str, limit: int) -> list[str]:
    """Plain text cut at spaces (or anywhere, for a longer word) into `limit`-sized pieces."""
    chunks: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if telegram_length(candidate) <= limit:
            current = candidate
            continue
        if current:
            chunks.append(current)
        while telegram_length(word) > limit:
            cut = _cut(word, limit)
            chunks.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        chunks.append(current)
    return chunks


def _cut(text: str, limit: int) -> int:
    """The largest prefix length of `text` whose Telegram length is within `limit`."""
    cut = min(len(text), limit)
    while telegram_length(text[:cut]) > limit:
        cut -= 1
    return cut


def _truncate(text: str, limit: int) -> str:
    """Plain `text` shortened to `limit` characters with an ellipsis."""
    if telegram_length(text) <= limit:
        return text
    return text[: _cut(text, limit - 1)].rstrip() + "…"


# ---------------------------------------------------------------- cards


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _link(label: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{_e(label)}</a>'


def _label(label: str, value: str, parts: CardParts) -> str:
    """`Label: value` as escaped text ("" without a value)."""
    return _e(f"{label}{parts.labels['colon']}{value}") if value else ""


def _bold_label(label: str, value: str, parts: CardParts) -> str:
    """`<b>Label</b>: value` with `value` already HTML."""
    return f"<b>{_e(label)}</b>{_e(parts.labels['colon'])}{value}"


def _head(parts: CardParts) -> str:
    shown = {parts.pdf_url, parts.url}  # the PDF is a button, the title links the abstract
    lines = [
        f"<b>{_link(parts.title, parts.url)}</b>",
        _label(parts.labels["authors"], parts.authors, parts),
        " · ".join(_label(label, value, parts) for label, value in parts.facts),
        _label(parts.labels["venue"], parts.venue, parts),
        " · ".join(_link(label, url) for label, url in parts.links if url not in shown),
    ]
    return "\n".join(line for line in lines if line)


def _summary_blocks(parts: CardParts) -> list[str]:
    lab = parts.labels
    blocks = [_head(parts)]
    if parts.hidden_text:
        blocks.append(f"<b>{_e(parts.hidden_text)}</b>")
    if parts.tldr:
        blocks.append(_bold_label(lab["tldr"], _e(parts.tldr), parts))
    if parts.takeaways:
        bullets = "\n".join(f"• {_e(text)}" for text in parts.takeaways)
        blocks.append(f"<b>{_e(lab['takeaways'])}</b>\n{bullets}")
    return blocks


def _end(parts: CardParts) -> list[str]:
    """Why the card was sent, and what wrote the summary."""
    why = [f"<i>{_e(parts.why)}</i>"] if parts.why else []
    return [*why, f"<i>{_e(parts.source)}</i>"]


def photo_fits(figure: Figure) -> bool:
    """Whether Telegram takes the figure as a photo (size; PNG dimensions when readable)."""
    if len(figure.image) > PHOTO_MAX_BYTES:
        return False
    if figure.image[:8] != b"\x89PNG\r\n\x1a\n" or len(figure.image) < 24:
        return True
    width, height = struct.unpack(">II", figure.image[16:24])
    return (
        min(width, height) > 0
        and width + height <= PHOTO_MAX_SIDES
        and max(width, height) <= PHOTO_MAX_RATIO * min(width, height)
    )


@dataclass(frozen=True)
class CardMessages:
    """One card as Telegram messages: an optional photo with its caption, then texts; the
    keyboard goes on the last message."""

    photo: Figure | None
    caption: str
    texts: list[str]
    keyboard: InlineKeyboardMarkup


def card_messages(card: Card) -> CardMessages:
    """The card as a photo with the whole card as caption when it fits in a caption,
    otherwise a photo with the figure's caption followed by the card as text."""
    parts = card_parts(card)
    blocks = _summary_blocks(parts)
    keyboard = _keyboard(parts)
    text = "\n\n".join([*blocks, *_end(parts)])
    figure = parts.figure if parts.figure is not None and photo_fits(parts.figure) else None
    if figure is None:
        return CardMessages(None, "", split_html(text), keyboard)
    figure_line = f"<i>{_e(parts.figure_caption)}</i>"
    caption = "\n\n".join([*blocks, figure_line, *_end(parts)])
    if visible_length(caption) <= CAPTION_LIMIT:
        return CardMessages(figure, caption, [], keyboard)
    short = f"<i>{_e(_truncate(parts.figure_caption, CAPTION_LIMIT))}</i>"
    return CardMessages(figure, short, split_html(text), keyboard)


def plain_card(card: Card) -> list[str]:
    """The safe form of a card: plain text without markup, split to Telegram's limit."""
    return split_plain(card_text(card))


def details_messages(card: Card) -> list[str]:
    """The structured summary behind "Details": background, prior work, method, results,
    conclusion and keywords."""
    parts = card_parts(card)
    blocks = [f"<b>{_e(parts.labels['details'])}</b> · {_link(parts.title, parts.url)}"]
    for section in parts.details:
        if section.text:
            blocks.append(_bold_label(section.label, _e(section.text), parts))
        else:
            items = "\n".join(
                f"• {_bold_label(label, _e(text), parts)}" for label, text in section.items
            )
            blocks.append(f"<b>{_e(section.label)}</b>\n{items}")
    blocks.append(f"<i>{_e(parts.source)}</i>")
    return split_html("\n\n".join(blocks))


# ---------------------------------------------------------------- digests


def digest_header(digest: Digest) -> str:
    """Title with the date, then the count and the topics."""
    return _header(digest_parts(digest))


def _header(parts: DigestParts) -> str:
    lab = parts.labels
    topics = f"{lab['digest_topics']}{lab['colon']}{parts.topics}"
    return f"<b>{_e(f'{parts.title} · {parts.day}')}</b>\n{_e(parts.count)} · {_e(topics)}"


def digest_list(digest: Digest) -> list[tuple[str, InlineKeyboardMarkup]]:
    """The papers a digest lists after its cards as a compact numbered list (title, score,
    authors, TL;DR per paper) in as few messages as fit, each with a numbered button per
    paper of it that brings its card; none when it lists none."""
    parts = digest_parts(digest)
    if not parts.listed:
        return []
    head = parts.labels["digest_more" if parts.cards else "digest_tap"]
    groups: list[tuple[list[str], list[InlineKeyboardButton]]] = [([_e(head)], [])]
    for listed in parts.listed:
        entry = _list_entry(listed)
        blocks, buttons = groups[-1]
        if (
            len(buttons) == LIST_ITEMS_PER_MESSAGE
            or visible_length("\n\n".join([*blocks, entry])) > TEXT_LIMIT
        ):
            blocks, buttons = [], []
            groups.append((blocks, buttons))
        blocks.append(entry)
        data = button_data(CARD, listed.paper.id, listed.language)
        buttons.append(InlineKeyboardButton(str(listed.number), callback_data=data))
    return [
        ("\n\n".join(blocks), InlineKeyboardMarkup(_rows(buttons, LIST_BUTTONS_PER_ROW)))
        for blocks, buttons in groups
    ]


def _rows(buttons: list[InlineKeyboardButton], width: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + width] for i in range(0, len(buttons), width)]


def _list_entry(parts: ListedParts) -> str:
    score = f" · {_e(parts.score)}" if parts.score else ""
    lines = [f"<b>{parts.number}.</b> {_link(parts.title, parts.url)}{score}", _e(parts.authors)]
    if parts.tldr:
        lines.append(f"<i>{_e(_truncate(parts.tldr, LIST_TLDR_LIMIT))}</i>")
    return "\n".join(lines)
