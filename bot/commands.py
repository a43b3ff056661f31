"""The platform-neutral command layer: parse → check → service → replies.

Every platform adapter turns an incoming message into a `Command` and sends
back the `Reply`s; the shell, Telegram and Discord share every rule here
(permissions, validation, wording). Nothing raises out of `handle`: bad input
and failing services become short replies, in the chat's language
(`bot.messages`). The command table (`COMMANDS`, at the end) names each
command's arguments, permission, descriptions and handler.
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
from bot.command_table import Arg, CommandSpec, help_text, menu, names
from bot.delivery import Platform
from bot.messages import say
from bot.models import Card, Chat
from bot.papers import PaperNotFound
from bot.retry import ServiceUnavailable
from bot.summarize import PERSON, SummaryError
from bot.topics import TopicError, parse_topics

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4096
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
    return name in _BY_NAME


Handler = Callable[["CommandLayer", Command, Chat, Platform], Awaitable[list[Reply]]]


class CommandLayer:
    def __init__(self, app: App) -> None:
        self.app = app

    async def language(self, ref: ChatRef) -> str:
        """The language replies to this chat are in (the default for a chat not yet seen)."""
        chat = await self.app.chats.known_chat(ref)
        return chat.language if chat is not None else self.app.settings.language

    async def handle(self, command: Command, platform: Platform) -> list[Reply]:
        """Replies for one command; never raises."""
        spec = _BY_NAME.get(command.name)
        refused = await self._refusal(command, spec)
        if refused is not None:
            return [problem(refused)]
        assert spec is not None
        try:
            chat = await self.app.chats.chat(command.chat)
            return await spec.handler(self, command, chat, platform)
        except ServiceUnavailable as exc:
            log.warning("/%s: %s", command.name, exc)
            return [problem(say(await self.language(command.chat), "arxiv_down"))]
        except Exception:
            log.exception(
                "/%s failed in %s:%s", command.name, command.chat.platform, command.chat.chat_id
            )
            return [problem(say(await self.language(command.chat), "failed"))]

    async def _refusal(self, command: Command, spec: CommandSpec | None) -> str | None:
        """Why the command is not run (unknown, too long, not allowed), or None."""
        if spec is None:
            key, values = "unknown_command", {"name": command.name}
        elif len(command.args) > MAX_MESSAGE_CHARS:
            key, values = "too_long", {"limit": MAX_MESSAGE_CHARS}
        elif spec.admin and not self._may_change(command):
            key, values = "admins_only", {}
        elif command.chat.kind == "channel" and spec.posts and not self._may_change(command):
            key, values = "channel_admins_only", {}
        else:
            return None
        return say(await self.language(command.chat), key, **values)

    def _may_change(self, command: Command) -> bool:
        return (
            command.chat.kind == "private"
            or command.user_is_admin
            or command.user_id in self.app.settings.admin_ids
        )

    async def open_paper(
        self, ref: ChatRef, paper_id: str, language: str | None, figures: bool
    ) -> Reply:
        """A paper sent earlier, opened from a button (Details, a digest's list): its card
        from the stored metadata and cached summary, in `language` (the chat's when None)."""
        chat = await self.app.chats.chat(ref)
        language = language or chat.language
        try:
            card = await self.app.papers.known_card(paper_id, language, figures and chat.figures)
        except (InvalidArxivId, PaperNotFound):
            return problem(say(chat.language, "paper_gone"))
        except (ServiceUnavailable, SummaryError):
            return problem(say(chat.language, "try_later"))
        return Reply(card=card)

    async def on_help(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        return [Reply(help_text(COMMANDS, chat.language))]

    async def on_subscribe(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        lang = chat.language
        if not command.args:
            return [problem(say(lang, "give_topic"))]
        try:
            topics = parse_topics(command.args)
        except TopicError as exc:
            return [problem(say(lang, "not_subscribed", error=exc))]
        added, already = await self.app.chats.subscribe(chat, topics)
        lines = [say(lang, "following", name=name) for name in added]
        lines += [say(lang, "already_following", name=name) for name in already]
        if added and chat.mode == "daily":
            lines.append(say(lang, "arrive_daily", time=chat.digest_time, timezone=chat.timezone))
        elif added:
            lines.append(say(lang, "arrive_instant"))
        return [Reply("\n".join(lines))]

    async def on_unsubscribe(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        lang = chat.language
        if not command.args:
            return [problem(say(lang, "give_unsubscribe"))]
        if command.args.lower() == "all":
            removed = await self.app.chats.unsubscribe(chat, None)
            if not removed:
                return [Reply(say(lang, "follows_none"))]
            return [Reply(say(lang, "stopped_all", count=len(removed)))]
        try:
            topics = parse_topics(command.args)
        except TopicError as exc:
            return [problem(say(lang, "not_changed", error=exc))]
        removed = await self.app.chats.unsubscribe(chat, topics)
        missing = [t.canonical for t in topics if t.canonical not in removed]
        lines = [say(lang, "stopped", name=name) for name in removed]
        lines += [say(lang, "not_followed", name=name) for name in missing]
        return [Reply("\n".join(lines))]

    async def on_list(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        topics = await self.app.chats.topics(chat)
        listing = "\n".join(f"• {t}" for t in topics) or say(chat.language, "no_topics")
        heading = say(chat.language, "topics")
        return [Reply(f"{heading}\n{listing}\n\n{_settings_text(chat)}")]

    async def on_settings(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        return [Reply(f"{_settings_text(chat)}\n\n{say(chat.language, 'change_hint')}")]

    async def on_set(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        name, _, value = command.args.partition(" ")
        if not name:
            return [problem(say(chat.language, "set_usage", names=", ".join(SETTINGS)))]
        try:
            updated = await self.app.chats.change_setting(chat, name, value)
        except SettingError as exc:
            return [problem(say(chat.language, "not_changed", error=exc))]
        return [Reply(f"{say(updated.language, 'saved')}\n{_settings_text(updated)}")]

    async def on_summarize(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        if not command.args:
            return [problem(say(chat.language, "give_paper"))]
        try:
            ident = parse_arxiv_id(command.args.split()[0])
            paper = await self.app.papers.paper(ident)
            card = await self.app.papers.card(paper, chat.language, chat.figures, PERSON)
        except (InvalidArxivId, PaperNotFound, ArxivQueryError) as exc:
            return [problem(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")]
        return [Reply(card=card)]

    async def on_digest(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        report = await self.app.outbox.deliver_chat(chat, platform)
        if report.failed:
            return [problem(say(chat.language, "digest_incomplete"))]
        if not report.papers:
            return [Reply(say(chat.language, "no_new_papers"))]
        return []


def _settings_text(chat: Chat) -> str:
    values = {
        "language": chat.language,
        "mode": chat.mode,
        "time": chat.digest_time,
        "timezone": chat.timezone,
        "figures": "on" if chat.figures else "off",
        "max": str(chat.max_papers),
    }
    lines = [f"{name} {values[name]}" for name in SETTINGS]
    return "\n".join([say(chat.language, "settings"), *lines])


TOPIC_HINT = "cs.CV · NeRF in:cs.CV,cs.GR · au:Mildenhall · q:<arXiv query>"
PAPER_HINT = "arXiv id or link, e.g. 2404.00409"

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "subscribe",
        CommandLayer.on_subscribe,
        en="Follow a topic: cs.CV, NeRF, au:Mildenhall; several separated by ;",
        zh="关注主题：cs.CV、NeRF、au:Mildenhall；多个用 ; 分隔",
        usage="<topic>",
        examples="cs.CV · math · gaussian splatting · NeRF in:cs.CV,cs.GR · au:Mildenhall · "
        'q:cat:cs.CV AND abs:"radiance field"',
        args=(Arg("topics", "topics", TOPIC_HINT),),
        admin=True,
        channel=True,
    ),
    CommandSpec(
        "unsubscribe",
        CommandLayer.on_unsubscribe,
        en="Stop following a topic, or all",
        zh="取消关注主题，或 all 全部取消",
        usage="<topic> | all",
        args=(Arg("topics", "followed", "a topic this chat follows, or all"),),
        admin=True,
        channel=True,
    ),
    CommandSpec(
        "list",
        CommandLayer.on_list,
        en="This chat's topics and settings",
        zh="本聊天关注的主题和设置",
        channel=True,
    ),
    CommandSpec(
        "summarize",
        CommandLayer.on_summarize,
        en="Card of one paper: /summarize 2404.00409",
        zh="单篇论文卡片：/summarize 2404.00409",
        usage="<arXiv id or link>",
        args=(Arg("paper", "paper", PAPER_HINT),),
        posts=True,
    ),
    CommandSpec(
        "digest",
        CommandLayer.on_digest,
        en="Send the papers not yet sent, now",
        zh="立即发送尚未发送的论文",
        posts=True,
        channel=True,
    ),
    CommandSpec(
        "settings",
        CommandLayer.on_settings,
        en="Show settings; /set <name> <value> changes one",
        zh="查看设置；/set <名称> <值> 修改",
        channel=True,
    ),
    CommandSpec(
        "set",
        CommandLayer.on_set,
        en="Change one setting",
        zh="修改一项设置",
        usage="<name> <value>",
        examples=", ".join(SETTINGS),
        args=(Arg("name", "setting", "the setting"), Arg("value", "text", "its new value")),
        admin=True,
        channel=True,
    ),
    CommandSpec(
        "help", CommandLayer.on_help, en="What the bot does, with examples", zh="功能说明和示例"
    ),
    CommandSpec(
        "start",
        CommandLayer.on_help,
        en="What the bot does, with examples",
        zh="功能说明和示例",
        menu=False,
    ),
)
_BY_NAME = {spec.name: spec for spec in COMMANDS}

ADMIN_ONLY = names(COMMANDS, "admin")
CHANNEL_COMMANDS = names(COMMANDS, "channel")


def help_for(language: str) -> str:
    """`/help` in `language`."""
    return help_text(COMMANDS, language)


def menu_for(language: str) -> list[tuple[str, str]]:
    """The command menu a platform shows, in `language`."""
    return menu(COMMANDS, language)
