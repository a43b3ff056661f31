"""Telegram HTML rendering (handlers/telegram_render.py) with real arXiv fixture papers,
checked by the fake Bot API's HTML parser: what Telegram accepts and what the user reads."""

from __future__ import annotations

from dataclasses import replace

import pytest
from telegram import InlineKeyboardMarkup

from bot.models import Card, Figure, Paper
from handlers.telegram_render import (
    CAPTION_LIMIT,
    CARD,
    DETAILS,
    TEXT_LIMIT,
    Button,
    button_data,
    card_messages,
    details_messages,
    digest_header,
    digest_list,
    parse_button,
    photo_fits,
    plain_card,
    split_html,
    split_plain,
    visible_length,
    without_button,
)
from tests.fake_telegram import parse_html, png, utf16_length
from tests.test_render import TRICKY_TITLE, _card, _digest, _listed, many_authors, papers

__all__ = ["many_authors", "papers"]  # fixtures shared with test_render

FIGURE = Figure(1, 3, "Overview: <encoder> & decoder.", png(40, 30))
SHORT_ABSTRACT = "We test models. Testing finds bugs. Bugs get fixed. Models improve."


def readable(markup: str, limit: int = TEXT_LIMIT) -> str:
    """What Telegram shows for `markup`, asserting that it accepts it."""
    visible = parse_html(markup)
    assert 0 < utf16_length(visible) <= limit
    assert utf16_length(visible) == visible_length(markup)
    return visible


def test_card_without_figure_is_one_valid_message(papers: list[Paper]) -> None:
    for paper in papers:
        for language in ("en", "zh"):
            card = _card(paper, language)
            messages = card_messages(card)
            assert messages.photo is None and messages.caption == ""
            (text,) = messages.texts
            seen = readable(text)
            assert seen.startswith(" ".join(paper.title.split()))
            assert paper.authors[0] in seen
            assert card.summary.tldr in seen
            assert f'<a href="{paper.abs_url}">' in text
            assert messages.keyboard.inline_keyboard[0][-1].url == card.pdf_url


def test_arxiv_and_model_text_is_escaped(papers: list[Paper]) -> None:
    paper = replace(
        papers[0], title=TRICKY_TITLE, authors=("A <b>Bold</b> & Co",), abstract=SHORT_ABSTRACT
    )
    card = _card(paper, figure=FIGURE, method="x < y && <script>alert(1)</script>")
    caption = card_messages(card).caption
    seen = readable(caption, CAPTION_LIMIT)
    assert seen.startswith(TRICKY_TITLE)
    assert "Authors: A <b>Bold</b> & Co" in seen
    assert "Figure 1: Overview: <encoder> & decoder." in seen
    (details,) = details_messages(card)
    assert "Method: x < y && <script>alert(1)</script>" in readable(details)


def test_photo_takes_the_card_as_caption_when_it_fits(papers: list[Paper]) -> None:
    short = _card(replace(papers[0], abstract=SHORT_ABSTRACT), figure=FIGURE)
    messages = card_messages(short)
    assert messages.photo is FIGURE and messages.texts == []
    assert visible_length(messages.caption) <= CAPTION_LIMIT

    long = replace(short, summary=short.summary.model_copy(update={"tldr": "Long. " * 200}))
    messages = card_messages(long)
    assert messages.photo is FIGURE
    assert readable(messages.caption, CAPTION_LIMIT) == "Figure 1: Overview: <encoder> & decoder."
    (text,) = messages.texts
    assert readable(text).count("Long.") == 200


def test_figures_telegram_would_refuse_are_left_out(papers: list[Paper]) -> None:
    strip = replace(FIGURE, image=png(2100, 100))
    huge = replace(FIGURE, image=b"\x89PNG" + bytes(11 * 1024 * 1024))
    assert photo_fits(FIGURE) and not photo_fits(strip) and not photo_fits(huge)
    messages = card_messages(_card(papers[0], figure=strip))
    assert messages.photo is None and len(messages.texts) == 1


def test_long_details_split_at_paragraphs_under_the_limit(papers: list[Paper]) -> None:
    sentence = "The method uses a <gated> & sparse attention over 1,024 tokens. "
    card = _card(papers[0], background="Short background.", method=sentence * 100)
    parts = details_messages(card)
    assert len(parts) == 3
    seen = [readable(part) for part in parts]
    assert seen[0].endswith("Background: Short background.")
    assert seen[1].startswith("Method: The method uses a <gated>")
    assert "".join(seen[1:]).count("<gated> & sparse") == 100


