"""A local fake of the Telegram Bot API, served over real HTTP.

It accepts python-telegram-bot's real requests at `/bot{token}/{method}` (JSON
bodies, url-encoded forms, multipart uploads with photos), serves `getUpdates`
(long polling, `offset`, `allowed_updates`) from a queue of injected updates,
keeps a small world of chats and members, and records every message sent.

It answers like Telegram: HTML is parsed (allowed tags and entities only, well
nested) and text and caption limits are checked after parsing; buttons,
replies and photos are checked; a chat that blocked or removed the bot answers
403; when given `RateLimits` it enforces them (overall, per chat, per group)
and answers 429 with `parameters.retry_after`. Failures can be scripted
(429, 403, 5xx, any status; for every request or only for messages with a
given text). A request that Telegram would refuse is recorded in `rejected`,
so a test can check that none was.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import math
import re
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from handlers.telegram_render import RateLimits, Window
from tests.fake_http import LocalServer

TOKEN = "123456:TEST-fake-token-0123456789abcdef"
BOT_ID = 123456
BOT_USERNAME = "paperbot_test_bot"
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "paperbot",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
PHOTO_LIMIT = 10 * 1024 * 1024
SENDING = ("send", "edit", "copyMessage", "forwardMessage")
JSON_FIELDS = (
    "reply_markup",
    "link_preview_options",
    "reply_parameters",
    "commands",
    "scope",
    "allowed_updates",
    "entities",
    "caption_entities",
)
ALLOWED_TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "tg-spoiler": set(),
    "span": {"class"},
    "a": {"href"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
    "tg-emoji": {"emoji-id"},
}
_HTML_TOKEN = re.compile(
    r"<(?P<close>/?)(?P<tag>[a-zA-Z][\w-]*)(?P<attrs>(?:\s+[\w-]+(?:=\"[^\"]*\")?)*)\s*>"
    r"|&(?P<entity>#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);"
    r"|(?P<bare>[<>&])"
)
_ATTR = re.compile(r"([\w-]+)(?:=\"([^\"]*)\")?")
ADMIN_RIGHTS = (
    "can_be_edited",
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        description: str,
        retry_after: float | None = None,
        *,
        scripted: bool = False,
        migrate_to: int | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.scripted = scripted
        self.migrate_to = migrate_to


def parse_html(text: str) -> str:
    """The visible text of Telegram HTML; raises ApiError(400) where Telegram would."""
    visible: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _HTML_TOKEN.finditer(text):
        visible.append(text[position : match.start()])
        position = match.end()
        offset = len(text[: match.start()].encode())
        if match["bare"]:
            raise ApiError(
                400,
                f"Bad Request: can't parse entities: unexpected {match['bare']!r} at byte offset "
                f"{offset}",
            )
        if match["entity"]:
            entity = match["entity"]
            if not entity.startswith("#") and entity not in ("lt", "gt", "amp", "quot"):
                raise ApiError(
                    400, f"Bad Request: can't parse entities: unsupported HTML entity &{entity};"
                )
            visible.append(html.unescape(match.group()))
            continue
        tag = match["tag"].lower()
        if tag not in ALLOWED_TAGS:
            raise ApiError(
                400,
                f'Bad Request: can\'t parse entities: unsupported start tag "{tag}" at byte '
                f"offset {offset}",
            )
        if match["close"]:
            if not stack or stack[-1] != tag:
                raise ApiError(
                    400, f'Bad Request: can\'t parse entities: unexpected end tag "{tag}"'
                )
            stack.pop()
            continue
        attrs = dict(_ATTR.findall(match["attrs"]))
        if set(attrs) - ALLOWED_TAGS[tag]:
            raise ApiError(400, f"Bad Request: can't parse entities: bad attribute of {tag}")
        if tag == "a" and not re.match(r"https?://|tg://", html.unescape(attrs.get("href", ""))):
            raise ApiError(400, "Bad Request: can't parse entities: wrong HTTP URL")
        stack.append(tag)
    if stack:
        raise ApiError(
            400,
            f"Bad Request: can't parse entities: can't find end tag corresponding to start tag "
            f'"{stack[-1]}"',
        )
    visible.append(text[position:])
    return "".join(visible)


def png(width: int, height: int) -> bytes:
    """A real PNG image of the given size (grey)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def member_json(user: dict[str, Any], status: str, can_post_messages: bool = True) -> dict:
    """A ChatMember object as Telegram sends it."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "administrator":
        member.update({right: False for right in ADMIN_RIGHTS})
        member.update(
            is_anonymous=False,
            can_manage_chat=True,
            can_post_messages=can_post_messages,
            can_edit_messages=can_post_messages,
        )
    elif status == "creator":
        member["is_anonymous"] = False
    elif status == "kicked":
        member["until_date"] = 0
    elif status == "restricted":
        member.update(is_member=True, until_date=0, can_send_messages=False)
    return member


@dataclass
class Sent:
    """A message Telegram accepted (sent, or edited)."""

    method: str
    chat_id: int
    message_id: int
    text: str  # the text or caption as sent (HTML when parse_mode is HTML)
    visible: str  # what the user reads
    parse_mode: str | None
    photo: bytes | None
    reply_markup: dict[str, Any] | None
    reply_to: int | None
    preview_disabled: bool

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


@dataclass
class Failure:
    """A scripted answer for the next matching requests."""

    status: int
    description: str
    retry_after: float | None = None
    methods: tuple[str, ...] = SENDING
    chat_id: int | None = None
    skip: int = 0
    times: int = 1
    containing: str | None = None  # only messages whose text or caption contains it


@dataclass
class _Windows:
    """Telegram's flood limits measured at arrival: 429 when a message would exceed one."""

    limits: RateLimits
    overall: deque[float] = field(default_factory=deque)
    chats: dict[int, deque[float]] = field(default_factory=dict)
    groups: dict[int, deque[float]] = field(default_factory=dict)

    def admit(self, chat_id: int, now: float) -> float | None:
        """None when the message may pass (and it is counted), else seconds to wait."""
        checks = [(self.overall, self.limits.overall)]
        checks.append((self.chats.setdefault(chat_id, deque()), self.limits.chat))
        if chat_id < 0:
            checks.append((self.groups.setdefault(chat_id, deque()), self.limits.group))
        waits = [self._wait(times, window, now) for times, window in checks]
        if any(wait > 0 for wait in waits):
            return max(waits)
        for times, _ in checks:
            times.append(now)
        return None

    @staticmethod
    def _wait(times: deque[float], window: Window, now: float) -> float:
        while times and times[0] <= now - window.seconds:
            times.popleft()
        if len(times) < window.limit:
            return 0.0
        return times[0] + window.seconds - now


