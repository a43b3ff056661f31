"""What every `paperbot` command shares: the typer app, settings and logging, exit codes
(SPEC.md: 0 success, 1 a service failed after retries, 2 bad usage or bad input, with
a one-line reason on stderr) and the progress display."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import BarColumn, SpinnerColumn, TaskID, TextColumn
from rich.progress import Progress as ProgressDisplay

from bot.arxiv.ids import InvalidArxivId
from bot.arxiv.parse import ArxivQueryError
from bot.config import ConfigError, Settings
from bot.logs import setup_logging
from bot.models import Progress, unwatched
from bot.papers import PaperNotFound
from bot.retry import ServiceUnavailable
from bot.topics import TopicError
from handlers.discord_webhook import (
    BadWebhookUrl,
)

T = TypeVar("T")
log = logging.getLogger("paperbot")
app = typer.Typer(
    name="paperbot",
    help="Follow arXiv topics: new papers, faithful summaries, key figures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
stderr = Console(stderr=True)


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
