"""Parsing a PDF in a worker process with a wall-clock timeout and a memory limit.

The event loop only waits on the child (`asyncio` subprocess); the child
(`python -m bot.figures.worker`) limits its own memory and CPU time, and is
killed when the wall-clock time is up. Any failure comes back as `ParseFailed`
with a one-line reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

UNREADABLE = 3  # the worker's exit status for a PDF it cannot read (reason on stderr)


class ParseFailed(Exception):
    """The worker produced nothing usable; the message is the reason."""


@dataclass(frozen=True)
class Limits:
    seconds: float = 30.0  # wall clock, from start to exit
    memory_mb: int = 1024  # address space of the worker


async def parse_pdf(pdf: Path, out: Path, limits: Limits) -> None:
    """Run the worker on `pdf`; on success its results are in `out` (see the worker)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.figures.worker",
        str(pdf),
        str(out),
        "--memory-mb",
        str(limits.memory_mb),
        "--cpu-seconds",
        str(int(limits.seconds) + 1),  # a backstop: the wall clock normally stops it first
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), limits.seconds)
    except TimeoutError:
        raise ParseFailed(f"parsing took longer than {limits.seconds:g}s; worker stopped") from None
    finally:
        if process.returncode is None:  # timed out, or the caller was cancelled
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    code = process.returncode
    if code != 0:
        raise ParseFailed(_reason(code, stderr.decode(errors="replace"), limits))


def _reason(code: int | None, stderr: str, limits: Limits) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1][:300] if lines else "no message"
    if code == UNREADABLE:
        return last
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        if -code == signal.SIGXCPU:
            return f"worker stopped by {name} (CPU limit {limits.seconds:g}s)"
        return f"worker killed by {name}"
    return f"parsing failed: {last}"
