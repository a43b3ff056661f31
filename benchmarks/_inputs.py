"""What every benchmark imports first: the repository on `sys.path` (and the core's
process settings, `bot/__init__.py`, applied as in the bot), where its inputs are, and a
missing input reported in one line instead of a traceback.

An input is a file under `tests/fixtures/` (or given on the command line) that a
benchmark reads; when one is not there (say, a partial checkout), the benchmark stops
with `<script>: missing input: <path>` and exit status 1.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


class MissingInput(Exception):
    """An input the benchmark needs is not there or holds nothing."""


def _report(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """The one line for a missing input; any other error keeps its traceback."""
    if isinstance(error, FileNotFoundError) and error.filename is not None:
        error = MissingInput(f"missing input: {error.filename}")
    if isinstance(error, MissingInput):
        print(f"{Path(sys.argv[0]).name}: {error}", file=sys.stderr)
    else:
        sys.__excepthook__(kind, error, traceback)


sys.path.insert(0, str(ROOT))
sys.excepthook = _report
import bot  # noqa: E402, F401 (after the path: the core's settings before numpy loads)
