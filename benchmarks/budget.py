"""Benchmark the model's request budget: N new papers through the summary cache against
the local fake Gemini, which enforces the same RPM and RPD as the budget, on a simulated
clock (no sleeping).

The papers are real (`tests/fixtures/arxiv_metadata/cs_cv_cl.jsonl.gz`), all announced at
the start of one provider day and summarized first come, first served (today's order;
the order by relevance to the chats comes with the relevance scores). Prints the most
requests the server saw in any minute, the requests of the day, the 429s received and the
share of papers that got the model's summary.

    python benchmarks/budget.py                          # 600 papers, RPM 10, RPD 250
    python benchmarks/budget.py --rpd 50 --papers 300
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _inputs import FIXTURES, MissingInput

from bot.figures import NoFigures
from bot.models import Paper
from bot.summaries import SummaryCache
from bot.summarize.budget import BudgetLimits, RequestBudget
from bot.summarize.gemini import GeminiModel
from bot.summarize.llm import LanguageModelSummarizer
from storage.database import Store
from storage.papers import PaperRows, SummaryRows
from storage.rows import iso
from tests.arxiv_metadata import load_papers
from tests.fake_llm import GEMINI_KEY, FakeGemini
from tests.sim import FakeClock, SimSleep

MODEL = "gemini-2.5-flash"
PAPERS = FIXTURES / "arxiv_metadata" / "cs_cv_cl.jsonl.gz"
START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)  # midnight in California: a new quota day


def most_in_a_minute(times: list[datetime]) -> int:
    """The most of `times` in any window of one minute (0 for none)."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - timedelta(minutes=1):
            first += 1
        most = max(most, last - first + 1)
    return most


async def run(papers: list[Paper], limits: BudgetLimits, server: FakeGemini, db: Path) -> None:
    clock = FakeClock(START)
    sleep = SimSleep(clock)
    server.limit(limits.rpm, limits.rpd, clock)
    store = Store(db)
    budget = RequestBudget(limits, clock, store, sleep)
    model = GeminiModel(MODEL, GEMINI_KEY, server.base)
    summarizer = LanguageModelSummarizer(model, MODEL, sleep=sleep, budget=budget)
    cache = SummaryCache(store, summarizer, NoFigures().fulltext, clock)
    try:
        await store.call(PaperRows.upsert_papers, [p.to_row() for p in papers], iso(START))
        for paper in papers:
            await cache.summary(paper, "en")
        figures = await store.call(SummaryRows.summary_stats)
    finally:
        await summarizer.aclose()
        store.close()
    quota = server.quota
    assert quota is not None
    received = [*quota.accepted]
    by_model = figures["papers_summarized_by_model"]
    print(
        f"{len(papers)} papers, RPM {limits.rpm}, RPD {limits.rpd}, first come first served;"
        f" simulated {(clock.now - START).total_seconds() / 60:.0f} min"
    )
    print(f"requests per minute, max: {most_in_a_minute(received)}")
    print(f"requests in the day: {len(server.requests)}")
    print(f"429s received: {server.refused}")
    print(
        f"papers with a model summary: {by_model} ({by_model / len(papers):.0%});"
        f" extractive for budget: {figures['summaries_extractive_for_budget']};"
        f" to upgrade: {figures['summaries_to_upgrade']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=600, help="how many new papers")
    parser.add_argument("--rpm", type=int, default=10)
    parser.add_argument("--rpd", type=int, default=250)
    parser.add_argument("--input", type=Path, default=PAPERS, help="a .jsonl.gz of papers")
    options = parser.parse_args()
    papers = load_papers(options.input)[: options.papers]
    if not papers:
        raise MissingInput(f"no papers in {options.input}")
    server = FakeGemini().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            limits = BudgetLimits(options.rpm, options.rpd)
            asyncio.run(run(papers, limits, server, Path(tmp) / "budget.db"))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
