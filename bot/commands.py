"""The platform-neutral command layer: parse → check → service → replies.

Every platform adapter turns an incoming message into a `Command` and sends
back the `Reply`s; the shell, Telegram and Discord share every rule here
(permissions, validation, wording). Nothing raises out of `handle`: bad input
and failing services become short replies.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.app import App
from bot.arxiv.ids import InvalidArxivId, parse_arxiv_id
from bot.arxiv.parse import ArxivQueryError
from bot.chat_settings import SETTINGS, SettingError
from bot.chats import ChatRef
from bot.delivery import Platform
from bot.models import Card, Chat
from bot.papers import PaperNotFound
from bot.retry import ServiceUnavailable
from bot.topics import TopicError, parse_topics

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4096
_COMMAND = re.compile(r"^/(?P<name>[A-Za-z_]{1,32})(?:@(?P<bot>\w+))?(?:\s+(?P<args>.*))?$", re.S)

CHANGING = frozenset({"subscribe", "unsubscribe", "set"})
# a channel is read by its subscribers only: nobody but its administrators may post there
POSTING_TO_CHANNEL = frozenset({"digest", "summarize"})

NOT_A_COMMAND = "Commands start with /. Send /help to see them."
NOT_TEXT = "I read text commands only. Send /help to see them."

HELP = """paperbot follows arXiv for this chat: new papers with a short summary and key figure.

/subscribe <topic> - follow a topic; several separated by ;
    cs.CV · math · gaussian splatting · NeRF in:cs.CV,cs.GR · au:Mildenhall
    q:cat:cs.CV AND abs:"radiance field"
/unsubscribe <topic> or /unsubscribe all
/list - this chat's topics and settings
/summarize <arXiv id or URL> - e.g. /summarize 2404.00409
/digest - send the papers not yet sent to this chat now
/settings - show settings; /set <name> <value> changes one:
    language (en, zh, ...), mode (daily or instant), time (HH:MM),
    timezone (e.g. Europe/Berlin), figures (on/off), max (papers per digest)"""


# The command menu a platform shows (Telegram's setMyCommands, Discord's slash commands).
MENU: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("subscribe", "Follow a topic: cs.CV, NeRF, au:Mildenhall"),
        ("unsubscribe", "Stop following a topic, or all"),
        ("list", "This chat's topics and settings"),
        ("summarize", "Card of one paper: /summarize 2404.00409"),
        ("digest", "Send the papers not yet sent, now"),
        ("settings", "Show settings; /set <name> <value> changes one"),
        ("help", "What the bot does, with examples"),
    ],
    "zh": [
        ("subscribe", "关注主题：cs.CV、NeRF、au:Mildenhall"),
        ("unsubscribe", "取消关注主题，或 all 全部取消"),
        ("list", "本聊天关注的主题和设置"),
        ("summarize", "单篇论文卡片：/summarize 2404.00409"),
        ("digest", "立即发送尚未发送的论文"),
        ("settings", "查看设置；/set <名称> <值> 修改"),
        ("help", "功能说明和示例"),
    ],
}


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
    bad input or a failure, which an adapter may show only to the user who asked."""

    text: str = ""
    card: Card | None = None
    problem: bool = False


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


def knows(name: str) -> bool:
    """Whether `name` is one of the commands (for platforms that see other bots' commands)."""
    return name in _HANDLERS


Handler = Callable[["CommandLayer", Command, Chat, Platform], Awaitable[list[Reply]]]


