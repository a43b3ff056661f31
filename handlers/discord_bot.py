"""The Discord bot: slash commands in, cards and digests out (discord.py 2).

Commands go through the shared command layer: each interaction becomes a
`Command` for the channel or thread it was used in, and the replies come
back as messages (replies to bad input only for the user who asked). The bot
only computes whether the user may manage the channel; the rule itself is in
`bot/commands.py`. Deliveries are sent with the bot's REST client, whose
rate-limit buckets discord.py keeps; what a failure means (a channel that is
gone or forbids the bot to post is paused, a refused message is the
message's) is `handlers.discord_errors`' to say.

`DISCORD_API_URL` moves the REST root (discord.py's `Route.BASE`); the
gateway is then the one that root's `GET /gateway/bot` names.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any, cast

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.categories import ARCHIVES, CATEGORIES
from bot.chat_settings import SETTINGS, suggest_values
from bot.chats import ChatRef
from bot.command_table import Arg, Command, CommandSpec, Reply
from bot.commands import COMMANDS, CommandLayer
from bot.config import ConfigError, Settings
from bot.delivery import Sent
from bot.models import Card, Chat, Digest
from bot.retry import ServiceUnavailable
from handlers.discord_errors import delivery_error
from handlers.discord_render import (
    AUTOCOMPLETE_CHOICES,
    BUTTON_LABEL_CHARS,
    CHOICE_CHARS,
    Message,
    card_message,
    details_messages,
    digest_messages,
    text_messages,
)

log = logging.getLogger(__name__)

PLATFORM = "discord"
DEFAULT_API_URL = Settings.discord_api_url
ANSWER_WITHIN = 2.0  # seconds before an interaction is deferred (Discord allows 3)
READY_WITHIN = 60.0  # seconds `start` waits for the gateway before going on
NO_MENTIONS = discord.AllowedMentions.none()
Show = Callable[[Card], list[Message]]  # a card as the messages that answer with it


# ---------------------------------------------------------------- interactions → commands


def chat_ref(interaction: discord.Interaction) -> ChatRef:
    """The chat an interaction came from: its channel or thread (a DM is private). A server
    channel is a `group` in paperbot's terms: its members talk there, and its managers
    change its topics; `channel` means a broadcast channel that only its admins post to."""
    channel_id = str(interaction.channel_id)
    if interaction.guild_id is None:
        return ChatRef(PLATFORM, channel_id, "private", f"DM with {interaction.user}")
    channel = interaction.channel
    name = getattr(channel, "name", None) or channel_id
    guild = interaction.guild.name if interaction.guild is not None else str(interaction.guild_id)
    return ChatRef(PLATFORM, channel_id, "group", f"#{name} ({guild})")


def user_is_admin(interaction: discord.Interaction) -> bool:
    """Whether the user may manage the channel: Manage Channels or Manage Server there."""
    permissions = interaction.permissions
    return permissions.manage_channels or permissions.manage_guild or permissions.administrator


def command_of(interaction: discord.Interaction, name: str, args: str = "") -> Command:
    return Command(
        chat=chat_ref(interaction),
        user_id=str(interaction.user.id),
        name=name,
        args=" ".join(args.split()),
        user_is_admin=user_is_admin(interaction),
    )


def _choices(values: list[str]) -> list[app_commands.Choice[str]]:
    fitting = [value for value in values if 0 < len(value) <= CHOICE_CHARS]
    return [app_commands.Choice(name=v, value=v) for v in fitting[:AUTOCOMPLETE_CHOICES]]


def category_choices(current: str) -> list[app_commands.Choice[str]]:
    """arXiv categories completing the last of the `;`-separated topics typed so far."""
    head, separator, last = current.rpartition(";")
    prefix = f"{head.strip()}; " if separator else ""
    typed = last.strip().lower()
    names = sorted(
        (n for n in CATEGORIES | ARCHIVES if n.lower().startswith(typed)),
        key=lambda n: (len(n) > len(typed) + 3, n.lower()),
    )
    return _choices([prefix + name for name in names])


# ---------------------------------------------------------------- buttons

DETAILS, OPEN = "details", "open"


class PaperButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"paperbot:(?P<action>details|open):(?P<paper>\S+)",
):
    """A paper's Details button (its structured summary), or its number in a digest's
    compact list (`open`: its card); either is shown only to the member who clicks (works
    after restarts: the action and the paper are in the button's id)."""

    def __init__(self, action: str, paper: str, label: str) -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:BUTTON_LABEL_CHARS] or paper,
                style=discord.ButtonStyle.secondary,
                custom_id=f"paperbot:{action}:{paper}",
            )
        )
        self.action, self.paper = action, paper

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: Any,
        /,
    ) -> PaperButton:
        return cls(match["action"], match["paper"], getattr(item, "label", None) or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = cast(_Client, interaction.client).adapter
        show = adapter.show_details if self.action == DETAILS else adapter.open_listed
        await show(interaction, self.paper)


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"paperbot:vote:(?P<value>[+-]):(?P<paper>\S+)",
):
    """👍 / 👎 of a paper by the member who clicks; answered only to them, the message
    unchanged (works after restarts: the paper is in the button's id)."""

    def __init__(self, value: str, paper: str, number: str = "") -> None:
        emoji = "👍" if value == "+" else "👎"
        super().__init__(
            discord.ui.Button(
                label=f"{emoji} {number}".strip(),
                style=discord.ButtonStyle.secondary,
                custom_id=f"paperbot:vote:{value}:{paper}",
            )
        )
        self.value, self.paper = value, paper

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: Any,
        /,
    ) -> VoteButton:
        return cls(match["value"], match["paper"])

    async def callback(self, interaction: discord.Interaction) -> None:
        adapter = cast(_Client, interaction.client).adapter
        await adapter.vote(interaction, self.paper, 1 if self.value == "+" else -1)


