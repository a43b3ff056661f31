"""The command layer's vocabulary: a `Command` in, `Reply`s out, the shape of a command
table entry, and what every platform derives from a table.

`bot/commands.py` holds the table itself (one `CommandSpec` per command, its
handler included). From it come `/help`, Telegram's command menus (en, zh),
Discord's slash commands and their options, and the sets of commands that only
administrators may use.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from bot.chats import ChatRef
from bot.messages import say
from bot.models import Card

_COMMAND = re.compile(r"^/(?P<name>[A-Za-z_]{1,32})(?:@(?P<bot>\w+))?(?:\s+(?P<args>.*))?$", re.S)


@dataclass(frozen=True)
class Command:
    chat: ChatRef
    user_id: str
    name: str
    args: str = ""
    user_is_admin: bool = False


@dataclass(frozen=True)
class Reply:
    """A reply: plain text (the adapter escapes it) or a card. `problem` marks a reply to
    bad input or a failure, which an adapter may show only to the user who asked. `votes`:
    after a 👍 / 👎 press in a group or channel, the paper's (👍, 👎) counts there (None in
    a private chat, whose buttons mark the choice instead)."""

    text: str = ""
    card: Card | None = None
    problem: bool = False
    votes: tuple[int, int] | None = None


def problem(text: str) -> Reply:
    """A reply to bad input or a failure."""
    return Reply(text, problem=True)


def parse_command(text: str, bot_username: str | None = None) -> tuple[str, str] | None:
    """`/name@bot args` → (name, args); None for plain text or another bot's command."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    addressed = match.group("bot")
    if addressed and bot_username and addressed.lower() != bot_username.lower():
        return None
    return match.group("name").lower(), (match.group("args") or "").strip()


# How an argument is offered by platforms with typed options (Discord):
# topics: topic phrases, category names completed; followed: one of the chat's topics
# (or `all`); paper: an arXiv id or link; setting: a setting name and its value;
# text: free text.
ArgKind = Literal["topics", "followed", "paper", "setting", "text"]


@dataclass(frozen=True)
class Arg:
    name: str
    kind: ArgKind
    hint: str  # what to type, for a platform's option description
    required: bool = True


@dataclass(frozen=True)
class CommandSpec:
    name: str
    handler: Callable[..., Awaitable[list[Any]]]
    en: str  # one-line description (menus, slash commands, /help)
    zh: str
    usage: str = ""  # after the name in /help, e.g. "<topic>"
    examples: str = ""  # an indented line under it in /help
    args: tuple[Arg, ...] = ()
    admin: bool = False  # changes the chat: only its administrators, outside private chats
    posts: bool = False  # posts into the chat: only administrators, in broadcast channels
    channel: bool = False  # may name a channel: `/subscribe @channel cs.CV` (Telegram)
    operator: bool = False  # only users in PAPERBOT_ADMIN_IDS, only in a private chat
    menu: bool = True  # listed in menus and /help

    def description(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


def help_text(table: Iterable[CommandSpec], language: str) -> str:
    """`/help`: what the bot does, then each command with its usage and examples."""
    lines = [say(language, "help_intro"), ""]
    for spec in table:
        if spec.menu and spec.name != "help":
            head = f"/{spec.name} {spec.usage}".rstrip()
            lines.append(f"{head} - {spec.description(language)}")
            if spec.examples:
                lines.append(f"    {spec.examples}")
    return "\n".join(lines)


def menu(table: Iterable[CommandSpec], language: str) -> list[tuple[str, str]]:
    """(name, description) of the commands a platform's menu shows."""
    return [(spec.name, spec.description(language)) for spec in table if spec.menu]


def names(
    table: Iterable[CommandSpec], flag: Literal["admin", "posts", "channel"]
) -> frozenset[str]:
    """The commands with `flag` set (`admin`: only administrators change the chat, ...)."""
    return frozenset(spec.name for spec in table if getattr(spec, flag))
