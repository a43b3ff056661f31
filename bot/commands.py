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
from bot.models import Card, Chat, Paper
from bot.papers import PaperNotFound
from bot.ranking import DISLIKE, LIKE, short_title
from bot.relevance import Score, parse_mute
from bot.retry import ServiceUnavailable
from bot.summarize import SummaryError
from bot.topics import TopicError, parse_topics

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4096
MAX_INTERESTS_CHARS = 1000
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
        sections = [f"{heading}\n{listing}"]
        mutes = await self.app.relevance.mutes(chat)
        if mutes:
            sections.append("\n".join([say(chat.language, "mutes"), *(f"• {m}" for m in mutes)]))
        if chat.interests:
            sections.append(say(chat.language, "interests_listed", text=chat.interests))
        return [Reply("\n\n".join([*sections, _settings_text(chat)]))]

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
            card = await self.app.papers.card(paper, chat.language, chat.figures)
        except (InvalidArxivId, PaperNotFound, ArxivQueryError) as exc:
            return [problem(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")]
        return [Reply(card=card)]

    async def on_like(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        return await self._vote(command, chat, LIKE)

    async def on_dislike(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        return await self._vote(command, chat, DISLIKE)

    async def vote_button(self, command: Command, value: int) -> Reply:
        """A 👍 / 👎 button under a card (`command` names the paper): a short answer. Only a
        stored paper is voted on (a button never asks arXiv); pressing again changes
        nothing."""
        chat = await self.app.chats.chat(command.chat)
        if chat.kind == "channel" and not self._may_change(command):
            return problem(say(chat.language, "channel_votes"))
        try:
            paper = await self.app.papers.stored_paper(parse_arxiv_id(command.args))
        except InvalidArxivId:
            paper = None
        if paper is None:
            return problem(say(chat.language, "paper_gone"))
        old = await self.app.relevance.vote(chat, command.user_id, paper, value)
        key = "vote_kept" if old == value else "voted_up" if value == LIKE else "voted_down"
        return Reply(say(chat.language, key))

    async def _vote(self, command: Command, chat: Chat, value: int) -> list[Reply]:
        """A member's /like or /dislike; in a channel, its administrators'."""
        if chat.kind == "channel" and not self._may_change(command):
            return [problem(say(chat.language, "channel_votes"))]
        found = await self._paper_arg(command, chat)
        if isinstance(found, Reply):
            return [found]
        await self.app.relevance.vote(chat, command.user_id, found, value)
        key = "liked" if value == LIKE else "disliked"
        return [Reply(say(chat.language, key, title=found.title))]

    async def _paper_arg(self, command: Command, chat: Chat) -> Paper | Reply:
        """The paper a command names (stored, or looked up on arXiv and stored), or the
        reply saying what is wrong with it."""
        if not command.args:
            return problem(say(chat.language, "give_paper_to", command=command.name))
        given = command.args.split()[0]
        try:
            return await self.app.papers.known_paper(given)
        except InvalidArxivId as exc:
            return problem(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
        except PaperNotFound:
            return problem(say(chat.language, "no_such_paper", paper=given))

    async def on_mute(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        return await self._change_mute(command, chat, mute=True)

    async def on_unmute(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        return await self._change_mute(command, chat, mute=False)

    async def _change_mute(self, command: Command, chat: Chat, *, mute: bool) -> list[Reply]:
        lang = chat.language
        if not command.args:
            return [problem(say(lang, "give_mute" if mute else "give_unmute"))]
        try:
            term = parse_mute(command.args)
        except TopicError as exc:
            return [problem(say(lang, "not_changed", error=exc))]
        relevance = self.app.relevance
        if mute:
            changed = await relevance.mute(chat, term)
            key = "muted" if changed else "already_muted"
        else:
            changed = await relevance.unmute(chat, term)
            key = "unmuted" if changed else "not_muted"
        return [Reply(say(lang, key, name=term.canonical))]

    async def on_interests(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        lang, text = chat.language, " ".join(command.args.split())
        if not text:
            if not chat.interests:
                return [Reply(say(lang, "no_interests"))]
            return [Reply(say(lang, "interests", text=chat.interests))]
        if len(text) > MAX_INTERESTS_CHARS:
            return [problem(say(lang, "interests_too_long", limit=MAX_INTERESTS_CHARS))]
        cleared = text.lower() == "off"
        await self.app.relevance.set_interests(chat, "" if cleared else text)
        return [Reply(say(lang, "interests_cleared" if cleared else "interests_saved"))]

    async def on_why(self, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
        found = await self._paper_arg(command, chat)
        if isinstance(found, Reply):
            return [found]
        score, status = await self.app.relevance.why(chat, found)
        return [Reply(_why_text(chat.language, found, score, status))]

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
        "threshold": "off" if chat.threshold is None else f"{chat.threshold:g}",
    }
    lines = [f"{name} {values[name]}" for name in SETTINGS]
    return "\n".join([say(chat.language, "settings"), *lines])


def _why_text(lang: str, paper: Paper, score: Score, status: str) -> str:
    """`/why`: topics matched, mutes checked, the score and its parts, the liked papers
    it is closest to, and whether it was sent, skipped or is still due."""

    def part(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    none = say(lang, "none")
    matched = ", ".join(f"{t} ({w})" for t, w in score.matched) or none
    lines = [
        say(lang, "why_title", paper=paper.id, title=" ".join(paper.title.split())),
        say(
            lang,
            "why_score",
            score=part(score.value),
            topics=part(score.topics),
            feedback=part(score.feedback),
            interests=part(score.interests),
        ),
        say(lang, "why_topics", matched=matched),
        say(lang, "why_mutes", mutes=", ".join(score.mutes_checked) or none),
    ]
    if score.muted:
        muted = ", ".join(f"{m} ({w})" for m, w in score.muted_by)
        lines.append(say(lang, "why_muted_by", mutes=muted))
    if score.like:
        liked = "; ".join(f"{i} {short_title(t)} ({s:.2f})" for i, t, s in score.like)
        lines.append(say(lang, "why_liked", papers=liked))
    lines.append(say(lang, f"why_{status}"))
    return "\n".join(lines)


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
        "like",
        CommandLayer.on_like,
        en="More papers like this one: /like 2404.00409 (the card's 👍)",
        zh="多推荐类似论文：/like 2404.00409（卡片上的 👍）",
        usage="<arXiv id>",
        args=(Arg("paper", "paper", PAPER_HINT),),
        channel=True,
    ),
    CommandSpec(
        "dislike",
        CommandLayer.on_dislike,
        en="Fewer papers like this one (the card's 👎)",
        zh="少推荐类似论文（卡片上的 👎）",
        usage="<arXiv id>",
        args=(Arg("paper", "paper", PAPER_HINT),),
        channel=True,
    ),
    CommandSpec(
        "mute",
        CommandLayer.on_mute,
        en="Never send papers matching a keyword phrase, au:Name or category",
        zh="不再发送匹配某关键词、au:作者名或分类的论文",
        usage="<term>",
        examples="diffusion · au:Smith · cs.RO",
        args=(Arg("term", "text", "a keyword phrase, au:Name or a category"),),
        admin=True,
        channel=True,
    ),
    CommandSpec(
        "unmute",
        CommandLayer.on_unmute,
        en="Stop muting a term",
        zh="取消屏蔽",
        usage="<term>",
        args=(Arg("term", "text", "a term this chat mutes"),),
        admin=True,
        channel=True,
    ),
    CommandSpec(
        "interests",
        CommandLayer.on_interests,
        en="Describe in words what this chat wants; alone: show it; off: clear",
        zh="用文字描述本聊天想看的论文；不带参数查看，off 清除",
        usage="<text> | off",
        examples="3D reconstruction from video, robot grasping",
        args=(Arg("text", "text", "what this chat wants, in words, or off", required=False),),
        admin=True,
        channel=True,
    ),
    CommandSpec(
        "why",
        CommandLayer.on_why,
        en="Why a paper was (or would be) sent here: /why 2404.00409",
        zh="为什么发送（或会发送）某篇论文：/why 2404.00409",
        usage="<arXiv id>",
        args=(Arg("paper", "paper", PAPER_HINT),),
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
