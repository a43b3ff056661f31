"""The handlers of the feedback commands: like, dislike, mute, unmute, interests, why
(entries of `bot.commands.COMMANDS`); votes, mutes and interests feed each chat's
relevance scores (bot/ranking.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.arxiv.ids import InvalidArxivId
from bot.command_table import Command, Reply, problem
from bot.delivery import Platform
from bot.messages import say
from bot.models import Chat, Paper
from bot.papers import PaperNotFound
from bot.ranking import DISLIKE, LIKE, short_title
from bot.relevance import Score, parse_mute
from bot.topics import TopicError

if TYPE_CHECKING:
    from bot.commands import CommandLayer

MAX_INTERESTS_CHARS = 1000


async def like(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    return await _vote(layer, command, chat, LIKE)


async def dislike(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    return await _vote(layer, command, chat, DISLIKE)


async def _vote(layer: CommandLayer, command: Command, chat: Chat, value: int) -> list[Reply]:
    """A member's /like or /dislike; in a channel, its administrators'."""
    if chat.kind == "channel" and not layer.may_change(command):
        return [problem(say(chat.language, "channel_votes"))]
    found = await _paper_arg(layer, command, chat)
    if isinstance(found, Reply):
        return [found]
    await layer.app.relevance.vote(chat, command.user_id, found, value)
    key = "liked" if value == LIKE else "disliked"
    return [Reply(say(chat.language, key, title=found.title))]


async def _paper_arg(layer: CommandLayer, command: Command, chat: Chat) -> Paper | Reply:
    """The paper a command names (stored, or looked up on arXiv and stored), or the
    reply saying what is wrong with it."""
    if not command.args:
        return problem(say(chat.language, "give_paper_to", command=command.name))
    given = command.args.split()[0]
    try:
        return await layer.app.papers.known_paper(given)
    except InvalidArxivId as exc:
        return problem(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
    except PaperNotFound:
        return problem(say(chat.language, "no_such_paper", paper=given))


async def mute(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    return await _change_mute(layer, command, chat, mute=True)


async def unmute(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    return await _change_mute(layer, command, chat, mute=False)


async def _change_mute(
    layer: CommandLayer, command: Command, chat: Chat, *, mute: bool
) -> list[Reply]:
    lang = chat.language
    if not command.args:
        return [problem(say(lang, "give_mute" if mute else "give_unmute"))]
    try:
        term = parse_mute(command.args)
    except TopicError as exc:
        return [problem(say(lang, "not_changed", error=exc))]
    relevance = layer.app.relevance
    if mute:
        changed = await relevance.mute(chat, term)
        key = "muted" if changed else "already_muted"
    else:
        changed = await relevance.unmute(chat, term)
        key = "unmuted" if changed else "not_muted"
    return [Reply(say(lang, key, name=term.canonical))]


async def interests(
    layer: CommandLayer, command: Command, chat: Chat, platform: Platform
) -> list[Reply]:
    lang, text = chat.language, " ".join(command.args.split())
    if not text:
        if not chat.interests:
            return [Reply(say(lang, "no_interests"))]
        return [Reply(say(lang, "interests", text=chat.interests))]
    if len(text) > MAX_INTERESTS_CHARS:
        return [problem(say(lang, "interests_too_long", limit=MAX_INTERESTS_CHARS))]
    cleared = text.lower() == "off"
    await layer.app.relevance.set_interests(chat, "" if cleared else text)
    return [Reply(say(lang, "interests_cleared" if cleared else "interests_saved"))]


async def why(layer: CommandLayer, command: Command, chat: Chat, platform: Platform) -> list[Reply]:
    found = await _paper_arg(layer, command, chat)
    if isinstance(found, Reply):
        return [found]
    score, status = await layer.app.relevance.why(chat, found)
    return [Reply(_why_text(chat.language, found, score, status))]


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
