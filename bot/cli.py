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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, SpinnerColumn, TaskID, TextColumn
from rich.progress import Progress as ProgressDisplay

from bot.app import App, open_app
from bot.arxiv.ids import InvalidArxivId, parse_arxiv_id
from bot.arxiv.parse import ArxivQueryError
from bot.audit import AUDIT_COUNTS
from bot.chats import ChatRef
from bot.commands import Command, CommandLayer
from bot.config import ConfigError, Settings
from bot.i18n import normalize_language
from bot.logs import setup_logging
from bot.models import Card, Chat, Progress, unwatched
from bot.papers import PaperNotFound
from bot.retry import ServiceUnavailable
from bot.runner import Runner, cycle, stop_on_signals
from bot.stats import stats as gather_stats
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
from storage.audits import AuditRows
from storage.database import backup as backup_database
from storage.database import open_existing
from storage.polls import PollRows

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


def load_settings(long_running: bool = False) -> Settings:
    """Settings from the environment, or exit 2 with the reason. Logs go to the console on
    a terminal (above any progress display): INFO for long-running commands, warnings and
    errors only for one-off ones, unless PAPERBOT_LOG_LEVEL says otherwise."""
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        fail(str(exc), 2)
    handler = None
    if stderr.is_terminal:
        handler = RichHandler(console=stderr, show_path=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    setup_logging(settings, "INFO" if long_running else "WARNING", handler)
    return settings


def run(work: Callable[[Settings], Awaitable[T]], long_running: bool = False) -> T:
    """Load settings, run `work` on an event loop, map failures to exit codes."""
    settings = load_settings(long_running)
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


@contextmanager
def progress(first: str) -> Iterator[Progress]:
    """Long work's stages on a terminal, one line each, with a bar and n/N where the stage
    counts; log lines print above them. Nothing when stderr is piped (SPEC)."""
    if not stderr.is_terminal:
        yield unwatched
        return
    columns = (
        SpinnerColumn(finished_text="✓"),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
    )
    with ProgressDisplay(*columns, console=stderr, transient=True) as display:
        stages: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in stages:
                for earlier in stages.values():
                    display.update(earlier, total=1, completed=1)
                stages[stage] = display.add_task(stage, count="")
            count = f"{done}/{total}" if total else ""
            display.update(stages[stage], total=total or None, completed=done, count=count)

        report(first, 0, 0)
        yield report


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
        async with open_app(settings) as core:
            with progress(f"fetching {ident}"):
                paper = await core.papers.paper(ident)
                card = await core.papers.card(paper, language, figures is not None)
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
        async with open_app(settings) as core:
            with progress("searching arXiv") as report:
                result = await core.papers.topic_digest(parsed, start, max, language, report)
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
            figures = await gather_stats(core.store)
        width = max(len(name) for name in figures)
        for name, value in figures.items():
            typer.echo(f"{name:<{width}}  {value}")

    run(work)


@app.command()
def audit(
    day: Annotated[
        str | None,
        typer.Option("--date", help="announcement day YYYY-MM-DD (default: the latest audited)"),
    ] = None,
) -> None:
    """The completeness audit of a day: per listing read, papers announced, stored,
    matched, delivered, pending and missing (queued late)."""
    if day is not None:
        try:
            day = date.fromisoformat(day).isoformat()
        except ValueError:
            fail(f"--date {day!r} is not a date like 2025-10-21", 2)

    async def work(settings: Settings) -> None:
        async with open_app(settings) as core:
            rows = await core.store.call(AuditRows.audits, day)
        if not rows:
            typer.echo(f"no completeness audit recorded{f' for {day}' if day else ''}")
            return
        typer.echo(f"completeness audit of {rows[0]['day']} (checked {rows[0]['checked_at']})")
        width = max(len("listing"), *(len(r["category"]) for r in rows))
        typer.echo(f"{'listing':<{width}}  " + "  ".join(f"{c:>9}" for c in AUDIT_COUNTS))
        for row in rows:
            counts = "  ".join(f"{row[c]:>9}" for c in AUDIT_COUNTS)
            late = json.loads(row["late"] or "[]")
            typer.echo(
                f"{row['category']:<{width}}  {counts}"
                + (f"  late: {', '.join(late)}" if late else "")
            )

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
        limit = max_age or HEALTHY_POLL_INTERVALS * settings.poll_interval
    except ConfigError as exc:
        fail(str(exc), 2)
    try:
        db = open_existing(settings.db_path)
        try:
            last = PollRows(db).last_successful_poll()
        finally:
            db.close()
    except (OSError, sqlite3.Error) as exc:
        fail(f"unhealthy: database {settings.db_path} unreadable: {exc}", 1)
    if last is None:
        fail("unhealthy: no poll has succeeded yet", 1)
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
        async with open_app(settings) as core:
            await run_shell(CommandLayer(core), sys.stdin, sys.stdout, sys.stdin.isatty())

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


async def _webhook_chat(core: App, value: str) -> Chat:
    """The stored webhook channel given by its URL or webhook id."""
    wanted = value.strip() if value.strip().isdigit() else _webhook(value).webhook_id
    for chat in await core.chats.chats(WEBHOOK):
        if parse_webhook_url(chat.chat_id).webhook_id == wanted:
            return chat
    raise BadInput(f"no webhook channel {wanted}; see paperbot channel list")


async def _say(core: App, chat: ChatRef, name: str, args: str) -> None:
    """Run a chat command for a channel as its administrator; print the replies."""
    command = Command(chat=chat, user_id="cli", name=name, args=args, user_is_admin=True)
    async with delivery_platforms() as delivering:
        replies = await CommandLayer(core).handle(command, delivering[chat.platform])
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
        async with open_app(settings) as core:
            ref = ChatRef(WEBHOOK, url.url, "channel", name)
            await core.chats.set_active(await core.chats.chat(ref), True)
            typer.echo(f"{name}: {url.masked}")
            await _say(core, ref, "subscribe", "; ".join(topics))

    run(work)


@channel_app.command("set")
def channel_set(
    webhook: WebhookArg,
    name: Annotated[str, typer.Argument(help="language, mode, time, timezone, figures or max")],
    value: Annotated[str, typer.Argument(help="the new value")],
) -> None:
    """Change one setting of a webhook channel."""

    async def work(settings: Settings) -> None:
        async with open_app(settings) as core:
            chat = await _webhook_chat(core, webhook)
            ref = ChatRef(chat.platform, chat.chat_id, chat.kind, chat.title)
            await _say(core, ref, "set", f"{name} {value}")

    run(work)


@channel_app.command("list")
def channel_list() -> None:
    """The webhook channels (tokens masked), their state, settings and topics."""

    async def work(settings: Settings) -> None:
        async with open_app(settings) as core:
            for chat in await core.chats.chats(WEBHOOK):
                url = parse_webhook_url(chat.chat_id)
                topics = ", ".join(await core.chats.topics(chat)) or "(no topics)"
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
        async with open_app(settings) as core:
            chat = await _webhook_chat(core, webhook)
            await core.chats.remove_chat(chat)
            typer.echo(f"Removed {chat.title}: {parse_webhook_url(chat.chat_id).masked}")

    run(work)


def main() -> None:
    app()
