"""The Discord bot through discord.py's real client, interactions and views, against
simcord's simulated Discord (REST and gateway in memory): slash commands reach the
shared command layer, replies and cards come back as users see them, deliveries go to
channels, and channels that are gone or closed to the bot are paused. Starting the bot
for real (login, gateway) is tested against the local fake Discord."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import discord
import pytest
import simcord
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.app import App
from bot.arxiv.client import ArxivClient
from bot.command_table import Command, Reply
from bot.commands import COMMANDS, CommandLayer
from bot.config import Settings
from bot.delivery import Platform
from bot.models import Figure
from bot.summarize import BACKGROUND, PERSON
from handlers.discord_bot import DiscordAdapter
from storage.chats import ChatRows
from storage.database import Store
from storage.feedback import FeedbackRows
from storage.outbox import DeliveryRows
from tests.conftest import CountingModel, app_with_figure
from tests.fake_arxiv import FakeArxiv, make_paper
from tests.fake_discord import BOT_TOKEN, FakeDiscord
from tests.sim import FakeClock

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def app(settings: Settings, store: Store, client: ArxivClient, clock: FakeClock) -> App:
    figure = Figure(number=1, page=1, caption="Overview of the method.", image=PNG)
    return app_with_figure(settings, store, client, figure, clock)


@pytest.fixture
def adapter(settings: Settings, app: App) -> DiscordAdapter:
    return DiscordAdapter(settings, CommandLayer(app))


@pytest.fixture
def simcord_bot(adapter: DiscordAdapter) -> discord.Client:
    return adapter.client


class Server:
    """A guild with a #papers channel, a member and a moderator (Manage Channels)."""

    def __init__(self, env: simcord.Env) -> None:
        self.env = env
        self.guild = env.create_guild("Lab")
        self.channel = self.guild.create_text_channel("papers")
        mods = self.guild.create_role("mods", permissions=discord.Permissions(manage_channels=True))
        self.member = self.guild.add_member(env.create_user("alice"))
        self.mod = self.guild.add_member(env.create_user("bob"), roles=[mods])


@pytest.fixture
def server(simcord_env: simcord.Env) -> Server:
    return Server(simcord_env)


def followed(store: Store, channel_id: int) -> list[str]:
    row = store.rows(ChatRows).chat("discord", str(channel_id))
    return [] if row is None else store.rows(ChatRows).topics_of(row["id"])


async def test_every_spec_command_is_a_slash_command(server: Server) -> None:
    assert set(server.member.available_commands(server.channel)) == {s.name for s in COMMANDS}


async def test_sync_to_a_test_guild(adapter: DiscordAdapter, settings: Settings) -> None:
    env = simcord.Env(adapter.client)
    guild = env.create_guild("Test server")
    adapter.settings = replace(settings, discord_guild_id=guild.id)
    await env.start()
    try:
        puts = [r.path for r in env.http_requests if r.method == "PUT"]
        assert puts == [f"/applications/{env.bot.application_id}/guilds/{guild.id}/commands"]
        channel = guild.create_text_channel("general")
        user = guild.add_member(env.create_user("carol"))
        assert "subscribe" in user.available_commands(channel)
    finally:
        await env.shutdown()


async def test_only_channel_managers_subscribe(server: Server, store: Store) -> None:
    refused = await server.member.slash(server.channel, "subscribe", topics="cs.CV")
    assert refused.response.ephemeral
    assert "Only administrators" in refused.response.content
    assert followed(store, server.channel.id) == []

    done = await server.mod.slash(server.channel, "subscribe", topics="cs.cv; NeRF in:cs.CV")
    assert not done.response.ephemeral
    assert done.response.content.startswith("Following cs.CV\nFollowing nerf in:cs.CV")
    assert followed(store, server.channel.id) == ["cs.CV", "nerf in:cs.CV"]
    row = store.rows(ChatRows).chat("discord", str(server.channel.id))
    assert (row["kind"], row["title"]) == ("group", "#papers (Lab)")


async def test_manage_server_is_enough(server: Server, store: Store) -> None:
    admins = server.guild.create_role("admins", permissions=discord.Permissions(manage_guild=True))
    owner = server.guild.add_member(server.env.create_user("dana"), roles=[admins])
    result = await owner.slash(server.channel, "set", name="mode", value="daily")
    assert "mode daily" in result.response.content
    assert store.rows(ChatRows).chat("discord", str(server.channel.id))["mode"] == "daily"


async def test_threads_have_their_own_subscriptions(server: Server, store: Store) -> None:
    server.env.backend.create_thread(server.channel.id, "nerf papers", owner_id=server.mod.id)
    (thread,) = server.channel.threads
    await server.mod.slash(thread, "subscribe", topics="nerf")
    await server.mod.slash(server.channel, "subscribe", topics="cs.GR")
    assert followed(store, thread.id) == ["nerf"]
    assert followed(store, server.channel.id) == ["cs.GR"]


