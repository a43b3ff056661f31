"""One retry policy for every remote service: bounded exponential backoff with jitter.

An operation signals a transient failure by raising `Transient` (optionally
with the server's `Retry-After`); anything else propagates at once. When the
attempts are used up, `ServiceUnavailable` carries the last reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


class Transient(Exception):
    """A failure worth retrying (timeout, 429, 5xx, spurious empty or broken page)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ServiceUnavailable(Exception):
    """A service kept failing after every retry; the message says how.

    `retry_after` is the wait the server last asked for, when it named one.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` in all; waits grow from `base_delay`, never beyond `max_delay`.

    A server that asks for a longer wait than `max_delay` (a quota reset) is
    waited `max_delay` and tried again, unless `give_up_on_long_wait` is set:
    then the operation fails at once, so the caller can degrade and come back
    when the server said.
    """

    attempts: int = 4
    base_delay: float = 3.0
    max_delay: float = 120.0
    give_up_on_long_wait: bool = False

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        backoff = self.base_delay * 2 ** (attempt - 1)
        return min(backoff * random.uniform(0.5, 1.0), self.max_delay)


async def with_retries(
    operation: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    what: str,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Run `operation`, retrying `Transient` failures as `policy` allows."""
    attempt = 1
    while True:
        try:
            return await operation()
        except Transient as exc:
            long_wait = exc.retry_after is not None and exc.retry_after > policy.max_delay
            if long_wait and policy.give_up_on_long_wait:
                raise ServiceUnavailable(
                    f"{what}: {exc.reason} (retry in {exc.retry_after:.0f}s)", exc.retry_after
                ) from exc
            if attempt >= policy.attempts:
                raise ServiceUnavailable(
                    f"{what}: {exc.reason} (after {policy.attempts} attempts)", exc.retry_after
                ) from exc
            wait = policy.delay(attempt, exc.retry_after)
            log.warning("%s: %s; retry %d in %.1fs", what, exc.reason, attempt, wait)
            await sleep(wait)
            attempt += 1


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` as seconds: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)