def test_split_counts_utf16_and_cuts_words_only_when_needed() -> None:
    emoji = "🧪" * 3000  # 6000 UTF-16 code units
    assert [utf16_length(part) for part in split_plain(emoji)] == [4096, 1904]
    word = "x" * 5000
    assert split_plain(f"head\n\n{word}") == ["head", "x" * 4096, "x" * 904]
    assert split_html("<b>a</b>\n\nb") == ["<b>a</b>\n\nb"]
    lines = "\n".join(f"<i>line {i}</i>" for i in range(1000))
    parts = split_html(lines)
    assert all(readable(part) for part in parts)
    assert sum(len(parse_html(p).splitlines()) for p in parts) == 1000


def test_plain_card_is_the_text_card(papers: list[Paper]) -> None:
    card = _card(replace(papers[0], title="A <b>title</b>"))
    (text,) = plain_card(card)
    assert text.startswith("A <b>title</b>\nAuthors: ")


def test_buttons_are_small_and_ours() -> None:
    assert button_data(DETAILS, "2404.00409", "en") == "d:2404.00409:en"
    assert parse_button("d:2404.00409:en") == Button(DETAILS, "2404.00409", "en")
    assert parse_button("c:hep-th/9901001:zh") == Button(CARD, "hep-th/9901001", "zh")
    long = button_data(DETAILS, "2404.00409", "x" * 60)
    assert long == "d:2404.00409" and parse_button(long) == Button(DETAILS, "2404.00409", None)
    assert parse_button("something else") is None and parse_button(None) is None


def test_card_keyboard_has_details_only_when_there_are_details(papers: list[Paper]) -> None:
    bare = card_messages(_card(papers[0])).keyboard.inline_keyboard[0]
    assert [b.text for b in bare] == ["PDF"]
    rich = card_messages(_card(papers[0], "zh", method="方法。")).keyboard.inline_keyboard[0]
    assert [b.text for b in rich] == ["详细总结", "PDF"]
    assert rich[0].callback_data == f"d:{papers[0].id}:zh"
    assert without_button(InlineKeyboardMarkup([rich]), rich[0].callback_data) == (
        InlineKeyboardMarkup([[rich[1]]])
    )
    assert without_button(InlineKeyboardMarkup([[rich[0]]]), rich[0].callback_data) is None


def test_digest_header_and_compact_list(papers: list[Paper]) -> None:
    numbered = [replace(papers[i % len(papers)], id=f"2511.{i:05d}") for i in range(45)]
    cards = [_card(paper) for paper in numbered[:5]]
    listed = [_listed(paper, 1 - i / 100) for i, paper in enumerate(numbered[5:])]
    digest = _digest(cards, listed=listed)
    assert readable(digest_header(digest)) == (
        "arXiv digest · 2026-01-05\n45 new papers · Topics: testing, cs.SE"
    )
    messages = digest_list(digest)
    assert len(messages) >= 2
    numbers = []
    for text, keyboard in messages:
        seen = readable(text)
        assert all(len(row) <= 5 for row in keyboard.inline_keyboard)
        buttons = [b for row in keyboard.inline_keyboard for b in row]
        numbers += [int(b.text) for b in buttons]
        for button in buttons:
            assert f"{button.text}. " in seen
            assert parse_button(button.callback_data) == Button(
                CARD, numbered[int(button.text) - 1].id, "en"
            )
    assert numbers == list(range(6, 46))
    first = readable(messages[0][0])
    assert first.startswith("More papers, best first; tap a number")
    assert f"6. {' '.join(numbered[5].title.split())} · 1.00" in first
    assert digest_list(_digest(cards)) == []
    alone = digest_list(_digest([], listed=listed[:1]))
    assert readable(alone[0][0]).startswith("Tap a number for the paper's card.")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_many_authors_are_cut(many_authors: Paper, language: str) -> None:
    card: Card = _card(many_authors, language)
    seen = readable(card_messages(card).texts[0])
    et_al = "et al." if language == "en" else "等"
    assert f"{many_authors.authors[5]} {et_al}" in seen
    assert many_authors.authors[6] not in seen
