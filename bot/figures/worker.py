"""The PDF worker: `python -m bot.figures.worker PDF OUT --memory-mb N --cpu-seconds S`.

Runs as its own process (started by `bot.figures.sandbox`) so that a PDF that
makes the parser hang, eat memory or crash takes only this process down. It
limits its own address space, CPU time and file size first, then parses the
PDF once and writes into OUT: one image per figure (`figure-<n>.png|jpg`),
`text.txt` (the full text, only what a reader can see) and `result.json`
(figure numbers, pages, boxes, captions, file names; page count; how many
letters of hidden text were left out, see `bot.figures.visible`; the worker's
peak memory and CPU time).

Exit status: 0 done; 3 the PDF cannot be read (encrypted, truncated, not a
PDF, no pages); 1 parsing failed (out of memory, a parser error). The reason
is the last line on stderr. Killed by a signal: the CPU or wall-clock limit.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import traceback
from pathlib import Path

import pymupdf

from bot.figures.captions import find_captions
from bot.figures.crops import Drawn, render
from bot.figures.document import geometry
from bot.figures.fulltext import fulltext
from bot.figures.layout import body_font_size, read_page
from bot.figures.regions import figures as find_figures
from bot.figures.sandbox import UNREADABLE

MAX_PAGES = 80  # figures and text come from the first pages of a long document
MAX_OUTPUT_BYTES = 200_000_000
TAIL_BYTES = 2048  # a complete PDF ends with %%EOF within its last bytes
_ALLOCATION_FAILED = re.compile(r"\b(?:m|c|re)alloc\b.*\bfailed\b")  # MuPDF's wording


class Unreadable(Exception):
    """The PDF cannot be read; the message says why."""


def limit_resources(memory_mb: int, cpu_seconds: int) -> None:
    """Limits of this process: address space, CPU seconds and size of written files."""
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (MAX_OUTPUT_BYTES, MAX_OUTPUT_BYTES))


def check_complete(pdf: Path) -> None:
    """A PDF cut short (broken download or copy) lacks its final `%%EOF`."""
    with pdf.open("rb") as file:
        head = file.read(1024)
        size = file.seek(0, 2)
        file.seek(max(size - TAIL_BYTES, 0))
        tail = file.read()
    if b"%PDF-" not in head:
        raise Unreadable("not a PDF (no %PDF header)")
    if b"%%EOF" not in tail:
        raise Unreadable("truncated PDF (no %%EOF at the end)")


def parse(pdf: Path, out: Path) -> dict[str, object]:
    """Parse `pdf` once: figures rendered into `out`, full text, and what was found."""
    pymupdf.TOOLS.mupdf_display_errors(False)
    check_complete(pdf)
    try:
        document = pymupdf.open(pdf, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError) as exc:
        raise Unreadable(f"not a readable PDF ({exc})") from None
    with document:
        if document.needs_pass:
            raise Unreadable("encrypted PDF")
        if document.page_count == 0:
            raise Unreadable("PDF without pages")
        pages = [read_page(document[i]) for i in range(min(document.page_count, MAX_PAGES))]
        geo = geometry(pages, body_font_size(pages))
        captions = find_captions(pages, geo)
        drawn = Drawn(document)
        found = find_figures(drawn, pages, captions, geo)
        figures = []
        for figure in found:
            image, mime_type = render(drawn.page(figure.page), figure.bbox)
            name = f"figure-{figure.number}.{'jpg' if mime_type == 'image/jpeg' else 'png'}"
            (out / name).write_bytes(image)
            box = figure.bbox
            figures.append(
                {
                    "number": figure.number,
                    "page": figure.page,
                    "caption": figure.caption,
                    "bbox": [round(v, 1) for v in (box.x0, box.y0, box.x1, box.y1)],
                    "file": name,
                    "mime_type": mime_type,
                }
            )
        (out / "text.txt").write_text(fulltext(pages, geo, captions, found), encoding="utf-8")
        return {
            "pages": document.page_count,
            "figures": figures,
            "hidden_chars": sum(page.hidden_chars for page in pages),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.figures.worker")
    parser.add_argument("pdf", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument("--cpu-seconds", type=int, default=60)
    args = parser.parse_args(argv)
    limit_resources(args.memory_mb, args.cpu_seconds)
    try:
        result = parse(args.pdf, args.out)
    except Unreadable as exc:
        print(exc, file=sys.stderr)
        return UNREADABLE
    except Exception as exc:  # reported to the parent as the last line of stderr
        if isinstance(exc, MemoryError) or _ALLOCATION_FAILED.search(str(exc)):
            print(f"out of memory (limit {args.memory_mb} MB)", file=sys.stderr)
        else:
            traceback.print_exc()
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_memory_kb"] = usage.ru_maxrss
    result["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 3)
    (args.out / "result.json").write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
