from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bot.app import App, build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.config import Settings
from bot.figures import NoFigures
from bot.models import Figure, Paper, Summary
from bot.retry import RetryPolicy
from bot.summarize import SummaryRun
from bot.summarize.extractive import ExtractiveSummarizer, summarize_abstract
from storage.database import Store
from tests.fake_arxiv import FIXTURES, FakeArxiv
from tests.fake_discord import FakeDiscord
from tests.fake_llm import FakeGemini, FakeOpenAI
from tests.sim import FakeClock


class SleepLog:
    """Stands in for asyncio.sleep: records how long the code asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def fake_arxiv() -> Iterator[FakeArxiv]:
    fake = FakeArxiv().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_gemini() -> Iterator[FakeGemini]:
    fake = FakeGemini().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    """Discord's webhooks, REST API and gateway, with rate-limit windows of 0.3 s."""
    fake = FakeDiscord(bucket_window=0.3).start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(tmp_path: Path, fake_arxiv: FakeArxiv) -> Settings:
    return Settings.from_env({**fake_arxiv.env, "PAPERBOT_DB": str(tmp_path / "bot.db")}, None)


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


@pytest.fixture
async def client(settings: Settings, sleeps: SleepLog) -> AsyncIterator[ArxivClient]:
    http = httpx.AsyncClient(timeout=httpx.Timeout(2.0))
    arxiv = ArxivClient(
        settings, http, policy=RetryPolicy(attempts=3, base_delay=1.0), sleep=sleeps
    )
    yield arxiv
    await arxiv.aclose()


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = Store(settings.db_path)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> FakeClock:
    """The services' clock: now, until the test moves it."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def app(settings: Settings, store: Store, client: ArxivClient, clock: FakeClock) -> App:
    return build_app(
        settings, store, ArxivSource(client), ExtractiveSummarizer(), NoFigures(), clock
    )


@pytest.fixture
def cli_env(fake_arxiv: FakeArxiv, tmp_path: Path) -> dict[str, str]:
    """The environment of a `paperbot` subprocess: the fake arXiv, a database in tmp_path."""
    return {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PAPERBOT_", "GEMINI_", "OPENAI_"))
        },
        **fake_arxiv.env,
        "PAPERBOT_DB": str(tmp_path / "cli.db"),
        "PAPERBOT_LLM": "none",
    }


RunCli = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def run_cli(cli_env: dict[str, str], tmp_path: Path) -> RunCli:
    def run(*args: str, stdin: str = "", extra_env: dict[str, str] | None = None):
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**cli_env, **(extra_env or {})},
            cwd=tmp_path,
            timeout=60,
        )

    return run


def spawn_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """`paperbot ARGS` running in the background, its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class OneFigure(NoFigures):
    """A PDF reader that finds the same figure in every paper (and no text); `read` lists
    the papers whose PDF it was asked to read."""

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.read: list[str] = []

    async def figures(self, paper: Paper) -> list[Figure]:
        self.read.append(paper.id)
        return [self.figure]


class CountingModel(ExtractiveSummarizer):
    """A stand-in language model that records each request (paper id, priority) and answers
    with the abstract's sentences, labelled as its own abstract-only summary."""

    model = "counting-model"

    def __init__(self) -> None:
        self.asked: list[tuple[str, float]] = []

    async def summarize(
        self,
        paper: Paper,
        language: str,
        fulltext: str | None = None,
        run: SummaryRun | None = None,
    ) -> Summary:
        self.asked.append((paper.id, (run or SummaryRun()).priority))
        made = summarize_abstract(paper)
        return made.model_copy(update={"model": self.model, "source": "abstract"})


def app_with_figure(
    settings: Settings, store: Store, client: ArxivClient, figure: Figure, clock: FakeClock
) -> App:
    """The extractive app whose cards all carry `figure`."""
    return build_app(
        settings, store, ArxivSource(client), ExtractiveSummarizer(), OneFigure(figure), clock
    )
