"""The benchmarks on a fresh clone: what they read is in the repository, and an input
that is missing stops them with one line, not a traceback."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's code and tests in a folder with nothing next to it (no
    `../shared`), without the fixture PDFs."""
    clone = tmp_path_factory.mktemp("fresh") / "paperbot"
    skip = shutil.ignore_patterns("__pycache__", "pdfs", "pdfs_more")
    for folder in ("benchmarks", "bot", "handlers", "storage", "tests"):
        shutil.copytree(ROOT / folder, clone / folder, ignore=skip)
    return clone


def benchmark(clone: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    configured = ("PAPERBOT_", "GEMINI_", "OPENAI_")  # offline: the extractive summarizer
    env = {k: v for k, v in os.environ.items() if not k.startswith(configured)}
    return subprocess.run(
        [sys.executable, f"benchmarks/{script}", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=clone,
        timeout=120,
    )


def test_the_summary_benchmark_has_its_papers(clone: Path) -> None:
    result = benchmark(clone, "summaries.py")
    assert result.returncode == 0, result.stderr
    assert "12 unique papers" in result.stdout
    assert "total 0" in result.stdout


def test_a_missing_input_is_one_line(clone: Path) -> None:
    figures = benchmark(clone, "figures.py")
    assert figures.returncode == 1
    expected = clone / "tests" / "fixtures" / "pdfs" / "EXPECTED.json"
    assert figures.stderr == f"figures.py: missing input: {expected}\n"
    (clone / "empty.jsonl").write_text("")
    for papers, reason in (
        ("none.jsonl", "missing input: none.jsonl"),
        ("empty.jsonl", "no papers in empty.jsonl"),
    ):
        result = benchmark(clone, "summaries.py", "--papers", papers)
        assert (result.returncode, result.stderr) == (1, f"summaries.py: {reason}\n")


def test_the_coverage_benchmark_without_its_papers_is_one_line(clone: Path) -> None:
    papers = clone / "tests" / "fixtures" / "arxiv_metadata" / "papers.jsonl.gz"
    moved = papers.rename(papers.with_suffix(".moved"))
    try:
        result = benchmark(clone, "coverage.py")
    finally:
        moved.rename(papers)
    assert (result.returncode, result.stderr) == (1, f"coverage.py: missing input: {papers}\n")


def test_the_ranking_benchmark_reports_a_missing_input(clone: Path) -> None:
    result = benchmark(clone, "ranking.py", "--write-model", "none.jsonl.gz")
    assert (result.returncode, result.stderr) == (1, "ranking.py: missing input: none.jsonl.gz\n")


def test_the_budget_benchmark_stays_within_the_budget(clone: Path) -> None:
    args = ("--papers", "40", "--chats", "12", "--rpm", "5", "--rpd", "12")
    result = benchmark(clone, "budget.py", *args)
    assert result.returncode == 0, result.stderr
    found = re.findall(r"requests (\d+) \(at most (\d+) a minute\), 429s (\d+)", result.stdout)
    assert len(found) == 2, result.stdout  # first come first served, then planned
    for requests, per_minute, refused in found:
        assert int(requests) <= 12 and int(per_minute) <= 5 and refused == "0"
    assert "/summarize in the middle of planning: model summary after" in result.stdout