async def test_direct_messages_are_private_chats(simcord_env: simcord.Env, store: Store) -> None:
    user = simcord_env.create_user("erin")
    result = await user.slash("subscribe", topics="au:Mildenhall")
    assert "Following au:mildenhall" in result.response.content
    row = store.rows(ChatRows).chat("discord", str(user.dm_channel.id))
    assert row["kind"] == "private"


@pytest.mark.parametrize(
    ("command", "options", "reply"),
    [
        ("summarize", {"paper": "12345"}, "Not an arXiv id or URL"),
        ("summarize", {"paper": "2404.99999"}, "No arXiv paper 2404.99999"),
        ("set", {"name": "time", "value": "25:00"}, "time is HH:MM"),
        ("subscribe", {"topics": "cs.CVV"}, "did you mean cs.CV"),
        ("unsubscribe", {"topics": "<b>x</b>"}, "may contain letters"),
    ],
)
async def test_bad_input_is_answered_only_to_the_user(
    server: Server, command: str, options: dict[str, str], reply: str
) -> None:
    result = await server.mod.slash(server.channel, command, **options)
    assert result.response.ephemeral
    assert reply in result.response.content


async def test_list_and_settings_are_shown_to_the_channel(server: Server) -> None:
    await server.mod.slash(server.channel, "subscribe", topics="gaussian splatting")
    listing = await server.member.slash(server.channel, "list")
    assert not listing.response.ephemeral
    assert "• gaussian splatting" in listing.response.content
    assert "mode instant" in listing.response.content
    help_text = (await server.member.slash(server.channel, "help")).response.content
    assert "/subscribe \\<topic>" in help_text


async def test_autocomplete(server: Server) -> None:
    await server.mod.slash(server.channel, "subscribe", topics="nerf; cs.GR; au:Kerbl")
    offered = await server.mod.autocomplete(server.channel, "subscribe", "topics", "nerf; cs.g")
    assert [c["value"] for c in offered] == ["nerf; cs.GL", "nerf; cs.GR", "nerf; cs.GT"]
    own = await server.mod.autocomplete(server.channel, "unsubscribe", "topics", "")
    assert [c["value"] for c in own] == ["nerf", "cs.GR", "au:kerbl", "all"]
    zones = await server.mod.autocomplete(server.channel, "set", "value", "berl", name="timezone")
    assert [c["value"] for c in zones] == ["Europe/Berlin"]
    modes = await server.mod.autocomplete(server.channel, "set", "value", "", name="mode")
    assert [c["value"] for c in modes] == ["instant", "daily"]


