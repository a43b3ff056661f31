"""`paperbot` command line (also `python -m bot`): the composition root.

Exit status (SPEC.md): 0 success, 1 a service failed after retries, 2 bad
usage or bad input, with a one-line reason on stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console

from bot.app import open_service
from bot.arxiv.ids import InvalidArxivId, parse_arxiv_id
from bot.arxiv.parse import ArxivQueryError
from bot.commands import Command, CommandLayer
from bot.config import ConfigError, Settings
from bot.i18n import normalize_language
from bot.logs import setup_logging
from bot.models import Card, Chat
from bot.retry import ServiceUnavailable
from bot.runner import Runner, cycle, stop_on_signals
from bot.service import ChatRef, PaperNotFound, PaperService
from bot.topics import TopicError, parse_topic
from handlers.discord_webhook import (
    PLATFORM as WEBHOOK,
)
from handlers.discord_webhook import (
    BadWebhookUrl,
    DiscordWebhooks,
    WebhookUrl,
    parse_webhook_url,
)
from handlers.registry import delivery_platforms, started
from handlers.render import (
    card_json,
    card_markdown,
    card_text,
    digest_hexo,
    digest_json,
    digest_markdown,
)
from handlers.shell import ShellPlatform, run_shell
from storage.database import backup as backup_database
from storage.database import open_existing
from storage.repository import Repository

T = TypeVar("T")
log = logging.getLogger("paperbot")

# `paperbot health`: unhealthy when no poll succeeded for this many poll intervals
HEALTHY_POLL_INTERVALS = 3

app = typer.Typer(
    name="paperbot",
    help="Follow arXiv topics: new papers, faithful summaries, key figures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)


class CardFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


class DigestFormat(StrEnum):
    markdown = "markdown"
    hexo = "hexo"
    json = "json"


class BadInput(Exception):
    """Bad usage or input: exit 2."""


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"paperbot: {message}", err=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """Settings from the environment, or exit 2 with the reason."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        fail(str(exc), 2)
    setup_logging(settings)
    return settings


def run(work: Callable[[Settings], Awaitable[T]]) -> T:
    """Load settings, run `work` on an event loop, map failures to exit codes."""
    settings = load_settings()
    try:
        return asyncio.run(work(settings))
    except (
        BadInput,
        ConfigError,
        InvalidArxivId,
        PaperNotFound,
        TopicError,
        ArxivQueryError,
        BadWebhookUrl,
    ) as exc:
        fail(str(exc), 2)
    except ServiceUnavailable as exc:
        fail(str(exc), 1)
    except KeyboardInterrupt:
        fail("interrupted", 130)


def progress(message: str) -> object:
    """A spinner on a terminal; nothing when stderr is piped."""
    return stderr.status(message) if stderr.is_terminal else nullcontext()


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


def _save_figures(cards: list[Card], directory: Path) -> dict[str, str]:
    """Write each card's figure into `directory`; returns paper id → file name."""
    directory.mkdir(parents=True, exist_ok=True)
    saved = {}
    for card in cards:
        if card.figure is not None:
            name = card.figure.filename(card.paper)
            (directory / name).write_bytes(card.figure.image)
            saved[card.paper.id] = name
    return saved


