"""`paperbot` command line (also `python -m bot`): the composition root.

The commands that read arXiv and deliver live here; the operators' commands
(health, backup, shell, channel) in `bot.cli_operations`; what they share
(exit codes, settings, logging, progress) in `bot.cli_base`.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bot.app import open_app
from bot.arxiv.ids import parse_arxiv_id
from bot.cli_base import BadInput, app, progress, run
from bot.cli_operations import audit, backup, channel_app, health, report, shell
from bot.commands import CommandLayer
from bot.config import Settings
from bot.i18n import normalize_language
from bot.models import Card
from bot.retry import ServiceUnavailable
from bot.runner import Runner, cycle, stop_on_signals
from bot.stats import stats as gather_stats
from bot.summarize import PERSON
from bot.topics import parse_topic
from handlers.registry import delivery_platforms, started
from handlers.render import (
    FIGURES_JSON,
    FigureLinks,
    card_json,
    card_markdown,
    card_text,
    digest_hexo,
    digest_json,
    digest_markdown,
    figures_json,
)
from handlers.shell import ShellPlatform


class CardFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


class DigestFormat(StrEnum):
    markdown = "markdown"
    hexo = "hexo"
    json = "json"


def _language(value: str | None, settings: Settings) -> str:
    if value is None:
        return settings.language
    try:
        return normalize_language(value)
    except ValueError as exc:
        raise BadInput(f"--lang {value!r}: {exc}") from None


def _write(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def _save_figures(cards: list[Card], directory: Path, every: bool) -> dict[str, list[str]]:
    """Write each card's key figure (or `every` figure, the key one first) into
    `directory`; returns paper id → file names."""
    directory.mkdir(parents=True, exist_ok=True)
    saved = {}
    for card in cards:
        chosen = card.figures if every else (card.figure,) if card.figure else ()
        for figure in chosen:
            (directory / figure.filename(card.paper)).write_bytes(figure.image)
        if chosen:
            saved[card.paper.id] = [figure.filename(card.paper) for figure in chosen]
    return saved


@app.command()
def summarize(
    paper_id: Annotated[str, typer.Argument(metavar="ID", help="arXiv id or URL")],
    lang: Annotated[str | None, typer.Option(help="summary language (en, zh, ...)")] = None,
    format: Annotated[CardFormat, typer.Option("--format", help="output format")] = CardFormat.text,
    figures: Annotated[
        Path | None, typer.Option(help="save every figure of the paper and figures.json here")
    ] = None,
) -> None:
    """Print the card of one paper."""

    async def work(settings: Settings) -> None:
        ident = parse_arxiv_id(paper_id)
        language = _language(lang, settings)
        async with open_app(settings) as core:
            with progress(f"fetching {ident}"):
                paper = await core.papers.paper(ident)
                card = await core.papers.card(paper, language, figures is not None, PERSON)
        if figures is not None:
            _save_figures([card], figures, every=True)
            listed = json.dumps(figures_json(card), ensure_ascii=False, indent=2)
            (figures / FIGURES_JSON).write_text(listed + "\n", encoding="utf-8")
        if format is CardFormat.json:
            _write(json.dumps(card_json(card), ensure_ascii=False, indent=2), None)
        else:
            _write((card_markdown if format is CardFormat.markdown else card_text)(card), None)

    run(work)


@app.command()
def digest(
    topics: Annotated[list[str], typer.Argument(metavar="TOPIC...", help="topics (quote phrases)")],
    days: Annotated[
        int | None, typer.Option(min=1, max=60, help="papers of the last N days")
    ] = None,
    since: Annotated[str | None, typer.Option(help="papers since YYYY-MM-DD")] = None,
    max: Annotated[int, typer.Option("--max", min=1, max=500, help="at most N papers")] = 20,
    lang: Annotated[str | None, typer.Option(help="summary language (en, zh, ...)")] = None,
    format: Annotated[DigestFormat, typer.Option("--format")] = DigestFormat.markdown,
    out: Annotated[Path | None, typer.Option(help="write to FILE instead of stdout")] = None,
    all_figures: Annotated[
        bool, typer.Option("--all-figures", help="every figure of each paper, not only the key one")
    ] = False,
) -> None:
    """Write a digest of the topics' recent papers (markdown, a hexo blog post, or JSON)."""

    async def work(settings: Settings) -> None:
        if days is not None and since is not None:
            raise BadInput("give --days or --since, not both")
        parsed = [parse_topic(t) for t in topics]
        language = _language(lang, settings)
        start = _since(days, since)
        async with open_app(settings) as core:
            with progress("searching arXiv") as report:
                result = await core.papers.topic_digest(parsed, start, max, language, report)
        figure_links: FigureLinks = {}
        if out is not None and format is not DigestFormat.json:
            saved = _save_figures(result.cards, out.parent / out.stem, all_figures)
            figure_links = {
                pid: [f"{out.stem}/{name}" for name in names] for pid, names in saved.items()
            }
        if format is DigestFormat.json:
            text = json.dumps(digest_json(result), ensure_ascii=False, indent=2)
        elif format is DigestFormat.hexo:
            text = digest_hexo(result, figure_links)
        else:
            text = digest_markdown(result, figure_links)
        _write(text, out)

    run(work)


def _since(days: int | None, since: str | None) -> datetime:
    if since is not None:
        try:
            return datetime.combine(date.fromisoformat(since), datetime.min.time(), UTC)
        except ValueError:
            raise BadInput(f"--since {since!r} is not a date like 2024-04-01") from None
    return datetime.now(UTC) - timedelta(days=days or 1)


@app.command()
def poll(
    once: Annotated[bool, typer.Option("--once", help="one cycle, then exit")] = False,
) -> None:
    """Fetch new papers and deliver what is due (shell chats print to stdout)."""

    async def work(settings: Settings) -> None:
        interval = settings.poll_interval
        async with (
            open_app(settings) as core,
            delivery_platforms() as delivering,
            started(settings, CommandLayer(core), receive=False) as sending,
        ):
            platforms = {"shell": ShellPlatform(sys.stdout), **delivering, **sending}
            if not once:
                runner = Runner(core, platforms, interval)
                await runner.run(stop_on_signals())
                return
            report, _ = await cycle(core, platforms)
            if not report.ok:
                raise ServiceUnavailable("; ".join(report.errors))

    run(work, long_running=True)


@app.command("run")
def run_bot() -> None:
    """Run the bot: every platform whose token is set, polling on schedule."""

    async def work(settings: Settings) -> None:
        interval = settings.poll_interval
        stopping = stop_on_signals()
        async with (
            open_app(settings) as core,
            delivery_platforms() as delivering,
            started(settings, CommandLayer(core), receive=True) as receiving,
        ):
            if not receiving:
                raise BadInput(
                    "no platform configured: set TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN"
                )
            platforms = {**delivering, **receiving}
            await Runner(core, platforms, interval).run(stopping)

    run(work, long_running=True)


@app.command()
def stats() -> None:
    """Chats, topics, papers, deliveries, summaries, model use, the last poll and audit."""

    async def work(settings: Settings) -> None:
        async with open_app(settings) as core:
            figures = await gather_stats(core.store, settings.llm_budget)
        width = max(len(name) for name in figures)
        for name, value in figures.items():
            typer.echo(f"{name:<{width}}  {value}")

    run(work)


app.command()(health)
app.command()(audit)
app.command()(report)
app.command()(backup)
app.command()(shell)
app.add_typer(channel_app, name="channel")


def main() -> None:
    app()
