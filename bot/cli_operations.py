"""`paperbot` commands for operators: health, backup, the completeness audit, the run
report, the shell chat, and channels reached without a bot member (Discord webhooks)."""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bot.app import App, open_app
from bot.audit import AUDIT_COUNTS
from bot.chats import ChatRef
from bot.cli_base import BadInput, fail, load_settings, run
from bot.command_table import Command
from bot.commands import CommandLayer
from bot.config import ConfigError, Settings
from bot.models import Chat
from bot.report import render
from handlers.discord_webhook import (
    PLATFORM as WEBHOOK,
)
from handlers.discord_webhook import (
    DiscordWebhooks,
    WebhookUrl,
    parse_webhook_url,
)
from handlers.registry import delivery_platforms
from handlers.shell import run_shell
from storage.audits import AuditRows
from storage.database import backup as backup_database
from storage.database import open_existing
from storage.polls import PollRows

# `paperbot health`: unhealthy when no poll succeeded for this many poll intervals
HEALTHY_POLL_INTERVALS = 3


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


def audit(
    day: Annotated[
        str | None,
        typer.Option("--date", help="announcement day YYYY-MM-DD (default: the latest audited)"),
    ] = None,
) -> None:
    """The completeness audit of a day: per listing read, papers announced, stored,
    matched, delivered, pending and missing (queued late)."""
    if day is not None:
        day = _date_option(day).isoformat()

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


def _date_option(text: str) -> date:
    """`--date`'s day, or exit 2 saying why."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"--date {text!r} is not a date like 2025-10-21", 2)


def report(
    day: Annotated[
        str | None, typer.Option("--date", help="UTC day YYYY-MM-DD (default: today so far)")
    ] = None,
) -> None:
    """The run report of a day: per poll papers fetched and matched; summaries by the
    model and extractive; per platform papers sent, skipped and failed, paused chats;
    arXiv errors, papers hiding text, the model's budget."""
    wanted = None if day is None else _date_option(day)
    if wanted is not None and wanted > datetime.now(UTC).date():
        fail(f"--date {day} is in the future", 2)

    async def work(settings: Settings) -> None:
        async with open_app(settings) as core:
            typer.echo(render(await core.reports.report(wanted), settings.language))

    run(work)


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
