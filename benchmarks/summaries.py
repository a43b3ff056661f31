"""Benchmark the configured summarizer on the 12 papers of the seed blog posts.

The papers' real arXiv metadata (title, authors, abstract, comment), as the seed posts
quote it, is kept in `tests/fixtures/arxiv_metadata/seed_papers.jsonl` and served by the
local fake arXiv, so no network is needed for arXiv. Each paper is summarized twice
through the app (the second run must be answered from the cache), and the script
prints the grounding failures per check, model calls per unique paper, mean latency and
tokens per paper.

The summarizer is the one the environment configures (`PAPERBOT_LLM`, `GEMINI_API_KEY`,
`OPENAI_API_KEY`/`OPENAI_BASE_URL`, `PAPERBOT_LLM_MODEL`): the real model when a key is
set, extractive otherwise. `--llm fake-gemini` uses a local fake Gemini server instead.

    python benchmarks/summaries.py                     # as configured (extractive offline)
    python benchmarks/summaries.py --llm fake-gemini   # the Gemini path end to end, locally

Exit status 1 when a stored summary fails a grounding check.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from _inputs import FIXTURES, MissingInput

from bot.app import App, open_app
from bot.arxiv.ids import parse_arxiv_id
from bot.config import Settings
from bot.models import Paper
from bot.summarize.grounding import CHECKS, Evidence, check
from storage.papers import SummaryRows
from tests.fake_arxiv import FakeArxiv, FakePaper
from tests.fake_llm import FakeGemini

SEED_PAPERS = FIXTURES / "arxiv_metadata" / "seed_papers.jsonl"


def seed_papers(path: Path) -> list[FakePaper]:
    """The papers of the seed posts, one JSON object per line (fields of `FakePaper`)."""
    papers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        papers.append(FakePaper(**{**row, "published": datetime.fromisoformat(row["published"])}))
    if not papers:
        raise MissingInput(f"no papers in {path}")
    return papers


async def summarize_all(
    app: App, papers: list[Paper], language: str
) -> tuple[list[float], dict[str, int]]:
    """Summarize every paper once; the latencies and the model usage of this run."""
    before = await app.store.call(SummaryRows.summary_stats)
    latencies = []
    for paper in papers:
        started = time.perf_counter()
        await app.summaries.summary(paper, language)
        latencies.append(time.perf_counter() - started)
    after = await app.store.call(SummaryRows.summary_stats)
    return latencies, {key: after[key] - before[key] for key in after}


async def run(settings: Settings, seeds: list[FakePaper], language: str, where: str) -> int:
    async with open_app(settings) as app:
        papers = [await app.papers.paper(parse_arxiv_id(p.id)) for p in seeds]
        count = len(papers)
        print(
            f"summarizer: {app.summaries.summarizer.model} ({settings.llm_backend}{where});"
            f" {count} unique papers; language {language}"
        )
        for label in ("first run", "second run"):
            latencies, used = await summarize_all(app, papers, language)
            print(
                f"{label}: model calls per paper {used['model_calls'] / count:.2f}"
                f" (errors {used['model_errors']}), cache hits {used['summary_cache_hits']},"
                f" mean latency {sum(latencies) / count * 1000:.1f} ms,"
                f" tokens per paper in {used['tokens_in'] / count:.0f}"
                f" / out {used['tokens_out'] / count:.0f}"
            )
        rows = (
            app.store.rows(SummaryRows)
            .db.execute(
                "SELECT paper_id, grounding, checks FROM summaries WHERE language = ?", [language]
            )
            .fetchall()
        )
        stored = {paper_id: json.loads(checks) for paper_id, _, checks in rows}
        failing = Counter()
        for paper in papers:
            summary = await app.summaries.summary(paper, language)
            failing.update(f.check for f in check(summary, Evidence(paper), language))
        drafts = Counter(
            label.split(":")[0] for checks in stored.values() for label in checks["draft"]
        )
        outcomes = Counter(grounding for _, grounding, _ in rows)
    print("grounding failures in stored summaries, per check:")
    print(
        "  "
        + ", ".join(f"{name} {failing[name]}" for name in CHECKS)
        + f"; total {sum(failing.values())}"
    )
    print("first drafts' failures, per check (repaired before storing):")
    print(
        "  "
        + ", ".join(f"{name} {drafts[name]}" for name in CHECKS)
        + f"; total {sum(drafts.values())}"
    )
    print("outcomes: " + ", ".join(f"{name} {n}" for name, n in sorted(outcomes.items())))
    return 1 if failing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", choices=["configured", "fake-gemini"], default="configured")
    parser.add_argument("--lang", default="en")
    parser.add_argument("--papers", type=Path, default=SEED_PAPERS, help="a JSON Lines file")
    options = parser.parse_args()
    seeds = seed_papers(options.papers)
    fake_arxiv = FakeArxiv().start()
    fake_arxiv.papers = seeds
    fake_gemini = FakeGemini().start() if options.llm == "fake-gemini" else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, **fake_arxiv.env, "PAPERBOT_DB": f"{tmp}/bench.db"}
            if fake_gemini is not None:
                env.update(fake_gemini.env)
            settings = Settings.from_env(env, None)
            where = ", local fake server" if fake_gemini is not None else ""
            return asyncio.run(run(settings, seeds, options.lang, where))
    finally:
        fake_arxiv.stop()
        if fake_gemini is not None:
            fake_gemini.stop()


if __name__ == "__main__":
    sys.exit(main())
