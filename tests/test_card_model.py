"""The card model: every renderer reads a card only through `CardParts`, built once per card,
so a new card line is one field plus one line per renderer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from bot.models import Card, Figure, Paper
from handlers import card_model, discord_render, render, telegram_render
from handlers.card_model import card_parts, digest_parts
from tests.fake_telegram import parse_html, png
from tests.test_render import _card, _digest, _rendered_text, papers

__all__ = ["papers"]  # fixture shared with test_render

WHY = "matched: gaussian splatting · like: 3DGSR"
FIGURE = Figure(1, 2, "Overview of the method.", png(40, 30))


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paper ids `card_parts` is called for, whichever module calls it."""
    calls: list[str] = []
    real = card_model.card_parts

    def spy(card: Card) -> card_model.CardParts:
        calls.append(card.paper.id)
        return real(card)

    for module in (card_model, render, telegram_render, discord_render):
        monkeypatch.setattr(module, "card_parts", spy)
    return calls


CARD_RENDERERS: list[Callable[[Card], Any]] = [
    render.card_text,
    render.card_markdown,
    render.card_json,
    telegram_render.card_messages,
    telegram_render.details_messages,
    telegram_render.plain_card,
    discord_render.card_message,
    discord_render.details_messages,
]
DIGEST_RENDERERS = [
    render.digest_text,
    render.digest_markdown,
    render.digest_hexo,
    render.digest_json,
    telegram_render.digest_header,
    telegram_render.digest_list,
    discord_render.digest_messages,
]


def test_every_renderer_builds_the_parts_once_per_card(
    papers: list[Paper], built: list[str]
) -> None:
    card = _card(papers[0], figure=FIGURE, method="A method.")
    for renderer in CARD_RENDERERS:
        built.clear()
        renderer(card)
        assert built == [card.paper.id], renderer.__qualname__
    digest = _digest([_card(paper) for paper in papers[:3]])
    for digest_renderer in DIGEST_RENDERERS:
        built.clear()
        digest_renderer(digest)
        assert built == [paper.id for paper in papers[:3]], digest_renderer.__qualname__


def test_the_why_line_is_one_field_shown_by_every_renderer(papers: list[Paper]) -> None:
    plain = _card(papers[0], figure=FIGURE)
    card = replace(plain, why=WHY)
    assert card_parts(card).why == WHY and card_parts(plain).why == ""
    assert render.card_text(card).replace(f"{WHY}\n\n", "") == render.card_text(plain)
    assert WHY in _rendered_text(render.card_markdown(card))
    assert WHY in _rendered_text(render.digest_markdown(_digest([card])))
    assert render.card_json(card)["why"] == WHY and render.card_json(plain)["why"] == ""
    assert WHY in _telegram_shown(card) and WHY not in _telegram_shown(plain)
    (embed,) = discord_render.card_message(card).embeds
    assert embed["footer"]["text"].startswith(WHY)
    assert WHY not in discord_render.card_message(plain).embeds[0]["footer"]["text"]
    assert WHY not in render.card_text(plain) + render.card_markdown(plain)


def test_the_hidden_text_warning_is_one_field_shown_by_every_renderer(
    papers: list[Paper],
) -> None:
    plain = _card(papers[0], figure=FIGURE)
    card = replace(plain, hides_text=True)
    warning = card_parts(card).hidden_text
    assert warning.startswith("⚠️ This PDF hides text") and card_parts(plain).hidden_text == ""
    assert card_parts(replace(card, language="zh")).hidden_text.startswith("⚠️ 此 PDF")
    assert render.card_text(card).replace(f"{warning}\n\n", "") == render.card_text(plain)
    assert warning in _rendered_text(render.card_markdown(card))
    assert warning in _rendered_text(render.digest_markdown(_digest([card])))
    assert warning in _rendered_text(render.digest_hexo(_digest([card])))
    assert render.card_json(card)["hides_text"] and not render.card_json(plain)["hides_text"]
    assert warning in _telegram_shown(card) and warning not in _telegram_shown(plain)
    (embed,) = discord_render.card_message(card).embeds
    assert warning in embed["description"]
    assert "hides text" not in render.card_text(plain) + render.card_markdown(plain)


def _telegram_shown(card: Card) -> str:
    messages = telegram_render.card_messages(card)
    return "\n".join(parse_html(text) for text in (messages.caption, *messages.texts))


def test_figure_file_name_is_the_figures_own(papers: list[Paper]) -> None:
    card = _card(papers[0], figure=FIGURE)
    name = FIGURE.filename(card.paper)
    assert name == f"{card.paper.id}-fig1.png"
    assert card_parts(card).figure_filename == name
    (upload,) = discord_render.card_message(card).files
    assert upload.filename == name
    old_style = replace(card.paper, id="hep-th/9901001")
    jpeg = replace(FIGURE, number=3, mime_type="image/jpeg")
    assert jpeg.filename(old_style) == "hep-th_9901001-fig3.jpg"
    assert card_parts(_card(papers[0])).figure_filename == ""


def test_digest_parts_say_the_header_once_for_every_renderer(papers: list[Paper]) -> None:
    digest = _digest([_card(paper) for paper in papers[:2]])
    parts = digest_parts(digest)
    assert (parts.title, parts.day, parts.count) == ("arXiv digest", "2026-01-05", "2 new papers")
    assert (parts.topics, parts.tags) == ("testing, cs.SE", ("testing", "cs.SE"))
    header = f"{parts.title} · {parts.day}"
    assert render.digest_text(digest).startswith(f"{header}\n{parts.count} · Topics: testing")
    assert _rendered_text(render.digest_markdown(digest)).startswith(header)
    assert parse_html(telegram_render.digest_header(digest)).startswith(f"{header}\n")
    content = discord_render.digest_messages(digest)[0].content
    assert content.startswith(f"**{parts.title}** · {parts.day} · {parts.count}")
    untitled = digest_parts(replace(digest, topics=[" "]))
    assert (untitled.topics, untitled.tags) == ("arXiv digest", ())
    hexo = render.digest_hexo(digest, now=datetime(2026, 1, 5))
    assert "\ntitle: testing, cs.SE\n" in hexo and parts.disclaimer in _rendered_text(hexo)
