"""What the core asks of a platform adapter to deliver cards and digests.

An adapter (Telegram, Discord, the shell) implements `Platform`. It raises
`ChatUnavailable` when the chat is gone for good (blocked, kicked, deleted):
the chat is paused and its papers stay undelivered, not lost. Any other
failure is raised as `DeliveryFailed`; the papers stay due and are retried.
"""

from __future__ import annotations

from typing import Protocol

from bot.models import Card, Chat, Digest


class DeliveryFailed(Exception):
    """Sending failed this time; try again later."""


class ChatUnavailable(DeliveryFailed):
    """The chat cannot receive messages any more (blocked, removed, deleted)."""


class Platform(Protocol):
    name: str

    async def send_card(self, chat: Chat, card: Card) -> None:
        """Send one card; returns once the platform has confirmed it."""
        ...

    async def send_digest(self, chat: Chat, digest: Digest) -> None:
        """Send a digest (header and papers); returns once all of it is confirmed."""
        ...