class FakeTelegram(LocalServer):
    def __init__(self, limits: RateLimits | None = None) -> None:
        self.windows = _Windows(limits) if limits is not None else None
        self.chats: dict[int, dict[str, Any]] = {}
        self.members: dict[tuple[int, int], dict[str, Any]] = {}
        self.updates: list[dict[str, Any]] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.sent: list[Sent] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.rejected: list[tuple[str, int, str]] = []
        self.failures: list[Failure] = []
        self.throttled = 0
        self.commands: dict[str | None, list[dict[str, str]]] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.confirmed = 0
        self.migrated: dict[int, int] = {}
        self._next_update = 1
        self._next_message: dict[int, int] = {}
        self._lock = threading.Condition()
        self._stopping = False
        super().__init__(self._handler())

    @property
    def env(self) -> dict[str, str]:
        return {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": self.base}

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        super().stop()

    # the world: chats, users, members

    def user(self, user_id: int, name: str = "Ada") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name}

    def private(self, user_id: int, name: str = "Ada") -> dict[str, Any]:
        """A private chat with a user who started the bot."""
        chat = {"id": user_id, "type": "private", "first_name": name}
        self._add_chat(chat, "member")
        return chat

    def group(self, chat_id: int, title: str = "Lab", *, admins: tuple[int, ...] = ()) -> dict:
        """A supergroup the bot is a member of, with the given admins."""
        chat = {"id": chat_id, "type": "supergroup", "title": title}
        self._add_chat(chat, "member")
        for admin in admins:
            self.set_member(chat_id, self.user(admin), "administrator")
        return chat

    def channel(
        self,
        chat_id: int,
        title: str,
        username: str | None,
        *,
        bot_status: str = "administrator",
        can_post: bool = True,
        admins: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": "channel", "title": title}
        if username:
            chat["username"] = username
        self._add_chat(chat, bot_status, can_post)
        for admin in admins:
            self.set_member(chat_id, self.user(admin), "administrator")
        return chat

    def _add_chat(self, chat: dict[str, Any], bot_status: str, can_post: bool = True) -> None:
        with self._lock:
            self.chats[chat["id"]] = chat
        self.set_member(chat["id"], BOT_USER, bot_status, can_post)

    def set_member(
        self, chat_id: int, user: dict[str, Any], status: str, can_post: bool = True
    ) -> None:
        with self._lock:
            self.members[(chat_id, user["id"])] = member_json(user, status, can_post)

    def upgrade(self, group: dict[str, Any], supergroup_id: int) -> dict[str, Any]:
        """A group becomes a supergroup with a new id; the old id answers with the new one."""
        with self._lock:
            self.migrated[group["id"]] = supergroup_id
        supergroup = self.group(supergroup_id, group.get("title", ""))
        self.message(group, None, migrate_to_chat_id=supergroup_id)
        return supergroup

    def block(self, chat_id: int) -> None:
        """The user blocks the bot (or a group removes it): sends answer 403."""
        self.set_member(chat_id, BOT_USER, "kicked")

    # updates

    def push(self, update: dict[str, Any]) -> int:
        with self._lock:
            update_id = self._next_update
            self._next_update += 1
            self.updates.append({"update_id": update_id, **update})
            self._lock.notify_all()
        return update_id

    def message(
        self,
        chat: dict[str, Any],
        user: dict[str, Any] | None,
        text: str | None = None,
        *,
        kind: str = "message",
        **extra: Any,
    ) -> dict[str, Any]:
        """A user's message arriving (`kind` edited_message or channel_post too)."""
        message: dict[str, Any] = {
            "message_id": self._message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            **extra,
        }
        if user is not None:
            message["from"] = user
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0]) if text.split() else 1
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        with self._lock:
            self.messages[(chat["id"], message["message_id"])] = message
        self.push({kind: message})
        return message

    def press(self, sent: Sent, user: dict[str, Any], data: str) -> None:
        """A user taps the inline button with callback `data` under a sent message."""
        with self._lock:
            message = self.messages[(sent.chat_id, sent.message_id)]
        self.push(
            {
                "callback_query": {
                    "id": f"cb{self._next_update}",
                    "from": user,
                    "chat_instance": "42",
                    "data": data,
                    "message": message,
                }
            }
        )

    def membership(
        self, chat: dict[str, Any], by: dict[str, Any], old: str, new: str, can_post: bool = True
    ) -> None:
        """The bot's status in `chat` changes from `old` to `new` (added, removed, blocked)."""
        self.set_member(chat["id"], BOT_USER, new, can_post)
        self.push(
            {
                "my_chat_member": {
                    "chat": chat,
                    "from": by,
                    "date": int(time.time()),
                    "old_chat_member": member_json(BOT_USER, old, can_post),
                    "new_chat_member": member_json(BOT_USER, new, can_post),
                }
            }
        )

    # scripting and observing

    def fail(
        self,
        status: int,
        description: str = "",
        *,
        retry_after: float | None = None,
        methods: tuple[str, ...] = SENDING,
        chat_id: int | None = None,
        skip: int = 0,
        times: int = 1,
        containing: str | None = None,
    ) -> None:
        """Answer the next `times` matching requests (after letting `skip` pass) with `status`;
        with `containing`, only messages whose text or caption contains it match."""
        default = {
            429: "Too Many Requests: retry after 1",
            403: "Forbidden: bot was blocked by the user",
        }.get(status, "Internal Server Error")
        self.failures.append(
            Failure(
                status, description or default, retry_after, methods, chat_id, skip, times,
                containing,
            )
        )  # fmt: skip

    def sent_to(self, chat_id: int, method: str | None = None) -> list[Sent]:
        with self._lock:
            return [
                s
                for s in self.sent
                if s.chat_id == chat_id and (method is None or s.method == method)
            ]

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        """The parameters of every request of `method`, answered or refused."""
        with self._lock:
            return [params for name, params in self.calls if name == method]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out; sent: {[(s.method, s.chat_id, s.visible[:60]) for s in self.sent]}"
                    f" rejected: {self.rejected}"
                )
            await asyncio.sleep(0.01)

    async def wait_sent(self, chat_id: int, count: int, within: float = 10.0) -> list[Sent]:
        """The first `count` messages sent to `chat_id`, once they are there."""
        await self.wait_for(lambda: len(self.sent_to(chat_id)) >= count, within)
        return self.sent_to(chat_id)[:count]

    # the API

    def _message_id(self, chat_id: int) -> int:
        with self._lock:
            number = self._next_message.get(chat_id, 1000) + 1
            self._next_message[chat_id] = number
        return number

    def handle(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        with self._lock:
            self.calls.append((method, params))
        if method == "getUpdates":
            return self._get_updates(params)
        with self._lock:
            self._scripted(method, params)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            return handler(params, files)

    def _scripted(self, method: str, params: dict[str, Any]) -> None:
        for failure in self.failures:
            if not method.startswith(failure.methods) or failure.times <= 0:
                continue
            if failure.chat_id is not None and _chat_id(params) != failure.chat_id:
                continue
            message = params.get("text") or params.get("caption") or ""
            if failure.containing is not None and failure.containing not in message:
                continue
            if failure.skip > 0:
                failure.skip -= 1
                return
            failure.times -= 1
            raise ApiError(failure.status, failure.description, failure.retry_after, scripted=True)

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        allowed = params.get("allowed_updates") or None
        with self._lock:
            while True:
                self.confirmed = max(self.confirmed, offset - 1)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = [
                    u for u in self.updates if allowed is None or any(kind in u for kind in allowed)
                ]
                remaining = deadline - time.monotonic()
                if ready or self._stopping or remaining <= 0:
                    return ready[: int(params.get("limit") or 100)]
                self._lock.wait(remaining)

    def _api_getMe(self, params: dict, files: dict) -> dict:
        return BOT_USER

    def _api_deleteWebhook(self, params: dict, files: dict) -> bool:
        return True

    def _api_setMyCommands(self, params: dict, files: dict) -> bool:
        for command in params["commands"]:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[params.get("language_code") or None] = params["commands"]
        return True

    def _api_getChat(self, params: dict, files: dict) -> dict:
        chat = self._chat(params)
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _api_getChatMember(self, params: dict, files: dict) -> dict:
        chat = self._chat(params)
        user_id = int(params["user_id"])
        member = self.members.get((chat["id"], user_id))
        return member or member_json(self.user(user_id), "left")

    def _api_answerCallbackQuery(self, params: dict, files: dict) -> bool:
        self.callback_answers.append(params)
        return True

    def _api_sendMessage(self, params: dict, files: dict) -> dict:
        chat = self._sendable(params)
        visible = self._text(params, "text", TEXT_LIMIT, "message is too long")
        return self._record("sendMessage", chat, params, params["text"], visible, None)

    def _api_sendPhoto(self, params: dict, files: dict) -> dict:
        chat = self._sendable(params)
        photo = params.get("photo", "")
        name = photo[len("attach://") :] if photo.startswith("attach://") else "photo"
        image = files.get(name)
        if image is None:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if len(image) > PHOTO_LIMIT or not image.startswith((b"\x89PNG", b"\xff\xd8\xff")):
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        caption = params.get("caption", "")
        visible = (
            self._text(params, "caption", CAPTION_LIMIT, "message caption is too long")
            if caption
            else ""
        )
        return self._record("sendPhoto", chat, params, caption, visible, image)

    def _api_editMessageReplyMarkup(self, params: dict, files: dict) -> dict:
        chat = self._sendable(params)
        key = (chat["id"], int(params["message_id"]))
        message = self.messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup") or None
        if markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        _check_markup(markup)
        message = {k: v for k, v in message.items() if k != "reply_markup"}
        if markup:
            message["reply_markup"] = markup
        self.messages[key] = message
        self.sent.append(
            Sent(
                "editMessageReplyMarkup",
                chat["id"],
                key[1],
                "",
                "",
                None,
                None,
                markup,
                None,
                True,
            )
        )
        return message

    # checks shared by the sending methods

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        wanted = _chat_id(params)
        for chat in self.chats.values():
            if chat["id"] == wanted or (
                isinstance(wanted, str) and chat.get("username", "").lower() == wanted[1:].lower()
            ):
                return chat
        raise ApiError(400, "Bad Request: chat not found")

    def _sendable(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        if chat["id"] in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to=self.migrated[chat["id"]],
            )
        status = self.members.get((chat["id"], BOT_ID), {}).get("status", "left")
        if status in ("kicked", "left"):
            reason = {
                "private": "bot was blocked by the user",
                "channel": "bot is not a member of the channel chat",
            }.get(chat["type"], "bot was kicked from the supergroup chat")
            raise ApiError(403, f"Forbidden: {reason}")
        if self.windows is not None:
            wait = self.windows.admit(chat["id"], time.monotonic())
            if wait is not None:
                self.throttled += 1
                seconds = math.ceil(wait * 1000) / 1000
                raise ApiError(429, f"Too Many Requests: retry after {seconds}", seconds)
        return chat

    def _text(self, params: dict[str, Any], name: str, limit: int, too_long: str) -> str:
        text = params.get(name, "")
        visible = parse_html(text) if params.get("parse_mode") == "HTML" else text
        if not visible.strip():
            raise ApiError(400, f"Bad Request: {name} must be non-empty")
        if utf16_length(visible) > limit:
            raise ApiError(400, f"Bad Request: {too_long}")
        _check_markup(params.get("reply_markup"))
        reply = params.get("reply_parameters")
        known = reply and (_chat_id(params), reply["message_id"]) in self.messages
        if reply and not known and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        return visible

    def _record(
        self,
        method: str,
        chat: dict[str, Any],
        params: dict[str, Any],
        text: str,
        visible: str,
        photo: bytes | None,
    ) -> dict[str, Any]:
        message_id = self._next_message.get(chat["id"], 1000) + 1
        self._next_message[chat["id"]] = message_id
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
        }
        if photo is not None:
            size = {"width": 640, "height": 480, "file_size": len(photo)}
            message["photo"] = [{"file_id": f"p{message_id}", "file_unique_id": "u", **size}]
            if visible:
                message["caption"] = visible
        else:
            message["text"] = visible
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat["id"], message_id)] = message
        reply = params.get("reply_parameters") or {}
        preview = params.get("link_preview_options") or {}
        self.sent.append(
            Sent(
                method,
                chat["id"],
                message_id,
                text,
                visible,
                params.get("parse_mode"),
                photo,
                params.get("reply_markup"),
                reply.get("message_id"),
                bool(preview.get("is_disabled")),
            )
        )
        return message

    # HTTP

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length))

            def _serve(self, body: bytes) -> None:
                url = urlparse(self.path)
                match = re.fullmatch(r"/bot(?P<token>[^/]+)/(?P<method>\w+)", url.path)
                try:
                    if match is None:
                        raise ApiError(404, "Not Found")
                    if match["token"] != TOKEN:
                        raise ApiError(401, "Unauthorized")
                    params, files = _parse_body(
                        self.headers.get("Content-Type", ""), body, url.query
                    )
                    payload = {"ok": True, "result": fake.handle(match["method"], params, files)}
                    status = 200
                except ApiError as error:
                    status = error.status
                    payload = {
                        "ok": False,
                        "error_code": error.status,
                        "description": error.description,
                    }
                    if error.retry_after is not None:
                        payload["parameters"] = {"retry_after": error.retry_after}
                    if error.migrate_to is not None:
                        payload["parameters"] = {"migrate_to_chat_id": error.migrate_to}
                    if not error.scripted and error.status != 429:
                        with fake._lock:
                            fake.rejected.append(
                                (match["method"] if match else url.path, status, error.description)
                            )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler


def _chat_id(params: dict[str, Any]) -> int | str:
    value = str(params.get("chat_id", ""))
    return value if value.startswith("@") else int(value)


def _check_markup(markup: dict[str, Any] | None) -> None:
    for row in (markup or {}).get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            data, url = button.get("callback_data"), button.get("url")
            if (data is None) == (url is None):
                raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if url is not None and not re.match(r"https?://\S+$", url):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")


def _parse_body(
    content_type: str, body: bytes, query: str
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Parameters and uploaded files of a request, whatever its encoding."""
    params: dict[str, Any] = {k: v[0] for k, v in parse_qs(query).items()}
    files: dict[str, bytes] = {}
    if content_type.startswith("application/json"):
        params.update(json.loads(body or b"{}"))
    elif content_type.startswith("application/x-www-form-urlencoded"):
        params.update({k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()})
    elif content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                files[name] = payload
            else:
                params[name] = payload.decode()
    for name in JSON_FIELDS:
        if isinstance(params.get(name), str):
            params[name] = json.loads(params[name])
    return params, files
