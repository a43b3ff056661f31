"""The handler of `/report` (an entry of `bot.commands.COMMANDS`, for operators in a
private chat): the daily run report on or off, or today's report so far."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.command_table import Command, Reply, problem
from bot.delivery import Platform
from bot.messages import say
from bot.models import Chat
from bot.report import render

if TYPE_CHECKING:
    from bot.commands import CommandLayer


async def report(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    choice = command.args.lower()
    if not choice:
        return [Reply(render(await layer.app.reports.report(), chat.language))]
    if choice == "on":
        chat = await layer.app.chats.set_report(chat, command.user_id)
        return [
            Reply(say(chat.language, "report_on", time=chat.digest_time, timezone=chat.timezone))
        ]
    if choice == "off":
        await layer.app.chats.set_report(chat, None)
        return [Reply(say(chat.language, "report_off"))]
    return [problem(say(chat.language, "report_usage"))]
