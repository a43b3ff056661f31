"""Which platform adapters `paperbot run` starts: every one whose token is set."""

from __future__ import annotations

from bot.commands import CommandLayer
from bot.config import Settings
from bot.delivery import Adapter
from handlers.telegram import TelegramAdapter


def adapters(settings: Settings, layer: CommandLayer) -> list[Adapter]:
    """The configured adapters, not yet started."""
    configured: list[Adapter] = []
    if settings.telegram_bot_token:
        configured.append(TelegramAdapter(settings, layer))
    return configured
