"""Which platform adapters `paperbot run` starts: every one whose token is set; and the
platforms that only deliver (webhook channels), which need no token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.commands import CommandLayer
from bot.config import Settings
from bot.delivery import Adapter, Platform
from handlers.discord_webhook import DiscordWebhooks


def adapters(settings: Settings, layer: CommandLayer) -> list[Adapter]:
    """The configured adapters, not yet started."""
    configured: list[Adapter] = []
    # each chat library is imported only when its platform is configured
    if settings.telegram_bot_token:
        from handlers.telegram import TelegramAdapter

        configured.append(TelegramAdapter(settings, layer))
    if settings.discord_bot_token:
        from handlers.discord_bot import DiscordAdapter

        configured.append(DiscordAdapter(settings, layer))
    return configured


@asynccontextmanager
async def started(
    settings: Settings, layer: CommandLayer, *, receive: bool
) -> AsyncIterator[dict[str, Adapter]]:
    """The configured adapters by name, started (receiving messages, or only connected
    for sending), and stopped on exit."""
    running: list[Adapter] = []
    try:
        for adapter in adapters(settings, layer):
            await adapter.start(receive=receive)
            running.append(adapter)
        yield {adapter.name: adapter for adapter in running}
    finally:
        for adapter in running:
            await adapter.stop()


@asynccontextmanager
async def delivery_platforms() -> AsyncIterator[dict[str, Platform]]:
    """Platforms that deliver without receiving messages, by name; closed on exit."""
    async with DiscordWebhooks() as webhooks:
        yield {webhooks.name: webhooks}