class CommandLayer:
    def __init__(self, app: App) -> None:
        self.app = app

    async def handle(self, command: Command, platform: Platform) -> list[Reply]:
        """Replies for one command; never raises."""
        handler = _HANDLERS.get(command.name)
        if handler is None:
            return [problem(f"Unknown command /{command.name}. Send /help for the list.")]
        if len(command.args) > MAX_MESSAGE_CHARS:
            return [problem(f"That message is too long (at most {MAX_MESSAGE_CHARS} characters).")]
        if command.name in CHANGING and not self._may_change(command):
            return [problem("Only administrators of this chat can change its topics or settings.")]
        if (
            command.chat.kind == "channel"
            and command.name in POSTING_TO_CHANNEL
            and not self._may_change(command)
        ):
            return [problem("Only administrators of this channel can post to it.")]
        try:
            chat = await self.app.chats.chat(command.chat)
            return await handler(self, command, chat, platform)
        except ServiceUnavailable as exc:
            log.warning("/%s: %s", command.name, exc)
            return [problem("arXiv is not answering right now; please try again in a few minutes.")]
        except Exception:
            log.exception(
                "/%s failed in %s:%s", command.name, command.chat.platform, command.chat.chat_id
            )
            return [problem("Something went wrong on our side; the error was logged.")]

    def _may_change(self, command: Command) -> bool:
        return (
            command.chat.kind == "private"
            or command.user_is_admin
            or command.user_id in self.app.settings.admin_ids
        )

    async def on_start(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        return [Reply(HELP)]

    async def on_subscribe(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        if not command.args:
            return [problem("Give a topic: /subscribe cs.CV (or NeRF, au:Mildenhall, ...)")]
        try:
            topics = parse_topics(command.args)
        except TopicError as exc:
            return [problem(f"Not subscribed: {exc}.")]
        added, already = await self.app.chats.subscribe(chat, topics)
        lines = [f"Following {name}" for name in added]
        lines += [f"Already following {name}" for name in already]
        if added and chat.mode == "daily":
            lines.append(
                f"New papers arrive in the daily digest at {chat.digest_time} ({chat.timezone})."
            )
        elif added:
            lines.append("New papers arrive as they are announced.")
        return [Reply("\n".join(lines))]

    async def on_unsubscribe(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        if not command.args:
            return [problem("Give a topic to stop following, or /unsubscribe all")]
        if command.args.lower() == "all":
            removed = await self.app.chats.unsubscribe(chat, None)
            return [
                Reply(
                    f"Stopped following {len(removed)} topics."
                    if removed
                    else "This chat follows no topics."
                )
            ]
        try:
            topics = parse_topics(command.args)
        except TopicError as exc:
            return [problem(f"Not changed: {exc}.")]
        removed = await self.app.chats.unsubscribe(chat, topics)
        missing = [t.canonical for t in topics if t.canonical not in removed]
        lines = [f"Stopped following {name}" for name in removed]
        lines += [f"Not followed here: {name}" for name in missing]
        return [Reply("\n".join(lines))]

    async def on_list(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        topics = await self.app.chats.topics(chat)
        listing = "\n".join(f"• {t}" for t in topics) if topics else "(none; try /subscribe cs.CV)"
        return [Reply(f"Topics:\n{listing}\n\n{_settings_text(chat)}")]

    async def on_settings(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        return [Reply(f"{_settings_text(chat)}\n\nChange one with /set <name> <value>.")]

    async def on_set(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        name, _, value = command.args.partition(" ")
        if not name:
            return [problem(f"Usage: /set <name> <value>; names: {', '.join(SETTINGS)}")]
        try:
            updated = await self.app.chats.change_setting(chat, name, value)
        except SettingError as exc:
            return [problem(f"Not changed: {exc}.")]
        return [Reply(f"Saved.\n{_settings_text(updated)}")]

    async def on_summarize(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        if not command.args:
            return [problem("Give an arXiv id or link: /summarize 2404.00409")]
        try:
            ident = parse_arxiv_id(command.args.split()[0])
            paper = await self.app.papers.paper(ident)
            card = await self.app.papers.card(paper, chat.language, chat.figures)
        except (InvalidArxivId, PaperNotFound, ArxivQueryError) as exc:
            return [problem(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")]
        return [Reply(card=card)]

    async def on_digest(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        report = await self.app.outbox.deliver_chat(chat, platform)
        if report.failed:
            return [problem("The digest could not be sent completely; the rest follows later.")]
        if not report.papers:
            return [Reply("No new papers for this chat yet.")]
        return []


def _settings_text(chat: Chat) -> str:
    return (
        "Settings:\n"
        f"language {chat.language}\n"
        f"mode {chat.mode}\n"
        f"time {chat.digest_time}\n"
        f"timezone {chat.timezone}\n"
        f"figures {'on' if chat.figures else 'off'}\n"
        f"max {chat.max_papers}"
    )


_HANDLERS: dict[str, Handler] = {
    "start": CommandLayer.on_start,
    "help": CommandLayer.on_start,
    "subscribe": CommandLayer.on_subscribe,
    "unsubscribe": CommandLayer.on_unsubscribe,
    "list": CommandLayer.on_list,
    "settings": CommandLayer.on_settings,
    "set": CommandLayer.on_set,
    "summarize": CommandLayer.on_summarize,
    "digest": CommandLayer.on_digest,
}
