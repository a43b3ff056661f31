"""Chats and what they ask for: first contact, topics, settings, pausing and moving.

Adapters name a chat by `ChatRef` (platform, the platform's id, kind); the
stored `Chat` carries its settings. Storage is reached through `Store.call`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from bot.chat_settings import default_chat_settings, parse_setting
from bot.clock import Clock
from bot.models import Chat
from bot.topics import Topic
from storage.chats import ChatRows
from storage.database import Store
from storage.rows import iso

log = logging.getLogger(__name__)

SCHEDULE_SETTINGS = frozenset({"mode", "digest_time", "timezone"})


@dataclass(frozen=True)
class ChatRef:
    """A chat as a platform names it."""

    platform: str
    chat_id: str
    kind: str = "private"
    title: str = ""


class Chats:
    def __init__(self, store: Store, language: str, clock: Clock) -> None:
        self.store = store
        self.language = language
        self.clock = clock

    async def chat(self, ref: ChatRef) -> Chat:
        """The stored chat, created with the default settings on first contact."""
        defaults = {
            **default_chat_settings(self.language),
            "kind": ref.kind,
            "title": ref.title,
            "created_at": iso(self.clock()),
        }
        row = await self.store.call(ChatRows.ensure_chat, ref.platform, ref.chat_id, defaults)
        return Chat.from_row(row)

    async def known_chat(self, ref: ChatRef) -> Chat | None:
        """The stored chat, without creating it."""
        row = await self.store.call(ChatRows.chat, ref.platform, ref.chat_id)
        return None if row is None else Chat.from_row(row)

    async def move_chat(self, ref: ChatRef, chat_id: str) -> None:
        """The platform gave the chat a new id (a Telegram group became a supergroup): its
        topics, settings and queued papers follow, and it is active again. Nothing moves
        when the new id is already a chat of its own."""
        chat = await self.known_chat(ref)
        if chat is None or await self.known_chat(replace(ref, chat_id=chat_id)) is not None:
            return
        changes = {"chat_id": chat_id, "active": 1, "paused_reason": None}
        await self.store.call(ChatRows.update_chat, chat.id, changes)
        log.info("chat %s:%s is now %s", ref.platform, ref.chat_id, chat_id)

    async def subscribe(self, chat: Chat, topics: list[Topic]) -> tuple[list[str], list[str]]:
        """Returns (added, already followed) canonical topics."""
        names = [t.canonical for t in topics]
        added = await self.store.call(ChatRows.subscribe, chat.id, names, iso(self.clock()))
        return added, [n for n in names if n not in added]

    async def unsubscribe(self, chat: Chat, topics: list[Topic] | None) -> list[str]:
        """Stop following `topics` (all when None); returns those removed."""
        names = None if topics is None else [t.canonical for t in topics]
        return await self.store.call(ChatRows.unsubscribe, chat.id, names)

    async def topics(self, chat: Chat) -> list[str]:
        return await self.store.call(ChatRows.topics_of, chat.id)

    async def change_setting(self, chat: Chat, name: str, value: str) -> Chat:
        """Change one setting. A new daily schedule (mode, time or time zone) starts now:
        the next digest is at the next occurrence of the chat's time."""
        changes = parse_setting(name, value)
        if SCHEDULE_SETTINGS & changes.keys() and changes.get("mode", chat.mode) == "daily":
            changes["last_digest_at"] = iso(self.clock())
        return Chat.from_row(await self.store.call(ChatRows.update_chat, chat.id, changes))

    async def set_active(self, chat: Chat, active: bool, reason: str = "") -> None:
        """Resume the chat, or pause it (`reason`) from now."""
        changes = {
            "active": int(active),
            "paused_reason": None if active else reason,
            "paused_at": None if active else iso(self.clock()),
        }
        await self.store.call(ChatRows.update_chat, chat.id, changes)

    async def set_report(self, chat: Chat, admin: str | None) -> Chat:
        """Turn the chat's daily run report on for the operator `admin` (None: off). The
        first report goes out at the next occurrence of the chat's digest time."""
        changes = {"report_admin": admin, "report_sent_at": iso(self.clock())}
        return Chat.from_row(await self.store.call(ChatRows.update_chat, chat.id, changes))

    async def chats(self, platform: str) -> list[Chat]:
        """Every chat of a platform, active or paused."""
        return [Chat.from_row(row) for row in await self.store.call(ChatRows.chats, platform)]

    async def remove_chat(self, chat: Chat) -> None:
        """Forget a chat: its settings, topics and undelivered papers."""
        await self.store.call(ChatRows.delete_chat, chat.id)