@app.command()
def summarize(
    paper_id: Annotated[str, typer.Argument(metavar="ID", help="arXiv id or URL")],
    lang: Annotated[str | None, typer.Option(help="summary language (en, zh, ...)")] = None,
    format: Annotated[CardFormat, typer.Option("--format", help="output format")] = CardFormat.text,
    figures: Annotated[Path | None, typer.Option(help="save the paper's figures here")] = None,
) -> None:
    """Print the card of one paper."""

    async def work(settings: Settings) -> None:
        ident = parse_arxiv_id(paper_id)
        language = _language(lang, settings)
        async with open_service(settings) as service:
            with progress(f"fetching {ident}"):
                paper = await service.paper(ident)
                card = await service.card(paper, language, figures is not None)
        if figures is not None:
            _save_figures([card], figures)
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
) -> None:
    """Write a digest of the topics' recent papers (markdown, a hexo blog post, or JSON)."""

    async def work(settings: Settings) -> None:
        if days is not None and since is not None:
            raise BadInput("give --days or --since, not both")
        parsed = [parse_topic(t) for t in topics]
        language = _language(lang, settings)
        start = _since(days, since)
        async with open_service(settings) as service:
            with progress("searching arXiv"):
                result = await service.topic_digest(parsed, start, max, language)
        figure_links: dict[str, str] = {}
        if out is not None and format is not DigestFormat.json:
            figure_links = {
                pid: f"{out.stem}/{name}"
                for pid, name in _save_figures(result.cards, out.parent / out.stem).items()
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
        async with (
            open_service(settings) as service,
            delivery_platforms() as delivering,
            started(settings, CommandLayer(service), receive=False) as sending,
        ):
            platforms = {"shell": ShellPlatform(sys.stdout), **delivering, **sending}
            if not once:
                runner = Runner(service, platforms, settings.poll_interval)
                await runner.run(stop_on_signals())
                return
            report, _ = await cycle(service, platforms)
            if not report.ok:
                raise ServiceUnavailable("; ".join(report.errors))

    run(work)


@app.command("run")
def run_bot() -> None:
    """Run the bot: every platform whose token is set, polling on schedule."""

    async def work(settings: Settings) -> None:
        stopping = stop_on_signals()
        async with (
            open_service(settings) as service,
            delivery_platforms() as delivering,
            started(settings, CommandLayer(service), receive=True) as receiving,
        ):
            if not receiving:
                raise BadInput(
                    "no platform configured: set TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN"
                )
            platforms = {**delivering, **receiving}
            await Runner(service, platforms, settings.poll_interval).run(stopping)

    run(work)


@app.command()
def stats() -> None:
    """Chats, topics, papers, deliveries, summaries, model use and the last poll."""

    async def work(settings: Settings) -> None:
        async with open_service(settings) as service:
            figures = await service.stats()
        width = max(len(name) for name in figures)
        for name, value in figures.items():
            typer.echo(f"{name:<{width}}  {value}")

    run(work)


@app.command()
def health(
    max_age: Annotated[
        float | None,
        typer.Option(
            min=60,
            help=f"seconds since the last successful poll that are still healthy "
            f"(default {HEALTHY_POLL_INTERVALS} x PAPERBOT_POLL_INTERVAL)",
        ),
    ] = None,
) -> None:
    """Exit 0 if the database reads and a poll succeeded recently, else 1 (HEALTHCHECK)."""
    settings = load_settings()
    try:
        db = open_existing(settings.db_path)
        try:
            last = Repository(db).last_successful_poll()
        finally:
            db.close()
    except (OSError, sqlite3.Error) as exc:
        fail(f"unhealthy: database {settings.db_path} unreadable: {exc}", 1)
    if last is None:
        fail("unhealthy: no poll has succeeded yet", 1)
    limit = max_age or HEALTHY_POLL_INTERVALS * settings.poll_interval
    age = (datetime.now(UTC) - datetime.fromisoformat(last["finished_at"])).total_seconds()
    if age > limit:
        fail(f"unhealthy: the last successful poll was {age / 60:.0f} min ago", 1)
    typer.echo(f"healthy: the last successful poll was {age / 60:.0f} min ago")


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="where to write the copy")],
) -> None:
    """Copy the database to FILE while the bot runs (restore: see README)."""
    settings = load_settings()
    if file.resolve() == settings.db_path.resolve():
        fail("FILE is the database itself; give another path", 2)
    try:
        size = backup_database(settings.db_path, file)
    except (OSError, sqlite3.Error) as exc:
        fail(f"backup failed: {exc}", 1)
    typer.echo(f"backed up {settings.db_path} to {file} ({size / 1e6:.1f} MB)")


@app.command()
def shell() -> None:
    """Talk to the bot in the terminal, as one chat (stdin lines are messages)."""

    async def work(settings: Settings) -> None:
        async with open_service(settings) as service:
            await run_shell(CommandLayer(service), sys.stdin, sys.stdout, sys.stdin.isatty())

    run(work)


