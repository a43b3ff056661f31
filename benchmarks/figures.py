"""Benchmark figure extraction on the fixture PDFs against their ground truth.

Each PDF goes through what the bot runs: the sandboxed worker process, then the
cache. Prints, per paper and over all: figure precision and recall against
tests/fixtures/pdfs/EXPECTED.json (a figure counts when its number, page,
caption and box, within 15 pt, are right), seconds per paper (worker start to
result read back) and the worker's peak memory (max RSS).

Run: python benchmarks/figures.py [--crops DIR]   (DIR: write every crop as an image)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import _inputs  # noqa: F401 (the repository on sys.path; a missing input in one line)

from bot.figures.cache import RESULT, Parsed, PdfCache
from tests.pdf_samples import EXPECTED, PAPERS, fixture_bytes, matches, parse_into


async def measure(name: str, cache: PdfCache) -> tuple[Parsed, float, int]:
    """The parsed paper, seconds taken, and the worker's peak memory in KB."""
    started = time.perf_counter()
    parsed = await parse_into(cache, name, fixture_bytes(name))
    seconds = time.perf_counter() - started
    peak = json.loads((cache.entry(name) / RESULT).read_text())["peak_memory_kb"]
    return parsed, seconds, peak


def save_crops(parsed: Parsed, stem: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for figure in parsed.figures:
        (directory / f"{stem}-fig{figure.number}.{figure.extension}").write_bytes(figure.image)


async def main(crops: Path | None) -> None:
    found = expected = correct = 0
    times: list[float] = []
    peaks: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = PdfCache(Path(tmp))
        for name in PAPERS:
            parsed, seconds, peak = await measure(name, cache)
            wanted = EXPECTED[name]["figures"]
            hits = sum(1 for f in parsed.figures if any(matches(f, w) for w in wanted))
            found, expected, correct = (
                found + len(parsed.figures),
                expected + len(wanted),
                correct + hits,
            )
            times.append(seconds)
            peaks.append(peak)
            print(
                f"{name[:48]:<48} pages={EXPECTED[name]['pages']:>2} expected={len(wanted)}"
                f" found={len(parsed.figures)} correct={hits} {seconds:.2f}s"
                f" worker peak={peak / 1024:.0f} MiB"
            )
            if crops is not None:
                save_crops(parsed, name.removesuffix(".pdf"), crops)
    precision = correct / found if found else 1.0
    recall = correct / expected if expected else 1.0
    print(
        f"papers={len(PAPERS)} figures expected={expected} found={found} correct={correct}"
        f" precision={precision:.3f} recall={recall:.3f}"
    )
    print(
        f"seconds per paper: mean={sum(times) / len(times):.2f} max={max(times):.2f}"
        f" (worker process start to result read back)"
    )
    print(f"worker peak memory (max RSS): max={max(peaks) / 1024:.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=Path, help="write every crop into this directory")
    asyncio.run(main(parser.parse_args().crops))
