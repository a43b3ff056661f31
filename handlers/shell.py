"""The terminal adapter: stdin lines are messages from one chat, replies go to stdout.

The shell chat (platform `shell`) is stored like any other chat, so a later
`paperbot poll --once` prints the cards due to it.
"""

from __future__ import annotations

import asyncio
import getpass
from typing import TextIO

from bot.chats import ChatRef
from bot.command_table import Command, Reply, parse_command
from bot.commands import CommandLayer
from bot.delivery import Sent
from bot.messages import say
from bot.models import Card, Chat, Digest
from handlers.render import card_text, digest_text

PLATFORM = "shell"
PROMPT = "paperbot> "


def shell_chat() -> ChatRef:
    """The terminal user's own chat."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "local"
    return ChatRef(PLATFORM, user, "private", f"terminal of {user}")


class ShellPlatform:
    """Delivers cards and digests as plain text to a stream."""

    name = PLATFORM

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def send_card(self, chat: Chat, card: Card) -> None:
        self._write(card_text(card))

    async def send_digest(self, chat: Chat, digest: Digest, sent: Sent) -> None:
        self._write(digest_text(digest))
        await sent([item.paper.id for item in (*digest.cards, *digest.listed)])

    async def send_text(self, chat: Chat, text: str) -> None:
        self._write(text)

    def show(self, reply: Reply) -> None:
        self._write(card_text(reply.card) if reply.card is not None else reply.text)

    def _write(self, text: str) -> None:
        self.out.write(text.rstrip("\n") + "\n\n")
        self.out.flush()


async def run_shell(layer: CommandLayer, stdin: TextIO, out: TextIO, interactive: bool) -> None:
    """Read messages until end of input, answering each one."""
    platform = ShellPlatform(out)
    chat = shell_chat()
    if interactive:
        out.write("paperbot shell: type /help, Ctrl-D to leave.\n")
    while True:
        if interactive:
            out.write(PROMPT)
            out.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            return
        text = line.strip()
        if not text:
            continue
        parsed = parse_command(text)
        if parsed is None:
            platform.show(Reply(say(await layer.language(chat), "not_a_command")))
            continue
        name, args = parsed
        command = Command(chat=chat, user_id=chat.chat_id, name=name, args=args, user_is_admin=True)
        for reply in await layer.handle(command, platform):
            platform.show(reply)
