"""Telegram's flood limits, kept on our side of the wire (a PTB rate limiter).

Every request that sends or edits a message passes three sliding windows: its
chat's (1 message a second), its group's or channel's (20 a minute) and the
bot's overall one (30 a second) — the numbers live in
`handlers.telegram_render.RateLimits`. A window counts the requests in flight
and those that *finished* within its period, so whatever the network delays,
Telegram never sees more than the limit inside any window. A `RetryAfter`
answer closes the chat's window for the time Telegram asks and is re-raised:
the caller's retry policy (`bot.retry`) waits and sends again.

Other requests (getUpdates, getChatMember, answerCallbackQuery, …) are not
limited.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from handlers.telegram_render import TELEGRAM_LIMITS, RateLimits, Window

Result = bool | dict[str, Any] | list[dict[str, Any]]

_LIMITED_PREFIXES = ("send", "edit", "copyMessage", "forwardMessage")
_IDLE_WINDOWS = 2048  # forget idle per-chat windows beyond this many


def is_limited(endpoint: str) -> bool:
    """Whether an API method posts or edits a message (counts against flood limits)."""
    return endpoint.startswith(_LIMITED_PREFIXES)


def is_group(chat_id: object) -> bool:
    """Groups, supergroups and channels have negative ids or an @username."""
    if isinstance(chat_id, str) and chat_id.startswith("@"):
        return True
    try:
        return int(str(chat_id)) < 0
    except ValueError:
        return False


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB keeps it as a timedelta)."""
    return error._retry_after.total_seconds()


class SlidingWindow:
    """Admits a request when fewer than `limit` are in flight or finished within the last
    `seconds`; waiters are served first come, first served."""

    def __init__(self, window: Window) -> None:
        self.limit = window.limit
        self.seconds = window.seconds
        self._finished: deque[float] = deque()
        self._in_flight = 0
        self._closed_until = 0.0
        self._turn = asyncio.Lock()
        self._changed = asyncio.Event()

    @property
    def idle(self) -> bool:
        now = time.monotonic()
        return (
            self._in_flight == 0
            and not self._turn.locked()
            and self._closed_until <= now
            and (not self._finished or self._finished[-1] <= now - self.seconds)
        )

    async def acquire(self) -> None:
        async with self._turn:
            while True:
                now = time.monotonic()
                while self._finished and self._finished[0] <= now - self.seconds:
                    self._finished.popleft()
                if self._closed_until > now:
                    wait: float | None = self._closed_until - now
                elif self._in_flight + len(self._finished) < self.limit:
                    self._in_flight += 1
                    return
                else:
                    wait = self._finished[0] + self.seconds - now if self._finished else None
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)

    def release(self, *, sent: bool) -> None:
        """End a request; one that never left (`sent=False`) does not count."""
        self._in_flight -= 1
        if sent:
            self._finished.append(time.monotonic())
        self._changed.set()

    def close_for(self, seconds: float) -> None:
        """Admit nothing for `seconds` (Telegram's retry_after)."""
        self._closed_until = max(self._closed_until, time.monotonic() + seconds)
        self._changed.set()


class TelegramRateLimiter(BaseRateLimiter[int]):
    """Per-chat, per-group and overall sliding windows for message-sending requests."""

    def __init__(self, limits: RateLimits = TELEGRAM_LIMITS) -> None:
        self.limits = limits
        self._overall = SlidingWindow(limits.overall)
        self._chats: dict[str, SlidingWindow] = {}
        self._groups: dict[str, SlidingWindow] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        self._chats.clear()
        self._groups.clear()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        chat_id = data.get("chat_id")
        if chat_id is None or not is_limited(endpoint):
            return await callback(*args, **kwargs)
        key = str(chat_id)
        chat = self._window(self._chats, key, self.limits.chat)
        windows = [chat]
        if is_group(chat_id):
            windows.append(self._window(self._groups, key, self.limits.group))
        windows.append(self._overall)
        acquired: list[SlidingWindow] = []
        sent = False
        try:
            for window in windows:
                await window.acquire()
                acquired.append(window)
            sent = True
            return await callback(*args, **kwargs)
        except RetryAfter as error:
            chat.close_for(retry_after_seconds(error))
            raise
        finally:
            for window in acquired:
                window.release(sent=sent)

    @staticmethod
    def _window(windows: dict[str, SlidingWindow], key: str, limit: Window) -> SlidingWindow:
        window = windows.get(key)
        if window is None:
            if len(windows) > _IDLE_WINDOWS:
                for idle in [k for k, w in windows.items() if w.idle]:
                    del windows[idle]
            window = windows[key] = SlidingWindow(limit)
        return window
