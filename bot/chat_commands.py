"""The handlers of the commands about a chat's topics, settings and papers: subscribe,
unsubscribe, list, settings, set, summarize, digest (entries of `bot.commands.COMMANDS`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.arxiv.ids import InvalidArxivId, parse_arxiv_id
from bot.arxiv.parse import ArxivQueryError
from bot.chat_settings import SETTINGS, SettingError
from bot.command_table import Command, Reply, problem
from bot.delivery import Platform
from bot.messages import say
from bot.models import Chat
from bot.papers import PaperNotFound
from bot.summarize import PERSON
from bot.topics import TopicError, parse_topics

if TYPE_CHECKING:
    from bot.commands import CommandLayer


async def subscribe(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    lang = chat.language
    if not command.args:
        return [problem(say(lang, "give_topic"))]
    try:
        topics = parse_topics(command.args)
    except TopicError as exc:
        return [problem(say(lang, "not_subscribed", error=exc))]
    added, already = await layer.app.chats.subscribe(chat, topics)
    lines = [say(lang, "following", name=name) for name in added]
    lines += [say(lang, "already_following", name=name) for name in already]
    if added and chat.mode == "daily":
        lines.append(say(lang, "arrive_daily", time=chat.digest_time, timezone=chat.timezone))
    elif added:
        lines.append(say(lang, "arrive_instant"))
    return [Reply("\n".join(lines))]


async def unsubscribe(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    lang = chat.language
    if not command.args:
        return [problem(say(lang, "give_unsubscribe"))]
    if command.args.lower() == "all":
        removed = await layer.app.chats.unsubscribe(chat, None)
        if not removed:
            return [Reply(say(lang, "follows_none"))]
        return [Reply(say(lang, "stopped_all", count=len(removed)))]
    try:
        topics = parse_topics(command.args)
    except TopicError as exc:
        return [problem(say(lang, "not_changed", error=exc))]
    removed = await layer.app.chats.unsubscribe(chat, topics)
    missing = [t.canonical for t in topics if t.canonical not in removed]
    lines = [say(lang, "stopped", name=name) for name in removed]
    lines += [say(lang, "not_followed", name=name) for name in missing]
    return [Reply("\n".join(lines))]


async def list_chat(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    topics = await layer.app.chats.topics(chat)
    listing = "\n".join(f"• {t}" for t in topics) or say(chat.language, "no_topics")
    heading = say(chat.language, "topics")
    sections = [f"{heading}\n{listing}"]
    mutes = await layer.app.relevance.mutes(chat)
    if mutes:
        sections.append("\n".join([say(chat.language, "mutes"), *(f"• {m}" for m in mutes)]))
    if chat.interests:
        sections.append(say(chat.language, "interests_listed", text=chat.interests))
    return [Reply("\n\n".join([*sections, _settings_text(chat)]))]


async def show_settings(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    return [Reply(f"{_settings_text(chat)}\n\n{say(chat.language, 'change_hint')}")]


async def set_one(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    name, _, value = command.args.partition(" ")
    if not name:
        return [problem(say(chat.language, "set_usage", names=", ".join(SETTINGS)))]
    try:
        updated = await layer.app.chats.change_setting(chat, name, value)
    except SettingError as exc:
        return [problem(say(chat.language, "not_changed", error=exc))]
    return [Reply(f"{say(updated.language, 'saved')}\n{_settings_text(updated)}")]


async def summarize(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    if not command.args:
        return [problem(say(chat.language, "give_paper"))]
    try:
        ident = parse_arxiv_id(command.args.split()[0])
        paper = await layer.app.papers.paper(ident)
        card = await layer.app.papers.card(paper, chat.language, chat.figures, PERSON)
    except (InvalidArxivId, PaperNotFound, ArxivQueryError) as exc:
        return [problem(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")]
    return [Reply(card=card)]


async def digest(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    report = await layer.app.outbox.deliver_chat(chat, platform)
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