def _view(message: Message) -> discord.ui.View | None:
    """Each paper's buttons in turn: Details, 👍, 👎; then the listed papers' numbers."""
    if not message.details and not message.votes and not message.opens:
        return None
    view = discord.ui.View(timeout=None)
    for details, votes in zip_longest(message.details, message.votes):
        if details is not None:
            view.add_item(PaperButton(DETAILS, details[1], details[0]))
        if votes is not None:
            number, paper = votes
            view.add_item(VoteButton("+", paper, number))
            view.add_item(VoteButton("-", paper, number))
    for number, paper in message.opens:
        view.add_item(PaperButton(OPEN, paper, number))
    return view


def _files(message: Message) -> list[discord.File]:
    return [
        discord.File(io.BytesIO(upload.data), upload.filename, description=upload.description)
        for upload in message.files
    ]


def _send_kwargs(message: Message) -> dict[str, Any]:
    """Keyword arguments for discord.py's send methods (only the parts the message has)."""
    kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
    if message.content:
        kwargs["content"] = message.content
    if message.embeds:
        kwargs["embeds"] = [discord.Embed.from_dict(embed) for embed in message.embeds]
    if message.files:
        kwargs["files"] = _files(message)
    if (view := _view(message)) is not None:
        kwargs["view"] = view
    return kwargs


# ---------------------------------------------------------------- the client


class _Client(discord.Client):
    def __init__(self, adapter: DiscordAdapter) -> None:
        discord.VoiceClient.warn_nacl = False  # paperbot has no voice; no warning about it
        super().__init__(intents=discord.Intents(guilds=True))
        self.adapter = adapter
        self.tree = app_commands.CommandTree(self)
        self.tree.error(adapter.on_command_error)
        for command in adapter.slash_commands():
            self.tree.add_command(command)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(PaperButton, VoteButton)
        if self.adapter.api_root != DEFAULT_API_URL:
            _, url, _ = await self.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
            log.info("Discord gateway from the configured API root: %s", url)
        await self.adapter.sync_commands()


@dataclass
class _Replies:
    """Answers one interaction: the first reply is its response (or replaces the deferred
    "thinking" message, which keeps the privacy chosen when deferring), the rest follow."""

    interaction: discord.Interaction
    deferred: bool = False

    async def defer(self, private: bool) -> None:
        await self.interaction.response.defer(ephemeral=private, thinking=True)
        self.deferred = True

    async def send(self, message: Message, private: bool) -> None:
        kwargs = _send_kwargs(message)
        if not self.interaction.response.is_done():
            await self.interaction.response.send_message(ephemeral=private, **kwargs)
        elif self.deferred:
            self.deferred = False
            kwargs["attachments"] = kwargs.pop("files", [])
            await self.interaction.edit_original_response(**kwargs)
        else:
            await self.interaction.followup.send(ephemeral=private, **kwargs)

    async def finish(self) -> None:
        """Close an interaction that got no reply (its effect was the reply)."""
        if not self.interaction.response.is_done():
            await self.defer(private=True)
        if self.deferred:
            await self.interaction.delete_original_response()


