from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.config import Settings
from bot.figures import NoFigures
from bot.retry import RetryPolicy
from bot.service import PaperService
from bot.summarize.extractive import ExtractiveSummarizer
from storage.database import Store
from tests.fake_arxiv import FIXTURES, FakeArxiv
from tests.fake_llm import FakeGemini, FakeOpenAI


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
def service(settings: Settings, store: Store, client: ArxivClient) -> PaperService:
    return PaperService(settings, store, ArxivSource(client), ExtractiveSummarizer(), NoFigures())
