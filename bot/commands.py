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

from bot import chat_commands, feedback_commands, report_commands
from bot.app import App
from bot.arxiv.ids import InvalidArxivId, parse_arxiv_id
from bot.chat_settings import SETTINGS
from bot.chats import ChatRef
from bot.command_table import (
    Arg,
    Command,
    CommandSpec,
    Reply,
    help_text,
    menu,
    names,
    problem,
)
from bot.delivery import Platform
from bot.messages import say
from bot.models import Chat
from bot.papers import PaperNotFound
from bot.ranking import LIKE
from bot.retry import ServiceUnavailable
from bot.summarize import SummaryError

log = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 4096
_COMMAND = re.compile(r"^/(?P<name>[A-Za-z_]{1,32})(?:@(?P<bot>\w+))?(?:\s+(?P<args>.*))?$", re.S)


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
        elif spec.operator and not self.is_operator(command):
            key, values = "operators_only", {"name": command.name}
        elif spec.admin and not self.may_change(command):
            key, values = "admins_only", {}
        elif command.chat.kind == "channel" and spec.posts and not self.may_change(command):
            key, values = "channel_admins_only", {}
        else:
            return None
        return say(await self.language(command.chat), key, **values)

    def is_operator(self, command: Command) -> bool:
        """Whether the command comes from an operator (`PAPERBOT_ADMIN_IDS`) in a private
        chat."""
        return command.chat.kind == "private" and command.user_id in self.app.settings.admin_ids

    def may_change(self, command: Command) -> bool:
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

    async def vote_button(self, command: Command, value: int) -> Reply:
        """A 👍 / 👎 button under a card (`command` names the paper): a short answer to the
        member, with the paper's vote counts in a group or channel. Only a stored paper is
        voted on (a button never asks arXiv); pressing again changes nothing."""
        chat = await self.app.chats.chat(command.chat)
        if chat.kind == "channel" and not self.may_change(command):
            return problem(say(chat.language, "channel_votes"))
        try:
            paper = await self.app.papers.stored_paper(parse_arxiv_id(command.args))
        except InvalidArxivId:
            paper = None
        if paper is None:
            return problem(say(chat.language, "paper_gone"))
        relevance = self.app.relevance
        old = await relevance.vote(chat, command.user_id, paper, value)
        key = "vote_kept" if old == value else "voted_up" if value == LIKE else "voted_down"
        counts = None if chat.kind == "private" else await relevance.tally(chat, paper)
        return Reply(say(chat.language, key), votes=counts)


async def on_help(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    return [Reply(help_text(COMMANDS, chat.language))]


TOPIC_HINT = "cs.CV · NeRF in:cs.CV,cs.GR · au:Mildenhall · q:<arXiv query>"
PAPER_HINT = "arXiv id or link, e.g. 2404.00409"

COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "subscribe",
        chat_commands.subscribe,
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
        chat_commands.unsubscribe,
        en="Stop following a topic, or all",
        zh="取消关注主题，或 all 全部取消",
        usage="<topic> | all",
        args=(Arg("topics", "followed", "a topic this chat follows, or all"),),
        admin=True,
        channel=True,
    ),
    CommandSpec(
        "list",
        chat_commands.list_chat,
        en="This chat's topics and settings",
        zh="本聊天关注的主题和设置",
        channel=True,
    ),
    CommandSpec(
        "like",
        feedback_commands.like,
        en="More papers like this one: /like 2404.00409 (the card's 👍)",
        zh="多推荐类似论文：/like 2404.00409（卡片上的 👍）",
        usage="<arXiv id>",
        args=(Arg("paper", "paper", PAPER_HINT),),
        channel=True,
    ),
    CommandSpec(
        "dislike",
        feedback_commands.dislike,
        en="Fewer papers like this one (the card's 👎)",
        zh="少推荐类似论文（卡片上的 👎）",
        usage="<arXiv id>",
        args=(Arg("paper", "paper", PAPER_HINT),),
        channel=True,
    ),
    CommandSpec(
        "mute",
        feedback_commands.mute,
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
        feedback_commands.unmute,
        en="Stop muting a term",
        zh="取消屏蔽",
        usage="<term>",
        args=(Arg("term", "text", "a term this chat mutes"),),
        admin=True,
        channel=True,
    ),
    CommandSpec(
        "interests",
        feedback_commands.interests,
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
        feedback_commands.why,
        en="Why a paper was (or would be) sent here: /why 2404.00409",
        zh="为什么发送（或会发送）某篇论文：/why 2404.00409",
        usage="<arXiv id>",
        args=(Arg("paper", "paper", PAPER_HINT),),
        channel=True,
    ),
    CommandSpec(
        "summarize",
        chat_commands.summarize,
        en="Card of one paper: /summarize 2404.00409",
        zh="单篇论文卡片：/summarize 2404.00409",
        usage="<arXiv id or link>",
        args=(Arg("paper", "paper", PAPER_HINT),),
        posts=True,
    ),
    CommandSpec(
        "digest",
        chat_commands.digest,
        en="Send the papers not yet sent, now",
        zh="立即发送尚未发送的论文",
        posts=True,
        channel=True,
    ),
    CommandSpec(
        "settings",
        chat_commands.show_settings,
        en="Show settings; /set <name> <value> changes one",
        zh="查看设置；/set <名称> <值> 修改",
        channel=True,
    ),
    CommandSpec(
        "set",
        chat_commands.set_one,
        en="Change one setting",
        zh="修改一项设置",
        usage="<name> <value>",
        examples=", ".join(SETTINGS),
        args=(Arg("name", "setting", "the setting"), Arg("value", "text", "its new value")),
        admin=True,
        channel=True,
    ),
    CommandSpec(
        "report",
        report_commands.report,
        en="Operators: the daily run report on or off; alone: today's so far",
        zh="运营者：开启或关闭每日运行报告；不带参数：今天到目前为止的报告",
        usage="on | off",
        args=(Arg("value", "text", "on or off; leave out for today's report so far", False),),
        operator=True,
    ),
    CommandSpec("help", on_help, en="What the bot does, with examples", zh="功能说明和示例"),
    CommandSpec(
        "start",
        on_help,
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
