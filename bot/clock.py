"""The one source of time for the services: a callable returning an aware UTC datetime.

Services take a `Clock` and never read the wall clock themselves; tests and
benchmarks pass a clock they move.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