async def test_summarize_card_and_details_button(server: Server, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.papers = [make_paper(409, title="Splatting *everything*")]
    result = await server.member.slash(server.channel, "summarize", paper="2511.00409")
    card = result.response
    assert not card.ephemeral
    (embed,) = card.embeds
    assert embed.title == r"Splatting \*everything\*"
    assert embed.url == "https://arxiv.org/abs/2511.00409"
    assert embed.image.url == "attachment://2511.00409-fig1.png"
    assert [a.filename for a in card.attachments] == ["2511.00409-fig1.png"]
    assert embed.footer.text.startswith("Summary source: sentences extracted")

    details = await server.member.click(card.message, label="Details")
    assert details.response.ephemeral
    assert details.response.embeds[0].title == r"Details: Splatting \*everything\*"


async def test_slow_answers_are_deferred(
    server: Server, adapter: DiscordAdapter, fake_arxiv: FakeArxiv, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle, open_paper = adapter.layer.handle, adapter.layer.open_paper

    async def slowly(command: Command, platform: Platform) -> list[Reply]:
        await asyncio.sleep(0.1)
        return await handle(command, platform)

    async def slow_paper(*args: Any) -> Reply:
        await asyncio.sleep(0.1)
        return await open_paper(*args)

    monkeypatch.setattr(adapter.layer, "handle", slowly)
    monkeypatch.setattr(adapter.layer, "open_paper", slow_paper)
    adapter.answer_within = 0.01
    fake_arxiv.papers = [make_paper(409)]
    slow = await server.member.slash(server.channel, "summarize", paper="2511.00409")
    await server.env.settle()
    assert not slow.response.ephemeral
    assert slow.response.embeds[0].url == "https://arxiv.org/abs/2511.00409"
    assert answers(server.env) == ["defer", "PATCH @original"]

    card = slow.response.message
    asked = len(fake_arxiv.requests)
    details = await server.member.click(card, label="Details")
    await server.env.settle()
    assert len(fake_arxiv.requests) == asked  # the stored paper and summary, not /summarize
    assert details.response.ephemeral
    assert details.response.embeds[0].title.startswith("Details: ")
    assert answers(server.env)[2:] == ["defer", "PATCH @original"]


def answers(env: simcord.Env) -> list[str]:
    """How the bot answered interactions, in order."""
    seen = []
    for request in env.http_requests:
        if request.path.endswith("/callback"):
            seen.append("defer" if request.json["type"] == 5 else "respond")
        elif request.path.startswith("/webhooks/"):
            target = "@original" if request.path.endswith("@original") else "follow-up"
            seen.append(f"{request.method} {target}")
    return seen


async def follow_and_poll(
    server: Server, app: App, fake_arxiv: FakeArxiv, channel: object = None
) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(1, title="First"), make_paper(2, title="Second")]
    await server.mod.slash(channel or server.channel, "subscribe", topics="cs.CV")
    await app.polling.poll()


async def test_cards_are_delivered_to_the_channel(
    server: Server, app: App, adapter: DiscordAdapter, fake_arxiv: FakeArxiv
) -> None:
    await follow_and_poll(server, app, fake_arxiv)
    report = await app.outbox.deliver_due({"discord": adapter})
    assert (report.cards, report.failed, report.paused) == (2, [], [])
    titles = [m.embeds[0].title for m in server.channel.history()[-2:]]
    assert sorted(titles) == ["First", "Second"]
    assert all(m.attachments for m in server.channel.history()[-2:])


async def test_digest_command_posts_the_digest(
    server: Server, app: App, fake_arxiv: FakeArxiv, store: Store
) -> None:
    await server.mod.slash(server.channel, "set", name="mode", value="daily")
    await follow_and_poll(server, app, fake_arxiv)
    result = await server.member.slash(server.channel, "digest")
    assert result.acknowledged
    digest = server.channel.last_message
    assert digest.content.startswith("**arXiv digest**")
    assert [e.title for e in digest.embeds] == ["First", "Second"]
    chat = store.rows(ChatRows).chat("discord", str(server.channel.id))
    assert store.rows(DeliveryRows).unsent(chat["id"]) == []


async def test_digest_lists_the_rest_and_a_number_opens_its_card(
    server: Server, app: App, fake_arxiv: FakeArxiv, store: Store
) -> None:
    titles = ["First", "Second", "Third", "Fourth"]
    fake_arxiv.feeds["cs.CV"] = [make_paper(n, title=t) for n, t in enumerate(titles, 1)]
    await server.mod.slash(server.channel, "set", name="max", value="2")
    await server.mod.slash(server.channel, "set", name="mode", value="daily")
    await server.mod.slash(server.channel, "subscribe", topics="cs.CV")
    await app.polling.poll()
    model = CountingModel()
    app.summaries.summarizer = model
    await server.member.slash(server.channel, "digest")

    cards, listing = server.channel.history()[-2:]
    assert cards.content.startswith("**arXiv digest**") and "4 new papers" in cards.content
    assert [e.title for e in cards.embeds] == ["First", "Second"]
    assert [b.label for row in cards.components for b in row.children] == [
        "Details 1",
        "👍 1",
        "👎 1",
        "Details 2",
        "👍 2",
        "👎 2",
    ]
    assert model.asked == [("2511.00001", BACKGROUND), ("2511.00002", BACKGROUND)]
    assert listing.content == "More papers, best first; tap a number for the paper's card."
    lines = listing.embeds[0].description.split("\n")
    assert lines[0] == r"**3.** [Third](https://arxiv.org/abs/2511.00003) · 0\.30 · 2511\.00003"
    assert lines[1] == "Ada Lovelace, Alan Turing"
    assert [b.label for row in listing.components for b in row.children] == ["3", "4"]
    chat = store.rows(ChatRows).chat("discord", str(server.channel.id))
    assert store.rows(DeliveryRows).unsent(chat["id"]) == []

    asked = len(fake_arxiv.requests)
    opened = await server.member.click(listing, label="4")
    assert opened.response.ephemeral  # for the member who asked; the channel sees no copy
    (embed,) = opened.response.embeds
    assert embed.title == "Fourth" and "language model, abstract only" in embed.footer.text
    assert [a.filename for a in opened.response.attachments] == ["2511.00004-fig1.png"]
    assert model.asked[2:] == [("2511.00004", PERSON)]
    assert len(fake_arxiv.requests) == asked
    assert server.channel.last_message.id == listing.id
    details = await server.member.click(opened.response.message, label="Details")
    assert details.response.embeds[0].title == "Details: Fourth"
    assert model.asked[2:] == [("2511.00004", PERSON)]  # the summary is cached now


async def test_channel_closed_to_the_bot_is_paused(
    server: Server, app: App, adapter: DiscordAdapter, fake_arxiv: FakeArxiv,
    store: Store,
) -> None:  # fmt: skip
    deny = {adapter.client.user: discord.PermissionOverwrite(send_messages=False)}
    closed = server.guild.create_text_channel("read-only", overwrites=deny)
    await follow_and_poll(server, app, fake_arxiv, closed)
    report = await app.outbox.deliver_due({"discord": adapter})
    assert report.paused == [f"discord:{closed.id}"]
    chat = store.rows(ChatRows).chat("discord", str(closed.id))
    assert chat["active"] == 0 and "may not post" in chat["paused_reason"]
    assert len(store.rows(DeliveryRows).unsent(chat["id"])) == 2


async def test_deleted_channel_is_paused(
    server: Server, app: App, adapter: DiscordAdapter, fake_arxiv: FakeArxiv,
    store: Store,
) -> None:  # fmt: skip
    await follow_and_poll(server, app, fake_arxiv)
    server.env.backend.delete_channel(server.channel.id)
    report = await app.outbox.deliver_due({"discord": adapter})
    assert report.paused == [f"discord:{server.channel.id}"]
    chat = store.rows(ChatRows).chat("discord", str(server.channel.id))
    assert "deleted" in chat["paused_reason"]
    assert len(store.rows(DeliveryRows).unsent(chat["id"])) == 2


async def test_a_refused_message_is_charged_to_it_not_to_discord(
    server: Server, app: App, adapter: DiscordAdapter, fake_arxiv: FakeArxiv,
    store: Store,
) -> None:  # fmt: skip
    fake_arxiv.feeds["cs.CV"] = [make_paper(number) for number in range(1, 7)]
    await server.mod.slash(server.channel, "subscribe", topics="cs.CV")
    await app.polling.poll()
    server.env.inject_error(
        "POST", f"/channels/{server.channel.id}/messages",
        status=400, code=50035, message="Invalid Form Body", times=None,
    )  # fmt: skip
    report = await app.outbox.deliver_due({"discord": adapter})
    assert (report.cards, len(report.failed), report.paused, report.waiting) == (0, 6, [], 0)
    assert app.outbox.circuit("discord").closed
    chat = store.rows(ChatRows).chat("discord", str(server.channel.id))
    assert chat["active"] == 1
    unsent = store.rows(DeliveryRows).unsent(chat["id"])
    assert [(d["attempts"], d["last_error"]) for d in unsent] == [
        (1, "Discord refused the message: 400 Invalid Form Body (50035)")
    ] * 6


async def test_start_uses_the_configured_api_root_and_stop_restores_it(
    settings: Settings, app: App, fake_discord: FakeDiscord
) -> None:
    configured = replace(
        settings, discord_bot_token=BOT_TOKEN, discord_api_url=f"{fake_discord.api_url}/"
    )
    adapter = DiscordAdapter(configured, CommandLayer(app))
    await adapter.start()
    try:
        assert adapter.client.is_ready()
        assert fake_discord.api_url == Route.BASE
        assert (
            str(DiscordWebSocket.DEFAULT_GATEWAY) == f"ws://127.0.0.1:{fake_discord.port}/gateway"
        )
        assert fake_discord.identify is not None and fake_discord.identify["token"] == BOT_TOKEN
    finally:
        await adapter.stop()
    assert Route.BASE == "https://discord.com/api/v10"
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"
    assert adapter.client.is_closed()


async def test_vote_buttons_answer_the_member_only_and_count_each_member_once(
    server: Server, store: Store, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.papers = [make_paper(409)]
    card = (await server.member.slash(server.channel, "summarize", paper="2511.00409")).response
    chat = store.rows(ChatRows).chat("discord", str(server.channel.id))["id"]

    def votes() -> list[tuple]:
        return [(r["likes"], r["dislikes"]) for r in store.rows(FeedbackRows).voted_papers(chat)]

    async def click(who: Any, label: str) -> str:
        result = await who.click(card.message, label=label)
        assert result.response.ephemeral
        return result.response.content

    assert await click(server.member, "👍") == "👍 Noted: more papers like this one."
    assert votes() == [(1, 0)]
    assert await click(server.member, "👍") == "Already noted."
    assert await click(server.mod, "👎") == "👎 Noted: fewer papers like this one."
    assert votes() == [(1, 1)]
    await click(server.member, "👎")  # the other button changes the member's vote
    assert votes() == [(0, 2)]
    assert card.embeds[0].title  # the card itself is unchanged
    for table in ("votes", "summaries", "papers"):  # the paper is gone from the database
        store.rows(ChatRows).db.execute(f"DELETE FROM {table}")
    assert await click(server.member, "👍") == "This paper is not available any more."
    assert votes() == []
