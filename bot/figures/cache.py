"""The on-disk cache of parsed PDFs: one entry per paper version, size-capped.

An entry is a directory named after the versioned id holding what the worker
wrote (`result.json`, `text.txt`, figure images) or, for a paper whose PDF
cannot be had or read, `result.json` with the reason (kept for a day when the
download failed, for good when the file itself is bad: the same bytes give
the same result). The PDF itself is not kept. Reading an entry marks it as
used; when the entries together pass the size cap, the least recently used
ones are deleted. Entries appear atomically (a work directory renamed into
place), so a crash never leaves half an entry.

Blocking file work: call these methods from a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.models import Figure

log = logging.getLogger(__name__)

RESULT = "result.json"
TEXT = "text.txt"
PDF = "paper.pdf"
WORK_PREFIX = ".work-"
STALE_WORK_SECONDS = 3600.0  # a work directory this old was left by a crash
DEFAULT_MAX_BYTES = 500 * 1024 * 1024
DOWNLOAD_FAILURE_TTL = 24 * 3600.0
HIDDEN_TEXT_LETTERS = 20  # fewer hidden letters are a stray mark (a PDF widget), not a message
_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]")


@dataclass(frozen=True)
class Parsed:
    """A paper version's figures and full text, and how many letters of text hidden
    from its readers the PDF carries (left out of `text`)."""

    figures: list[Figure]
    text: str | None
    hidden_chars: int = 0

    @property
    def hides_text(self) -> bool:
        """Whether the PDF hides text from its readers (more than a stray mark)."""
        return self.hidden_chars >= HIDDEN_TEXT_LETTERS


@dataclass(frozen=True)
class Failed:
    """Why a paper version has no figures and no text."""

    reason: str


class PdfCache:
    def __init__(self, root: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def entry(self, versioned_id: str) -> Path:
        return self.root / _UNSAFE.sub("_", versioned_id)

    def load(self, versioned_id: str, now: float | None = None) -> Parsed | Failed | None:
        """The cached outcome for this paper version; None when there is none (or it
        expired, or it is damaged)."""
        entry = self.entry(versioned_id)
        try:
            result = json.loads((entry / RESULT).read_text(encoding="utf-8"))
            outcome = self._outcome(entry, result, time.time() if now is None else now)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if entry.exists():
                log.warning("damaged cache entry %s dropped: %s", entry.name, exc)
                shutil.rmtree(entry, ignore_errors=True)
            return None
        if outcome is None:
            shutil.rmtree(entry, ignore_errors=True)
            return None
        os.utime(entry)
        return outcome

    def _outcome(self, entry: Path, result: dict[str, Any], now: float) -> Parsed | Failed | None:
        if "failed" in result:
            until = result.get("until")
            return None if until is not None and until <= now else Failed(result["failed"])
        text_file = entry / TEXT
        text = text_file.read_text(encoding="utf-8") if text_file.exists() else ""
        figures = [
            Figure(
                number=item["number"],
                page=item["page"],
                caption=item["caption"],
                image=(entry / item["file"]).read_bytes(),
                mime_type=item["mime_type"],
                bbox=tuple(item["bbox"]),
            )
            for item in result["figures"]
        ]
        return Parsed(
            figures=figures, text=text or None, hidden_chars=result.get("hidden_chars", 0)
        )

    def work_dir(self) -> Path:
        """A fresh directory for one download and parse (removed by `commit` or `discard`)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=self.root))

    def discard(self, work: Path) -> None:
        shutil.rmtree(work, ignore_errors=True)

    def commit(self, versioned_id: str, work: Path) -> None:
        """Make `work` (without its PDF) the entry of this paper version; then evict
        down to the size cap."""
        (work / PDF).unlink(missing_ok=True)
        entry = self.entry(versioned_id)
        shutil.rmtree(entry, ignore_errors=True)
        try:
            work.rename(entry)
        except OSError:  # another process committed the same version meanwhile
            self.discard(work)
        self.evict()

    def fail(self, versioned_id: str, work: Path, reason: str, *, permanent: bool) -> None:
        """Record that this paper version has no figures, and why."""
        result: dict[str, Any] = {"failed": reason}
        if not permanent:
            result["until"] = time.time() + DOWNLOAD_FAILURE_TTL
        for path in work.iterdir():
            path.unlink()
        (work / RESULT).write_text(json.dumps(result), encoding="utf-8")
        self.commit(versioned_id, work)

    def evict(self) -> None:
        """Delete least recently used entries until all of them fit under the cap."""
        entries = []
        stale = time.time() - STALE_WORK_SECONDS
        for entry in self.root.iterdir():
            if not entry.is_dir():
                continue
            used = entry.stat().st_mtime
            if entry.name.startswith(WORK_PREFIX):
                if used < stale:
                    self.discard(entry)
                continue
            size = sum(f.stat().st_size for f in entry.iterdir() if f.is_file())
            entries.append((used, size, entry))
        total = sum(size for _, size, _ in entries)
        for _, size, entry in sorted(entries):
            if total <= self.max_bytes:
                break
            shutil.rmtree(entry, ignore_errors=True)
            total -= size
            log.info("figure cache over %d MB: evicted %s", self.max_bytes // 2**20, entry.name)
