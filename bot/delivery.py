"""What the core asks of a platform adapter to deliver cards, digests and plain text.

An adapter (Telegram, Discord, the shell) implements `Platform`. It raises
`ChatUnavailable` when the chat is gone for good (blocked, kicked, deleted):
the chat is paused and its papers stay undelivered, not lost. It raises
`MessageRejected` when the platform refused this one message. Any other
failure (5xx, 429 after its own waits, network) is raised as `DeliveryFailed`,
with `retry_after` when the platform gave one. The papers stay due and are
retried with backoff (bot/retry.py); a platform that keeps failing is left
alone for a while (its circuit opens) without holding up the other platforms.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.models import Card, Chat, Digest

Sent = Callable[[list[str]], Awaitable[None]]


class DeliveryFailed(Exception):
    """Sending failed this time; try again later (not before `retry_after` seconds,
    when the platform said so)."""

    def __init__(self, reason: str = "", retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class ChatUnavailable(DeliveryFailed):
    """The chat cannot receive messages any more (blocked, removed, deleted)."""


class MessageRejected(DeliveryFailed):
    """The platform works but refused this message (an HTTP 4xx other than 429, e.g.
    too long or malformed): retried later, given up after a number of attempts, and
    not counted as the platform being down."""


class Platform(Protocol):
    name: str

    async def send_card(self, chat: Chat, card: Card) -> None:
        """Send one card; returns once the platform has confirmed it."""
        ...

    async def send_digest(self, chat: Chat, digest: Digest, sent: Sent) -> None:
        """Send a digest (header and papers); returns once all of it is confirmed.

        A digest may take several messages: after each one the platform confirmed,
        `await sent(paper_ids)` with the papers it carried, so that a failure half-way
        repeats only what did not arrive.
        """
        ...

    async def send_text(self, chat: Chat, text: str) -> None:
        """Send plain text (split over as many messages as the platform's limits need, no
        markup: the adapter escapes it), such as the daily run report; returns once it
        is confirmed."""
        ...


class Adapter(Platform, Protocol):
    """A platform that also receives messages; `paperbot run` starts and stops it."""

    async def start(self, receive: bool = True) -> None:
        """Connect and begin handling incoming messages (returns once running); with
        `receive` False only connect for sending (`paperbot poll`)."""
        ...

    async def stop(self) -> None:
        """Stop receiving, finish or park what is in flight, disconnect."""
        ...
