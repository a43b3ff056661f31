"""The Telegram adapter: updates in (commands, buttons, membership), cards and digests out.

Built on python-telegram-bot's `Application` with long polling. It only
translates: a message becomes a `Command` for the command layer, whose replies
it sends; a button press asks the service for a stored card; the bot being
added to or removed from a chat resumes or pauses that chat. Rendering and
Telegram's limits are in `handlers.telegram_render`, flood control in
`handlers.telegram_rate`, and every retry follows `bot.retry`.

Channels are managed from a private chat: `/subscribe @channel cs.CV` is the
command `/subscribe cs.CV` for the channel, once the bot may post there; the
user's admin status in the channel decides as in a group.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from telegram import (
    BotCommand,
    CallbackQuery,
    ChatMember,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
    MaybeInaccessibleMessage,
    Message,
    ReplyParameters,
    Update,
)
from telegram import Chat as TelegramChat
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from bot.chats import ChatRef
from bot.command_table import Command, Reply, parse_command
from bot.commands import ADMIN_ONLY, CHANNEL_COMMANDS, CommandLayer, knows, menu_for
from bot.config import ConfigError, Settings
from bot.delivery import ChatUnavailable, DeliveryFailed, MessageRejected, Sent
from bot.messages import MESSAGES, say
from bot.models import Card, Chat, Digest
from bot.retry import RetryPolicy, ServiceUnavailable, Transient, with_retries
from handlers.telegram_rate import TelegramRateLimiter, retry_after_seconds
from handlers.telegram_render import (
    CARD,
    DETAILS,
    LIKE,
    TELEGRAM_LIMITS,
    VOTES,
    Button,
    RateLimits,
    card_messages,
    details_messages,
    digest_header,
    digest_list,
    marked_vote,
    parse_button,
    plain_card,
    split_plain,
    without_button,
)

T = TypeVar("T")
log = logging.getLogger(__name__)

PLATFORM = "telegram"
RETRY = RetryPolicy(attempts=4, base_delay=1.0, max_delay=60.0)
POLL_TIMEOUT = 30  # seconds a getUpdates long poll waits for news
CONCURRENT_UPDATES = 64
UPDATES = ["message", "callback_query", "my_chat_member"]
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

ADMINS = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
PRESENT = ADMINS | {ChatMemberStatus.MEMBER, ChatMemberStatus.RESTRICTED}
_CHANNEL = re.compile(r"(?P<channel>@\w{4,32}|-100\d{5,})(?:\s+(?P<rest>.*))?", re.S)
_GONE = (
    "chat not found",
    "bot was kicked",
    "bot is not a member",
    "not enough rights to send",
    "have no rights to send",
    "chat_write_forbidden",
    "group chat was deactivated",
    "user is deactivated",
    "peer_id_invalid",
)


def chat_ref(chat: TelegramChat) -> ChatRef:
    """The chat as the core names it (Telegram supergroups are groups)."""
    kind = {ChatType.PRIVATE: "private", ChatType.CHANNEL: "channel"}.get(chat.type, "group")
    title = chat.title or chat.full_name or chat.username or ""
    return ChatRef(PLATFORM, str(chat.id), kind, title)


def delivery_error(error: TelegramError | ServiceUnavailable, chat_id: str | int) -> DeliveryFailed:
    """What a failed request to a chat means for its delivery (`bot.delivery`): the one
    place Telegram's errors are read. A chat that blocked or removed the bot, or that
    Telegram does not know, is unavailable; any other refusal (400: can't parse
    entities, message too long, a photo it cannot use) is the message's. The rest is
    the platform's: flood control, timeouts, network errors and 5xx answers that
    outlasted the retries (with the wait Telegram last asked for), a group that moved
    to a new id, a token that stopped working."""
    if isinstance(error, ServiceUnavailable):
        return DeliveryFailed(str(error), error.retry_after)
    reason = f"chat {chat_id}: {error.message}"
    if isinstance(error, Forbidden) or (
        isinstance(error, BadRequest) and any(gone in error.message.lower() for gone in _GONE)
    ):
        return ChatUnavailable(reason)
    if isinstance(error, BadRequest):
        return MessageRejected(reason)
    return DeliveryFailed(reason)


class ChatOrder(BaseUpdateProcessor):
    """Updates of different chats are handled concurrently, those of one chat in order."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[object]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._users[chat.id] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[chat.id] -= 1
            if not self._users[chat.id]:
                del self._users[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


class TelegramAdapter:
    """Receives updates by long polling and delivers cards and digests (`bot.delivery`)."""

    name = PLATFORM

    def __init__(
        self,
        settings: Settings,
        layer: CommandLayer,
        *,
        limits: RateLimits = TELEGRAM_LIMITS,
        retry: RetryPolicy = RETRY,
        poll_timeout: int = POLL_TIMEOUT,
    ) -> None:
        if not settings.telegram_bot_token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set")
        self.layer = layer
        self.core = layer.app
        self.retry = retry
        self.poll_timeout = poll_timeout
        root = settings.telegram_api_url.rstrip("/")
        self.app: Application = (
            ApplicationBuilder()
            .token(settings.telegram_bot_token)
            .base_url(f"{root}/bot")
            .base_file_url(f"{root}/file/bot")
            .rate_limiter(TelegramRateLimiter(limits))
            .concurrent_updates(ChatOrder(CONCURRENT_UPDATES))
            .job_queue(None)  # scheduling is paperbot's own
            .build()
        )
        self.app.add_handler(CallbackQueryHandler(self._on_button))
        self.app.add_handler(
            ChatMemberHandler(self._on_membership, ChatMemberHandler.MY_CHAT_MEMBER)
        )
        self.app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_message))
        self.app.add_error_handler(self._on_error)

    @property
    def bot(self) -> ExtBot[None]:
        return self.app.bot

    # lifecycle

    async def start(self, receive: bool = True) -> None:
        """Check the token, register the command menu and (when `receive`) start long
        polling."""
        try:
            await self._call("connecting to Telegram", self._connect)
        except InvalidToken:
            raise ConfigError("TELEGRAM_BOT_TOKEN was not accepted by Telegram") from None
        if not receive:
            return
        await self.app.start()
        updater = self.app.updater
        assert updater is not None
        await updater.start_polling(timeout=self.poll_timeout, allowed_updates=UPDATES)
        log.info("Telegram bot @%s is running", self.bot.username)

    async def _connect(self) -> None:
        await self.app.initialize()
        for language in MESSAGES:
            commands = [BotCommand(name, description) for name, description in menu_for(language)]
            await self.bot.set_my_commands(
                commands, language_code=None if language == "en" else language
            )

    async def stop(self) -> None:
        """Stop polling, let handlers in flight finish, close the connections."""
        updater = self.app.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    # deliveries (bot.delivery.Platform)

    async def send_card(self, chat: Chat, card: Card) -> None:
        await self._send_card(chat.chat_id, card)

    async def send_digest(self, chat: Chat, digest: Digest, sent: Sent) -> None:
        """A header, then its cards (each recorded as it arrives), then the papers it lists
        as one compact numbered list whose buttons bring their cards."""
        await self._text(chat.chat_id, digest_header(digest), markup=True)
        for card in digest.cards:
            await self._send_card(chat.chat_id, card)
            await sent([card.paper.id])
        for text, keyboard in digest_list(digest):
            await self._text(chat.chat_id, text, markup=True, keyboard=keyboard)
        await sent([listed.paper.id for listed in digest.listed])

    async def send_text(self, chat: Chat, text: str) -> None:
        for part in split_plain(text):
            await self._text(chat.chat_id, part, markup=False)

    async def _send_card(self, chat_id: str | int, card: Card, reply_to: int | None = None) -> None:
        """The card with HTML, photo and buttons; if Telegram refuses it, as plain text."""
        try:
            await self._rich_card(chat_id, card, reply_to)
        except MessageRejected as error:
            log.warning(
                "Telegram refused the card of %s for chat %s (%s); sending it as plain text",
                card.paper.id,
                chat_id,
                error,
            )
            for part in plain_card(card):
                await self._text(chat_id, part, markup=False)

    async def _rich_card(self, chat_id: str | int, card: Card, reply_to: int | None) -> None:
        messages = card_messages(card)
        keyboard_on_photo = not messages.texts
        if messages.photo is not None:
            figure = messages.photo
            name = figure.filename(card.paper)
            await self._send(
                chat_id,
                "sendPhoto",
                lambda: self.bot.send_photo(
                    chat_id,
                    InputFile(figure.image, filename=name),
                    caption=messages.caption,
                    parse_mode=ParseMode.HTML,
                    reply_markup=messages.keyboard if keyboard_on_photo else None,
                    reply_parameters=_reply_to(reply_to),
                ),
            )
            reply_to = None
        for index, text in enumerate(messages.texts):
            last = index == len(messages.texts) - 1
            keyboard = messages.keyboard if last else None
            await self._text(chat_id, text, markup=True, keyboard=keyboard, reply_to=reply_to)
            reply_to = None

    async def _text(
        self,
        chat_id: str | int,
        text: str,
        *,
        markup: bool,
        keyboard: InlineKeyboardMarkup | None = None,
        reply_to: int | None = None,
    ) -> Message:
        return await self._send(
            chat_id,
            "sendMessage",
            lambda: self.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML if markup else None,
                link_preview_options=NO_PREVIEW,
                reply_markup=keyboard,
                reply_parameters=_reply_to(reply_to),
            ),
        )

    async def _send(self, chat_id: str | int, what: str, request: Callable[[], Awaitable[T]]) -> T:
        """A request to one chat, retried as `_call` says; what still fails is raised as
        `delivery_error` classifies it (a group that became a supergroup first moves
        to its new id)."""
        try:
            return await self._call(f"Telegram {what} to {chat_id}", request)
        except ChatMigrated as error:
            await self.core.chats.move_chat(ChatRef(PLATFORM, str(chat_id)), str(error.new_chat_id))
            raise delivery_error(error, chat_id) from error
        except (TelegramError, ServiceUnavailable) as error:
            raise delivery_error(error, chat_id) from error

    async def _call(self, what: str, request: Callable[[], Awaitable[T]]) -> T:
        """`request` under the retry policy: flood control (retry_after), timeouts, network
        errors and 5xx answers are retried; after the last attempt, `ServiceUnavailable`."""

        async def attempt() -> T:
            try:
                return await request()
            except RetryAfter as error:
                raise Transient(error.message, retry_after_seconds(error)) from error
            except BadRequest:
                raise
            except NetworkError as error:
                raise Transient(error.message) from error

        return await with_retries(attempt, policy=self.retry, what=what)

    # updates: messages

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        if message is None:
            return
        if message.migrate_to_chat_id:
            await self.core.chats.move_chat(chat_ref(message.chat), str(message.migrate_to_chat_id))
            return
        private = message.chat.type == ChatType.PRIVATE
        if message.text is None:
            if private and message.effective_attachment is not None:
                await self._say(message, "not_text")
            return
        parsed = parse_command(message.text, self.bot.username)
        if parsed is None:
            if private:
                await self._say(message, "not_a_command")
            return
        name, args = parsed
        if not private and not knows(name) and "@" not in message.text.split()[0]:
            return  # another bot's command in a group
        command = await self._command(message, name, args)
        if command is None:
            return
        replies = await self.layer.handle(command, self)
        if private and name in ("start", "help") and replies:
            hint = say(await self.layer.language(command.chat), "channel_hint")
            replies[-1] = Reply(f"{replies[-1].text}\n\n{hint}")
        for reply in replies:
            await self._answer(message, reply)

    async def _command(self, message: Message, name: str, args: str) -> Command | None:
        """The command a message gives, with the sender's admin status where it matters;
        None when a channel command was refused (the sender has been told why)."""
        user = message.from_user
        user_id = str(user.id) if user else ""
        ref = chat_ref(message.chat)
        if ref.kind == "private" and name in CHANNEL_COMMANDS:
            target = _CHANNEL.fullmatch(args)
            if target is not None:
                return await self._channel_command(message, name, target, user_id)
        admin = False
        if ref.kind != "private" and name in ADMIN_ONLY:
            sender = message.sender_chat
            anonymous = sender is not None and sender.id == message.chat.id  # anonymous admin
            admin = anonymous or await self._is_admin(message.chat.id, user_id)
        return Command(chat=ref, user_id=user_id, name=name, args=args, user_is_admin=admin)

    async def _channel_command(
        self, message: Message, name: str, target: re.Match[str], user_id: str
    ) -> Command | None:
        handle = target["channel"]
        try:
            channel = await self._call(f"getChat {handle}", lambda: self.bot.get_chat(handle))
            me = await self._member(channel.id, self.bot.id)
        except (BadRequest, Forbidden):
            await self._say(message, "channel_unknown", channel=handle)
            return None
        if channel.type != ChatType.CHANNEL:
            await self._say(message, "not_a_channel", channel=handle)
            return None
        if me.status != ChatMemberStatus.ADMINISTRATOR or not getattr(
            me, "can_post_messages", False
        ):
            title = channel.title or handle
            await self._say(message, "cannot_post", title=title)
            return None
        admin = await self._is_admin(channel.id, user_id)
        ref = ChatRef(PLATFORM, str(channel.id), "channel", channel.title or handle)
        rest = (target["rest"] or "").strip()
        return Command(chat=ref, user_id=user_id, name=name, args=rest, user_is_admin=admin)

    async def _member(self, chat_id: int, user_id: int | str) -> ChatMember:
        return await self._call(
            f"getChatMember {chat_id}", lambda: self.bot.get_chat_member(chat_id, int(user_id))
        )

    async def _is_admin(self, chat_id: int, user_id: str) -> bool:
        if not user_id:
            return False
        try:
            member = await self._member(chat_id, user_id)
        except (TelegramError, ServiceUnavailable) as exc:
            log.warning("admin check of user %s in chat %s failed: %s", user_id, chat_id, exc)
            return False
        return member.status in ADMINS

    async def _say(self, message: Message, key: str, **values: str) -> None:
        """Answer with the message `key` of the catalogue, in the chat's language."""
        language = await self.layer.language(chat_ref(message.chat))
        await self._answer(message, Reply(say(language, key, **values)))

    async def _answer(self, message: Message, reply: Reply) -> None:
        """Send one reply to the chat of `message` (quoting it in groups); a failure is
        logged, never raised."""
        quote = None if message.chat.type == ChatType.PRIVATE else message.message_id
        with _unsent(f"reply to chat {message.chat_id}"):
            if reply.card is not None:
                await self._send_card(message.chat_id, reply.card, reply_to=quote)
                return
            for part in split_plain(reply.text):
                await self._text(message.chat_id, part, markup=False, reply_to=quote)
                quote = None

    # updates: buttons

    async def _on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        button = parse_button(query.data)
        message = query.message
        if button is None or message is None:
            language = await self.layer.language(chat_ref(message.chat)) if message else "en"
            await query.answer(say(language, "button_old"))
            return
        if button.kind in VOTES:
            await self._on_vote(query, message, button)
            return
        reply = await self.layer.open_paper(
            chat_ref(message.chat), button.paper_id, button.language, button.kind == CARD
        )
        if reply.card is None:
            await query.answer(reply.text)
            return
        card = reply.card
        await query.answer()
        chat_id = message.chat.id
        await self._drop_button(message, query.data or "")
        with _unsent(f"button {query.data} in chat {chat_id}"):
            if button.kind == DETAILS:
                for text in details_messages(card):
                    await self._text(chat_id, text, markup=True, reply_to=message.message_id)
            else:
                await self._send_card(chat_id, card, reply_to=message.message_id)

    async def _on_vote(
        self, query: CallbackQuery, message: MaybeInaccessibleMessage, button: Button
    ) -> None:
        """👍 / 👎: the vote is stored and the press answered at once with the presser's
        choice; the message changes only to mark it (private chats) or to show how many
        members pressed each (groups and channels, where only administrators' votes
        count)."""
        ref, user_id = chat_ref(message.chat), query.from_user.id
        admin = ref.kind == "channel" and await self._is_admin(message.chat.id, str(user_id))
        name = "like" if button.kind == LIKE else "dislike"
        command = Command(ref, str(user_id), name, button.paper_id, user_is_admin=admin)
        reply = await self.layer.vote_button(command, 1 if button.kind == LIKE else -1)
        await query.answer(reply.text)
        keyboard = getattr(message, "reply_markup", None)
        markup = None if reply.problem else marked_vote(keyboard, query.data or "", reply.votes)
        if markup is not None:
            await self._edit_markup(message, markup)

    async def _drop_button(self, message: MaybeInaccessibleMessage, data: str) -> None:
        """Take a pressed paper button off its message, so it is expanded once."""
        await self._edit_markup(
            message, without_button(getattr(message, "reply_markup", None), data)
        )

    async def _edit_markup(
        self, message: MaybeInaccessibleMessage, markup: InlineKeyboardMarkup | None
    ) -> None:
        with _unsent(f"buttons of message {message.message_id}", logging.INFO):
            await self._send(
                message.chat.id,
                "editMessageReplyMarkup",
                lambda: self.bot.edit_message_reply_markup(
                    message.chat.id, message.message_id, reply_markup=markup
                ),
            )

    # updates: the bot added to or removed from a chat

    async def _on_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        if change is None:
            return
        ref = chat_ref(change.chat)
        was = change.old_chat_member.status in PRESENT
        now = change.new_chat_member.status in PRESENT
        if was == now:
            return
        if not now:
            chat = await self.core.chats.known_chat(ref)
            if chat is not None:
                reason = f"bot {change.new_chat_member.status} by user {change.from_user.id}"
                await self.core.chats.set_active(chat, False, reason)
                log.info("Telegram chat %s paused: %s", ref.chat_id, reason)
            return
        chat = await self.core.chats.chat(ref)
        await self.core.chats.set_active(chat, True)
        log.info("Telegram chat %s (%s) active", ref.chat_id, ref.kind)
        if ref.kind == "group":
            await self._greet(change.chat.id, str(change.from_user.id), ref)
        elif ref.kind == "channel":
            handle = f"@{change.chat.username}" if change.chat.username else str(change.chat.id)
            user = ChatRef(PLATFORM, str(change.from_user.id))
            language = await self.layer.language(user)
            text = say(language, "channel_added", title=ref.title or handle, handle=handle)
            await self._quietly(change.from_user.id, text)

    async def _greet(self, chat_id: int, user_id: str, ref: ChatRef) -> None:
        command = Command(chat=ref, user_id=user_id, name="start")
        for reply in await self.layer.handle(command, self):
            await self._quietly(chat_id, reply.text)

    async def _quietly(self, chat_id: int, text: str) -> None:
        """A message that may not arrive (a user who never started the bot)."""
        with _unsent(f"message to chat {chat_id}", logging.INFO):
            await self._text(chat_id, text, markup=False)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        log.error(
            "handling an update of Telegram chat %s failed",
            chat.id if chat else "-",
            exc_info=context.error,
        )
        message = update.effective_message if isinstance(update, Update) else None
        if message is not None and chat is not None and chat.type != ChatType.CHANNEL:
            await self._say(message, "failed")


@contextmanager
def _unsent(what: str, level: int = logging.WARNING) -> Iterator[None]:
    """Log, not raise, a message Telegram did not take (a reply, a button's answer)."""
    try:
        yield
    except DeliveryFailed as exc:
        log.log(level, "%s not sent: %s", what, exc)


def _reply_to(message_id: int | None) -> ReplyParameters | None:
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)
