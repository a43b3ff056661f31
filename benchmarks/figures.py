"""Benchmark figure extraction on the fixture PDFs against their ground truth.

Each PDF of tests/fixtures/pdfs/ and tests/fixtures/pdfs_more/ goes through
what the bot runs: the sandboxed worker process, then the cache. A figure
counts as correct when its number, page, caption and box (within 15 pt) are
those of EXPECTED.json. Prints per paper, per caption style (the label as the
ground truth prints it: `Figure N:`, `Fig. N |`, `FIG. N.` ...) and over all:

- precision and recall of the figures;
- how often the key figure (the card's) is Figure 1, over papers that have one;
- tables returned as figures;
- crops that are blank, a whole page, or a running head or foot;
- seconds per paper (worker start to result read back), the worker's CPU
  seconds (the same measure, free of other processes on the machine) and its
  peak memory (max RSS).

Run: python benchmarks/figures.py [--crops DIR]   (DIR: write every crop as an image)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _inputs  # noqa: F401 (the repository on sys.path; a missing input in one line)
import pymupdf

from bot.figures.cache import RESULT, Parsed, PdfCache
from bot.figures.source import key_figure_first
from bot.models import Figure
from tests.pdf_samples import (
    EXPECTED,
    MORE_PAPERS,
    PAPERS,
    fixture_bytes,
    matches,
    normalized,
    parse_into,
)

WHOLE_PAGE = 0.6  # of the page's area
MARGIN_BAND = 0.09  # of the page's height: running heads and feet live above or below
BLANK = 0.01  # share of dark pixels below which a crop shows nothing
BAD_CROPS = ("table", "blank", "whole page", "header")
_STYLE = re.compile(r"\s*\S+(?:\s+\S+)*?\s?[0-9IVX]+\s?[.:|]?")
_TABLE = re.compile(r"(?:Table|TABLE)\s?[0-9IVX]")


def style(caption: str) -> str:
    """A caption's label style with its number as N: `Fig. N |`, `FIG. N.`, `Figure N`."""
    match = _STYLE.match(normalized(caption))
    label = match.group(0) if match else caption[:10]
    return re.sub(r"[0-9]+|\b[IVX]+\b", "N", label.strip())


@dataclass
class Tally:
    expected: int = 0
    found: int = 0
    correct: int = 0

    def add(self, expected: int, found: int, correct: int) -> None:
        self.expected += expected
        self.found += found
        self.correct += correct

    def __str__(self) -> str:
        precision = self.correct / self.found if self.found else 1.0
        recall = self.correct / self.expected if self.expected else 1.0
        return (
            f"expected={self.expected:>3} found={self.found:>3} correct={self.correct:>3}"
            f" precision={precision:.3f} recall={recall:.3f}"
        )


@dataclass
class Report:
    overall: Tally = field(default_factory=Tally)
    styles: dict[str, Tally] = field(default_factory=dict)
    key_is_figure_1: Counter[bool] = field(default_factory=Counter)
    bad_crops: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    peaks_kb: list[int] = field(default_factory=list)


async def measure(name: str, cache: PdfCache) -> tuple[Parsed, float, float, int]:
    """The parsed paper, seconds taken, the worker's CPU seconds and peak memory in KB."""
    started = time.perf_counter()
    parsed = await parse_into(cache, name, fixture_bytes(name))
    seconds = time.perf_counter() - started
    result = json.loads((cache.entry(name) / RESULT).read_text())
    return parsed, seconds, result["cpu_seconds"], result["peak_memory_kb"]


def bad_crop(figure: Figure, truth: dict[str, Any]) -> str | None:
    """Why a crop is no figure at all: a table, blank, a whole page, a running head."""
    if _TABLE.match(figure.caption):
        return "table"
    page_width, page_height = truth["page_size_pt"]
    x0, y0, x1, y1 = figure.bbox
    if (x1 - x0) * (y1 - y0) >= WHOLE_PAGE * page_width * page_height:
        return "whole page"
    if y1 <= MARGIN_BAND * page_height or y0 >= (1 - MARGIN_BAND) * page_height:
        return "header"
    pixmap = pymupdf.Pixmap(figure.image)
    samples = pixmap.samples[:: pixmap.n * 7]
    if sum(1 for value in samples if value < 200) <= BLANK * len(samples):
        return "blank"
    return None


def score(name: str, parsed: Parsed, report: Report) -> tuple[int, int]:
    """Adds one paper to the report; its (expected, correct)."""
    truth = EXPECTED[name]
    wanted = truth["figures"]
    correct = 0
    for figure in parsed.figures:
        hit = next((w for w in wanted if matches(figure, w)), None)
        correct += hit is not None
        kind = style(hit["caption_start"] if hit else figure.caption)
        report.styles.setdefault(kind, Tally()).add(0, 1, int(hit is not None))
        if (reason := bad_crop(figure, truth)) is not None:
            report.bad_crops[reason] += 1
    for want in wanted:
        report.styles.setdefault(style(want["caption_start"]), Tally()).add(1, 0, 0)
    report.overall.add(len(wanted), len(parsed.figures), correct)
    first = [w for w in wanted if w["number"] == "1"]
    if first:
        key = key_figure_first(parsed.figures)[:1]
        report.key_is_figure_1[bool(key) and matches(key[0], first[0])] += 1
    return len(wanted), correct


async def main(crops: Path | None) -> None:
    report = Report()
    with tempfile.TemporaryDirectory() as tmp:
        cache = PdfCache(Path(tmp))
        for name in PAPERS + MORE_PAPERS:
            parsed, seconds, cpu, peak = await measure(name, cache)
            expected, correct = score(name, parsed, report)
            report.seconds.append(seconds)
            report.cpu_seconds.append(cpu)
            report.peaks_kb.append(peak)
            print(
                f"{name[:48]:<48} pages={EXPECTED[name]['pages']:>2} expected={expected:>2}"
                f" found={len(parsed.figures):>2} correct={correct:>2} {seconds:.2f}s"
                f" (cpu {cpu:.2f}s)"
                f" worker peak={peak / 1024:.0f} MiB"
            )
            if crops is not None:
                save_crops(parsed, name.removesuffix(".pdf"), crops)
    print("\nper caption style:")
    for kind, tally in sorted(report.styles.items()):
        print(f"  {kind:<14} {tally}")
    print(f"\nall {len(report.seconds)} papers: {report.overall}")
    hits, papers = report.key_is_figure_1[True], report.key_is_figure_1.total()
    print(f"key figure is Figure 1: {hits}/{papers} papers ({hits / max(papers, 1):.0%})")
    bad = ", ".join(f"{report.bad_crops[k]} {k}" for k in BAD_CROPS)
    print(f"crops that are no figure: {bad}")
    times = report.seconds
    cpu = report.cpu_seconds
    print(
        f"seconds per paper: mean={sum(times) / len(times):.2f} max={max(times):.2f}"
        " (worker process start to result read back)"
    )
    print(
        f"worker CPU seconds per paper: mean={sum(cpu) / len(cpu):.2f} max={max(cpu):.2f}"
        " (what the wall clock shows on an idle machine, less the process start)"
    )
    print(f"worker peak memory (max RSS): max={max(report.peaks_kb) / 1024:.0f} MiB")


def save_crops(parsed: Parsed, stem: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for figure in parsed.figures:
        (directory / f"{stem}-fig{figure.number}.{figure.extension}").write_bytes(figure.image)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=Path, help="write every crop into this directory")
    asyncio.run(main(parser.parse_args().crops))
