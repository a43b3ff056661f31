"""Cards, digests and details as Discord messages: what a channel shows, within every limit."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from bot.models import Card, Digest, Figure, Listed, Paper, Summary
from bot.summarize.clean import clean
from handlers.discord_render import (
    BUTTONS_PER_MESSAGE,
    CONTENT_CHARS,
    EMBED_DESCRIPTION_CHARS,
    EMBED_FIELD_NAME_CHARS,
    EMBED_FIELD_VALUE_CHARS,
    EMBED_FIELDS,
    EMBED_FOOTER_CHARS,
    EMBED_TITLE_CHARS,
    EMBED_TOTAL_CHARS,
    EMBEDS_PER_MESSAGE,
    FILES_PER_MESSAGE,
    UPLOAD_BYTES,
    Message,
    buttons,
    card_message,
    details_messages,
    digest_messages,
    embed_size,
    text_messages,
)
from handlers.escape import escape_discord, escape_markdown

TRICKY = r"*Fast* __bold__ [x](y) ||spoiler|| <@123> <#9> <:e:1> ~~gone~~ `code` a\*b"
_ESCAPE = re.compile(r"\\([^0-9A-Za-z\s])")  # Discord's rule: a backslash escapes punctuation
_SPECIAL = set("*_~|`[]")


def paper(number: int = 409, **changes: object) -> Paper:
    fields: dict[str, object] = {
        "id": f"2404.{number:05d}",
        "version": 2,
        "title": f"Paper {number}: Gaussian Splatting for Everything",
        "authors": tuple(f"Author {i}" for i in range(8)),
        "abstract": "We splat. Code: https://github.com/lab/splat",
        "categories": ("cs.CV", "cs.GR"),
        "primary_category": "cs.CV",
        "published": datetime(2024, 4, 1, tzinfo=UTC),
        "updated": datetime(2024, 4, 3, tzinfo=UTC),
        "comment": "Accepted at CVPR 2024",
    }
    return Paper(**{**fields, **changes})  # type: ignore[arg-type]


def summary(**changes: object) -> Summary:
    fields: dict[str, object] = {
        "tldr": "Splats *everything* fast.",
        "takeaways": ["Renders at 100 fps.", "Beats NeRF_x on ||all|| scenes.", "Code is open."],
        "background": "Radiance fields are slow.",
        "prior_work": "NeRF needs hours.",
        "method": "Gaussians are splatted.",
        "results": "PSNR 30.1 on Mip-NeRF 360.",
        "significance": "Real-time rendering.",
        "novelty": "Tile rasterizer.",
        "keywords": ["splatting", "rendering"],
        "language": "en",
        "model": "gemini-2.5-flash",
        "source": "fulltext",
    }
    return clean(Summary(**{**fields, **changes}))  # type: ignore[arg-type]


def figure(size: int = 2048) -> Figure:
    return Figure(number=1, page=2, caption="Overview of the *pipeline*.", image=b"\x89PNG" * size)


def card(number: int = 409, *, with_figure: bool = True, **paper_changes: object) -> Card:
    return Card(
        paper=paper(number, **paper_changes),
        summary=summary(),
        language="en",
        pdf_url=f"https://arxiv.org/pdf/2404.{number:05d}v2",
        figure=figure() if with_figure else None,
    )


def shown(text: str) -> str:
    """What Discord shows for escaped markdown text (backslash escapes removed)."""
    return _ESCAPE.sub(r"\1", text)


def unescaped_specials(text: str) -> list[str]:
    found, index = [], 0
    while index < len(text):
        if text[index] == "\\" and index + 1 < len(text):
            index += 2
            continue
        if text[index] in _SPECIAL or text[index : index + 2] in ("<@", "<#", "<:"):
            found.append(text[index])
        index += 1
    return found


def assert_within_limits(message: Message) -> None:
    assert len(message.content) <= CONTENT_CHARS
    assert len(message.embeds) <= EMBEDS_PER_MESSAGE
    assert len(message.files) <= FILES_PER_MESSAGE
    assert buttons(message) <= BUTTONS_PER_MESSAGE
    assert sum(len(f.data) for f in message.files) <= UPLOAD_BYTES
    assert sum(map(embed_size, message.embeds)) <= EMBED_TOTAL_CHARS
    for embed in message.embeds:
        assert len(embed.get("title", "")) <= EMBED_TITLE_CHARS
        assert len(embed.get("description", "")) <= EMBED_DESCRIPTION_CHARS
        assert len(embed.get("footer", {}).get("text", "")) <= EMBED_FOOTER_CHARS
        assert len(embed.get("fields", [])) <= EMBED_FIELDS
        for item in embed.get("fields", []):
            assert 0 < len(item["name"]) <= EMBED_FIELD_NAME_CHARS
            assert 0 < len(item["value"]) <= EMBED_FIELD_VALUE_CHARS
    for upload in message.files:
        images = [e["image"]["url"] for e in message.embeds if "image" in e]
        assert f"attachment://{upload.filename}" in images


@pytest.mark.parametrize(
    "text",
    [TRICKY, "# heading", "-# subtext", "> quote", "- bullet", "1. list", "@everyone hi", "a|b"],
)
def test_discord_escaping_shows_text_literally(text: str) -> None:
    escaped = escape_discord(text)
    assert shown(escaped) == text
    assert unescaped_specials(escaped) == []
    assert not re.match(r"[#>\-]|\d+\.", escaped)


def test_discord_escaping_leaves_plain_text_and_hexo_braces_alone() -> None:
    plain = "Splatting 3D scenes: 3 < 4 & {x} at 100 fps"
    assert escape_discord(plain) == plain
    assert escape_markdown("{{ x }}") == "&#123;{ x }}"


def test_card_embed_shows_the_paper() -> None:
    message = card_message(card(title=TRICKY))
    (embed,) = message.embeds
    assert shown(embed["title"]) == TRICKY
    assert embed["url"] == "https://arxiv.org/abs/2404.00409"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Authors"] == "Author 0, Author 1, Author 2, Author 3, Author 4, Author 5 et al."
    assert fields["Category"] == "cs.CV"
    assert fields["Published"] == "2024-04-01"
    assert fields["Venue"] == "CVPR 2024"
    assert fields["Figure"] == r"Figure 1: Overview of the \*pipeline\*."
    description = embed["description"]
    assert "[PDF](https://arxiv.org/pdf/2404.00409v2)" in description
    assert "[Code](https://github.com/lab/splat)" in description
    assert r"**TL;DR**: Splats \*everything\* fast." in description
    assert r"- Beats NeRF\_x on \|\|all\|\| scenes." in description
    assert embed["footer"]["text"] == "Summary source: language model, full text"
    assert message.details == (("Details", "2404.00409v2"),)
    assert_within_limits(message)


def test_card_figure_is_attached_and_shown_or_left_out() -> None:
    message = card_message(card())
    (upload,) = message.files
    assert upload.filename == "2404.00409-fig1.png"
    assert upload.data == figure().image and upload.content_type == "image/png"
    assert upload.description == "Figure 1: Overview of the *pipeline*."
    assert message.embeds[0]["image"] == {"url": "attachment://2404.00409-fig1.png"}

    without = card_message(card(with_figure=False))
    assert without.files == () and "image" not in without.embeds[0]
    assert "Figure" not in {f["name"] for f in without.embeds[0]["fields"]}

    too_big = Card(**{**card().__dict__, "figure": figure(UPLOAD_BYTES // 4 + 1)})
    assert card_message(too_big).files == ()
    assert "image" not in card_message(too_big).embeds[0]


def test_old_style_ids_make_safe_file_names() -> None:
    message = card_message(card(id="hep-th/9901001"))
    assert message.files[0].filename == "hep-th_9901001-fig1.png"


def test_overlong_parts_are_cut_to_discord_limits() -> None:
    huge = Card(
        paper=paper(title="Long *title* " * 60, authors=("A" * 2000,), comment="x" * 3000),
        summary=summary(tldr="t " * 3000, takeaways=["w " * 2000] * 5),
        language="en",
        pdf_url="https://arxiv.org/pdf/2404.00409v2",
        figure=Figure(1, 1, "c" * 5000, b"png"),
    )
    message = card_message(huge)
    assert_within_limits(message)
    embed = message.embeds[0]
    assert embed["title"].endswith("…") and embed["description"].endswith("…")
    assert embed_size(embed) <= EMBED_TOTAL_CHARS


def test_digest_splits_over_messages_within_limits() -> None:
    cards = [card(number) for number in range(1, 26)]
    digest = Digest(
        cards=cards, topics=["cs.CV", "gaussian *splatting*"], day=date(2024, 4, 2), language="en"
    )
    messages = digest_messages(digest)
    assert len(messages) > 2
    first = messages[0].content
    assert first.startswith("**arXiv digest** · 2024-04-02 · 25 new papers")
    assert r"Topics: cs.CV, gaussian \*splatting\*" in first
    for message in messages:
        assert_within_limits(message)
    urls = [embed["url"] for message in messages for embed in message.embeds]
    assert urls == [f"https://arxiv.org/abs/2404.{n:05d}" for n in range(1, 26)]
    buttons = [button for message in messages for button in message.details]
    assert buttons[0] == ("Details 1", "2404.00001v2") and buttons[-1][0] == "Details 25"


def test_digest_lists_the_papers_after_its_cards_within_limits() -> None:
    listed = [
        Listed(
            paper(number, title=f"{TRICKY} {number}"),
            "A long TL;DR. " * 40,
            "en",
            why=f"matched: cs.CV · like: Paper {number}",
            score=1 - number / 100,
        )
        for number in range(4, 64)
    ]
    digest = Digest(
        cards=[card(n) for n in range(1, 4)],
        topics=["cs.CV"],
        day=date(2024, 4, 2),
        language="en",
        listed=listed,
    )
    messages = digest_messages(digest)
    assert messages[0].content.startswith("**arXiv digest** · 2024-04-02 · 63 new papers")
    cards = [m for m in messages if m.details]
    assert [p for m in cards for p in m.papers] == [f"2404.{n:05d}" for n in range(1, 4)]
    listing = messages[len(cards) :]
    assert listing[0].content == "More papers, best first; tap a number for the paper's card."
    opens = [button for message in listing for button in message.opens]
    assert opens == [(str(n), f"2404.{n:05d}") for n in range(4, 64)]
    assert [p for m in listing for p in m.papers] == [f"2404.{n:05d}" for n in range(4, 64)]
    for message in listing:
        assert_within_limits(message)
        assert not message.details and not message.votes and not message.files
        (embed,) = message.embeds
        for number, paper_id in message.opens:
            entry = embed["description"].split(f"**{number}.** ")[1].split("\n\n")[0]
            first, authors, tldr = entry.split("\n")
            assert shown(first).startswith(f"[{TRICKY} {number}](https://arxiv.org/abs/{paper_id})")
            assert shown(first).endswith(f" · {1 - int(number) / 100:.2f} · {paper_id}")
            assert authors == "Author 0, Author 1, Author 2, Author 3, Author 4, Author 5 et al."
            assert tldr.startswith("*A long TL;DR.") and len(tldr) <= 202

    plain = digest_messages(digest, buttons=False)
    assert plain[len(cards)].content == "More papers, best first:"
    assert all(not m.opens for m in plain)
    description = plain[len(cards)].embeds[0]["description"]
    assert "*matched: cs.CV · like: Paper 4*" in description
    assert "**4.** " in description and " · 2404.00004\n" in shown(description)


def test_empty_digest_says_so() -> None:
    (message,) = digest_messages(
        Digest(cards=[], topics=["cs.CV"], day=date(2024, 4, 2), language="zh")
    )
    assert "没有新论文。" in message.content and message.embeds == ()


def test_details_show_the_structured_summary() -> None:
    (message,) = details_messages(card())
    (embed,) = message.embeds
    assert embed["title"].startswith("Details: Paper 409")
    text = embed["description"]
    for part in (
        "**Background**\nRadiance fields are slow.",
        "**Prior work and its problems**\nNeRF needs hours.",
        "**Method**\nGaussians are splatted.",
        "**Results**\nPSNR 30.1 on Mip-NeRF 360.",
        "**Conclusion**\n- **Significance**: Real-time rendering.\n- **Novelty**: Tile rasterizer.",
        "**Keywords**\nsplatting, rendering",
    ):
        assert part in text
    assert message.details == () and message.files == ()


def test_long_details_are_split_within_limits() -> None:
    long = Card(
        **{
            **card().__dict__,
            "summary": summary(
                **{
                    name: f"{name} sentence. " * 400
                    for name in ("background", "prior_work", "method", "results")
                }
            ),
        }
    )
    messages = details_messages(long)
    embeds = [embed for message in messages for embed in message.embeds]
    assert len(embeds) >= 4
    for message in messages:
        assert_within_limits(message)
    assert "footer" in embeds[-1]


def test_text_replies_are_escaped_and_split() -> None:
    (single,) = text_messages("Following au:Mildenhall\nNot followed here: *x*")
    assert single == "Following au:Mildenhall\nNot followed here: \\*x\\*"
    chunks = text_messages("\n".join(f"• topic {i} " + "y" * 90 for i in range(100)))
    assert len(chunks) > 1 and all(len(chunk) <= CONTENT_CHARS for chunk in chunks)
    assert sum(chunk.count("• topic") for chunk in chunks) == 100