channel_app = typer.Typer(
    help="Channels reached without a bot member: Discord webhooks.",
    no_args_is_help=True,
)
app.add_typer(channel_app, name="channel")


class ChannelKind(StrEnum):
    discord_webhook = WEBHOOK


WebhookArg = Annotated[
    str,
    typer.Argument(
        metavar="WEBHOOK", help="the webhook URL, or - to read it from stdin; or its id once added"
    ),
]


def _webhook(value: str) -> WebhookUrl:
    return parse_webhook_url(sys.stdin.readline() if value == "-" else value)


async def _webhook_chat(service: PaperService, value: str) -> Chat:
    """The stored webhook channel given by its URL or webhook id."""
    wanted = value.strip() if value.strip().isdigit() else _webhook(value).webhook_id
    for chat in await service.chats(WEBHOOK):
        if parse_webhook_url(chat.chat_id).webhook_id == wanted:
            return chat
    raise BadInput(f"no webhook channel {wanted}; see paperbot channel list")


async def _say(service: PaperService, chat: ChatRef, name: str, args: str) -> None:
    """Run a chat command for a channel as its administrator; print the replies."""
    command = Command(chat=chat, user_id="cli", name=name, args=args, user_is_admin=True)
    async with delivery_platforms() as delivering:
        replies = await CommandLayer(service).handle(command, delivering[chat.platform])
    for reply in replies:
        if reply.problem:
            raise BadInput(reply.text)
        typer.echo(reply.text)


@channel_app.command("add")
def channel_add(
    kind: Annotated[ChannelKind, typer.Argument(help="the kind of channel")],
    webhook: WebhookArg,
    topics: Annotated[list[str], typer.Argument(metavar="TOPIC...", help="topics (quote phrases)")],
) -> None:
    """Follow topics in a channel by its webhook URL (checked with Discord first)."""

    async def work(settings: Settings) -> None:
        url = _webhook(webhook)
        async with DiscordWebhooks() as webhooks:
            name = await webhooks.check(url)
        async with open_service(settings) as service:
            ref = ChatRef(WEBHOOK, url.url, "channel", name)
            await service.set_active(await service.chat(ref), True)
            typer.echo(f"{name}: {url.masked}")
            await _say(service, ref, "subscribe", "; ".join(topics))

    run(work)


@channel_app.command("set")
def channel_set(
    webhook: WebhookArg,
    name: Annotated[str, typer.Argument(help="language, mode, time, timezone, figures or max")],
    value: Annotated[str, typer.Argument(help="the new value")],
) -> None:
    """Change one setting of a webhook channel."""

    async def work(settings: Settings) -> None:
        async with open_service(settings) as service:
            chat = await _webhook_chat(service, webhook)
            ref = ChatRef(chat.platform, chat.chat_id, chat.kind, chat.title)
            await _say(service, ref, "set", f"{name} {value}")

    run(work)


@channel_app.command("list")
def channel_list() -> None:
    """The webhook channels (tokens masked), their state, settings and topics."""

    async def work(settings: Settings) -> None:
        async with open_service(settings) as service:
            for chat in await service.chats(WEBHOOK):
                url = parse_webhook_url(chat.chat_id)
                topics = ", ".join(await service.topics(chat)) or "(no topics)"
                state = "active" if chat.active else "paused"
                typer.echo(
                    f"{url.webhook_id}  {chat.title}  {url.masked}  {state}  {chat.mode}"
                    f" {chat.digest_time} {chat.timezone}  {topics}"
                )

    run(work)


@channel_app.command("remove")
def channel_remove(webhook: WebhookArg) -> None:
    """Forget a webhook channel: its topics, settings and undelivered papers."""

    async def work(settings: Settings) -> None:
        async with open_service(settings) as service:
            chat = await _webhook_chat(service, webhook)
            await service.remove_chat(chat)
            typer.echo(f"Removed {chat.title}: {parse_webhook_url(chat.chat_id).masked}")

    run(work)


def main() -> None:
    app()