class DiscordAdapter:
    """The Discord platform: slash commands, the Details button, deliveries to channels."""

    name = PLATFORM

    def __init__(
        self, settings: Settings, layer: CommandLayer, answer_within: float = ANSWER_WITHIN
    ) -> None:
        self.settings = settings
        self.layer = layer
        self.answer_within = answer_within
        self.api_root = settings.discord_api_url.rstrip("/")
        self.client = _Client(self)
        self._connection: asyncio.Task[None] | None = None
        self._previous_root = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)

    # lifecycle

    async def start(self, receive: bool = True) -> None:
        """Log in (slash commands are synced then); when `receive`, connect to the gateway
        and wait until ready (sending needs only the login)."""
        if not self.settings.discord_bot_token:
            raise ConfigError("DISCORD_BOT_TOKEN is not set")
        Route.BASE = self.api_root
        try:
            await self.client.login(self.settings.discord_bot_token)
        except discord.LoginFailure:
            await self.client.close()
            raise ConfigError("DISCORD_BOT_TOKEN was refused by Discord") from None
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            await self.client.close()
            raise ServiceUnavailable(f"Discord: {exc}") from None
        if not receive:
            return
        self._connection = asyncio.create_task(self.client.connect(reconnect=True))
        ready = asyncio.create_task(self.client.wait_until_ready())
        done, _ = await asyncio.wait(
            {self._connection, ready}, timeout=READY_WITHIN, return_when=asyncio.FIRST_COMPLETED
        )
        if self._connection in done:
            ready.cancel()
            self._connection.result()
        elif ready not in done:
            ready.cancel()
            log.warning("Discord gateway not ready yet; still trying in the background")
        else:
            log.info("Discord bot ready as %s", self.client.user)

    async def stop(self) -> None:
        await self.client.close()
        if self._connection is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._connection
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._previous_root

    async def sync_commands(self) -> None:
        """Register the slash commands: with a test guild there (at once), else globally."""
        tree = self.client.tree
        guild = None
        if self.settings.discord_guild_id is not None:
            guild = discord.Object(self.settings.discord_guild_id)
            tree.copy_global_to(guild=guild)
        try:
            synced = await tree.sync(guild=guild)
        except discord.HTTPException as exc:
            log.warning("slash commands not synced (%s); the last synced ones stay", exc)
            return
        where = "to the test guild" if guild else "globally"
        log.info("synced %d slash commands %s", len(synced), where)

    # deliveries

    async def send_card(self, chat: Chat, card: Card) -> None:
        await self._deliver(chat, [card_message(card)])

    async def send_digest(self, chat: Chat, digest: Digest, sent: Sent) -> None:
        await self._deliver(chat, digest_messages(digest), sent)

    async def send_text(self, chat: Chat, text: str) -> None:
        await self._deliver(chat, [Message(content=part) for part in text_messages(text)])

    async def _deliver(self, chat: Chat, messages: list[Message], sent: Sent | None = None) -> None:
        channel = self.client.get_partial_messageable(int(chat.chat_id))
        try:
            for message in messages:
                await channel.send(**_send_kwargs(message))
                if sent is not None:
                    await sent(list(message.papers))
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            raise delivery_error(exc) from None

    # commands

    def slash_commands(self) -> list[app_commands.Command[Any, ..., None]]:
        """One slash command per entry of the command table, with typed options and
        autocomplete by the kind of its argument."""
        return [
            app_commands.Command(
                name=spec.name, description=spec.en[:100], callback=self._callback(spec)
            )
            for spec in COMMANDS
        ]

    def _callback(self, spec: CommandSpec) -> Callable[..., Awaitable[None]]:
        if not spec.args:
            return _plain_command(self, spec.name)
        first = spec.args[0]
        if first.kind == "setting":
            return _set(self)
        complete = {"topics": self.complete_topic, "followed": self.complete_followed}
        return _one_argument(self, spec.name, first, complete.get(first.kind))

    async def answer(self, interaction: discord.Interaction, name: str, args: str = "") -> None:
        """Run one command and answer the interaction with its replies."""
        command = command_of(interaction, name, args)
        await self._answer(interaction, self.layer.handle(command, self), name, private=False)

    async def show_details(self, interaction: discord.Interaction, paper: str) -> None:
        """The Details button: the paper's structured summary from what is stored, only for
        the user who clicked."""

        async def details() -> list[Reply]:
            return [await self.layer.open_paper(chat_ref(interaction), paper, None, False)]

        await self._answer(interaction, details(), "details", private=True, show=details_messages)

    async def open_listed(self, interaction: discord.Interaction, paper: str) -> None:
        """A paper's number in a digest's compact list: its card (stored metadata; its
        summary asked for first in the model's budget), only for the member who clicked:
        each member reads it without posting a copy of the card to the channel per click."""

        async def card() -> list[Reply]:
            return [await self.layer.open_paper(chat_ref(interaction), paper, None, True)]

        await self._answer(interaction, card(), "open", private=True)

    async def vote(self, interaction: discord.Interaction, paper: str, value: int) -> None:
        """👍 / 👎: the member's vote, answered only to them; the message stays as it is."""

        async def vote() -> list[Reply]:
            name = "like" if value > 0 else "dislike"
            command = Command(chat_ref(interaction), str(interaction.user.id), name, paper)
            return [await self.layer.vote_button(command, value)]

        await self._answer(interaction, vote(), "vote", private=True)

    async def _answer(
        self,
        interaction: discord.Interaction,
        answers: Awaitable[list[Reply]],
        what: str,
        *,
        private: bool,
        show: Show = lambda card: [card_message(card)],
    ) -> None:
        """Answer with the replies (a card as `show` renders it); `private`: only to the
        user (a problem always is)."""
        replies = _Replies(interaction)
        work = asyncio.ensure_future(answers)
        try:
            done, _ = await asyncio.wait({work}, timeout=self.answer_within)
            if not done:
                await replies.defer(private=private)
            messages = [
                (message, reply.problem or private)
                for reply in await work
                for message in _messages(reply, show)
            ]
            for message, hidden in messages:
                await replies.send(message, hidden)
            if not messages:
                await replies.finish()
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError):
            log.exception("could not answer %s in Discord", what)

    async def on_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        log.error("Discord interaction failed: %s", error, exc_info=error)

    # autocomplete

    async def complete_topic(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return category_choices(current)

    async def complete_followed(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The channel's own topics (and `all`) containing what was typed."""
        chats = self.layer.app.chats
        try:
            topics = await chats.topics(await chats.chat(chat_ref(interaction)))
        except Exception:
            log.exception("topic autocomplete failed")
            return []
        typed = current.strip().lower()
        return _choices([t for t in [*topics, "all"] if typed in t.lower()])

    async def complete_value(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return _choices(suggest_values(str(interaction.namespace.name or ""), current))


def _messages(reply: Reply, show: Show) -> list[Message]:
    if reply.card is not None:
        return show(reply.card)
    return [Message(content=text) for text in text_messages(reply.text)] if reply.text else []


# Slash command callbacks: discord.py reads each option's name, type, description and
# autocomplete from the callback's signature and decorators.


def _plain_command(adapter: DiscordAdapter, name: str) -> Callable[..., Awaitable[None]]:
    async def callback(interaction: discord.Interaction) -> None:
        await adapter.answer(interaction, name)

    return callback


Complete = Callable[..., Awaitable[list[app_commands.Choice[str]]]]


def _one_argument(
    adapter: DiscordAdapter, name: str, arg: Arg, complete: Complete | None
) -> Callable[..., Awaitable[None]]:
    """A command with one text option named and described as the table's `arg` says."""

    async def required(
        interaction: discord.Interaction, value: app_commands.Range[str, 1, 1000]
    ) -> None:
        await adapter.answer(interaction, name, value)

    async def optional(
        interaction: discord.Interaction, value: app_commands.Range[str, 1, 1000] | None = None
    ) -> None:
        await adapter.answer(interaction, name, value or "")

    callback: Callable[..., Awaitable[None]] = required if arg.required else optional
    callback = app_commands.describe(value=arg.hint)(callback)
    if complete is not None:
        callback = app_commands.autocomplete(value=complete)(callback)
    return app_commands.rename(value=arg.name)(callback)


def _set(adapter: DiscordAdapter) -> Callable[..., Awaitable[None]]:
    @app_commands.describe(name="the setting", value="its new value")
    @app_commands.choices(name=[app_commands.Choice(name=n, value=n) for n in SETTINGS])
    @app_commands.autocomplete(value=adapter.complete_value)
    async def set_(
        interaction: discord.Interaction, name: str, value: app_commands.Range[str, 1, 100]
    ) -> None:
        await adapter.answer(interaction, "set", f"{name} {value}")

    return set_
