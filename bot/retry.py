"""The failure policy for every remote service, in one place.

* `RetryPolicy`: bounded exponential backoff with jitter, `Retry-After` honoured.
* `with_retries`: an operation signals a transient failure by raising `Transient`
  (optionally with the server's `Retry-After`); anything else propagates at once.
  When the attempts are used up, `ServiceUnavailable` carries the last reason.
* `CircuitBreaker`: after a few failures in a row a service counts as down;
  calls then fail at once instead of hammering it, until a cool-down has passed
  and one call probes it again (the cool-down doubles while probes fail).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
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


@dataclass
class CircuitBreaker:
    """Tells whether a service may be called now, from how its last calls went.

    Closed (normal) until `threshold` failures in a row; then open for
    `cooldown` seconds, during which `allows()` is false. After that it is
    half-open: calls go through, the first success closes it, a failure opens
    it again for twice as long (at most `max_cooldown`). Callers report each
    outcome with `succeeded()` or `failed()`.
    """

    name: str
    threshold: int = 3
    cooldown: float = 60.0
    max_cooldown: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    failures: int = field(default=0, init=False)
    _open_until: float | None = field(default=None, init=False)
    _wait: float = field(default=0.0, init=False)

    @property
    def state(self) -> str:
        if self._open_until is None:
            return "closed"
        return "open" if self.clock() < self._open_until else "half-open"

    @property
    def closed(self) -> bool:
        return self._open_until is None

    def allows(self) -> bool:
        """Whether a call may go out now (false only while open)."""
        return self.state != "open"

    def check(self, what: str) -> None:
        """Raise `ServiceUnavailable` at once when the service counts as down."""
        if not self.allows():
            assert self._open_until is not None
            left = self._open_until - self.clock()
            raise ServiceUnavailable(f"{what}: {self.name} is down; next try in {left:.0f}s")

    def succeeded(self) -> None:
        if self._open_until is not None:
            log.info("%s is back", self.name)
        self.failures, self._open_until, self._wait = 0, None, 0.0

    def failed(self) -> None:
        self.failures += 1
        state = self.state
        if state == "half-open":
            self._wait = min(self._wait * 2, self.max_cooldown)
        elif state == "closed" and self.failures >= self.threshold:
            self._wait = self.cooldown
        else:
            return
        self._open_until = self.clock() + self._wait
        log.warning(
            "%s is down after %d failures in a row; next try in %.0fs",
            self.name,
            self.failures,
            self._wait,
        )


async def with_retries(
    operation: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    what: str,
    sleep: Sleep = asyncio.sleep,
    circuit: CircuitBreaker | None = None,
) -> T:
    """Run `operation`, retrying `Transient` failures as `policy` allows. With a
    `circuit`, a service that is down is not called at all, and the outcome (success,
    or failure after every retry) is reported to it."""
    if circuit is not None:
        circuit.check(what)
    attempt = 1
    while True:
        try:
            result = await operation()
        except Transient as exc:
            long_wait = exc.retry_after is not None and exc.retry_after > policy.max_delay
            if long_wait and policy.give_up_on_long_wait:
                raise ServiceUnavailable(
                    f"{what}: {exc.reason} (retry in {exc.retry_after:.0f}s)", exc.retry_after
                ) from exc
            if attempt >= policy.attempts:
                if circuit is not None:
                    circuit.failed()
                raise ServiceUnavailable(
                    f"{what}: {exc.reason} (after {policy.attempts} attempts)", exc.retry_after
                ) from exc
            wait = policy.delay(attempt, exc.retry_after)
            log.warning("%s: %s; retry %d in %.1fs", what, exc.reason, attempt, wait)
            await sleep(wait)
            attempt += 1
        else:
            if circuit is not None:
                circuit.succeeded()
            return result


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
