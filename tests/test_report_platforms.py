"""The run report through each platform: `/report` asked in Telegram and Discord (fake
Bot API, simulated Discord), and the daily report sent as plain text by every adapter
(`Platform.send_text`), a Discord webhook and the shell included."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

import pytest
import simcord

from bot.app import App
from bot.chats import ChatRef
from bot.config import Settings
from bot.delivery import ChatUnavailable
from bot.run_reports import RunReports
from handlers.discord_bot import DiscordAdapter
from handlers.discord_webhook import PLATFORM as WEBHOOK
from handlers.discord_webhook import DiscordWebhooks, parse_webhook_url
from handlers.shell import ShellPlatform
from storage.chats import ChatRows
from tests.fake_discord import FakeDiscord
from tests.sim import FakeClock
from tests.test_discord_bot import adapter as adapter  # fixtures
from tests.test_discord_bot import simcord_bot as simcord_bot
from tests.test_telegram import ALICE, BOB, GROUP_ID, World
from tests.test_telegram import app as app
from tests.test_telegram import bot as bot
from tests.test_telegram import telegram as telegram
from tests.test_telegram import world as world

REFUSED = "Only the bot's operators (PAPERBOT_ADMIN_IDS) can use /report"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Alice is the operator on Telegram (PAPERBOT_ADMIN_IDS)."""
    return replace(settings, admin_ids=frozenset({str(ALICE)}))


def next_morning(clock: FakeClock) -> None:
    """Move the clock past the next 08:00 UTC (the default digest time)."""
    clock.now = (clock.now + timedelta(days=1)).replace(hour=8, minute=1)


async def test_telegram_report_on_and_daily_report(world: World) -> None:
    alice = world.telegram.private(ALICE)
    on = await world.reply_to(alice, ALICE, "/report on")
    assert on.visible.startswith("Daily run report on: it arrives here every day at 08:00 (UTC)")
    now = await world.reply_to(alice, ALICE, "/report")
    assert now.visible.startswith(f"Run report of {world.clock.now.date()} (UTC), until ")
    assert now.parse_mode is None
    bob = world.telegram.private(BOB)
    assert (await world.reply_to(bob, BOB, "/report")).visible.startswith(REFUSED)
    group = world.telegram.group(GROUP_ID, admins=(ALICE,))
    assert (await world.reply_to(group, ALICE, "/report on")).visible.startswith(REFUSED)

    before = len(world.telegram.sent_to(ALICE))
    next_morning(world.clock)
    assert await world.app.reports.send_due({"telegram": world.bot}) == 1
    (daily,) = world.telegram.sent_to(ALICE)[before:]
    day = (world.clock.now - timedelta(days=1)).date()
    assert daily.visible.splitlines()[0] == f"Run report of {day} (UTC)"
    assert "Model requests: 0 (RPD unlimited)" in daily.visible
    assert await world.app.reports.send_due({"telegram": world.bot}) == 0  # once a day


async def test_telegram_blocked_operator_chat_is_paused(world: World) -> None:
    alice = world.telegram.private(ALICE)
    await world.reply_to(alice, ALICE, "/report on")
    world.telegram.block(ALICE)
    next_morning(world.clock)
    assert await world.app.reports.send_due({"telegram": world.bot}) == 0
    row = world.store.rows(ChatRows).chat("telegram", str(ALICE))
    assert row["active"] == 0 and "blocked" in row["paused_reason"]


async def test_discord_report_in_a_dm_and_daily_report(
    simcord_env: simcord.Env, app: App, adapter: DiscordAdapter, clock: FakeClock
) -> None:
    operator = simcord_env.create_user("alice")
    app.settings = replace(app.settings, admin_ids=frozenset({str(operator.id)}))
    app.reports = RunReports(app.store, app.chats, app.settings, clock)  # as started with it
    on = await operator.slash("report", value="on")
    assert on.response.content.startswith("Daily run report on")
    now = await operator.slash("report")
    assert now.response.content.startswith(f"Run report of {clock.now.date()} (UTC), until ")
    other = simcord_env.create_user("bob")
    refused = await other.slash("report")
    assert refused.response.ephemeral
    assert refused.response.content.startswith(REFUSED.replace("_", "\\_"))  # Discord markdown

    next_morning(clock)
    assert await app.reports.send_due({"discord": adapter}) == 1
    daily = operator.dm_channel.last_message
    day = (clock.now - timedelta(days=1)).date()
    assert daily.content.splitlines()[0] == f"Run report of {day} (UTC)"
    assert "arXiv errors: 0" in daily.content


async def test_webhook_and_shell_send_plain_text(fake_discord: FakeDiscord, app: App) -> None:
    url = parse_webhook_url(fake_discord.webhook("12")).url
    chat = await app.chats.chat(ChatRef(WEBHOOK, url, "channel", "papers"))
    text = "Run report of 2026-11-16 (UTC)\narXiv errors: 1\n  cs.CV: *HTTP* 503"
    async with DiscordWebhooks() as webhooks:
        await webhooks.send_text(chat, text)
    (post,) = fake_discord.posts("12")
    assert post.payload["content"] == (  # Discord's markdown escaped, lines kept
        "Run report of 2026-11-16 (UTC)\narXiv errors: 1\ncs.CV: \\*HTTP\\* 503"
    )
    out = io.StringIO()
    await ShellPlatform(out).send_text(chat, text)
    assert out.getvalue() == text + "\n\n"


async def test_a_deleted_webhook_is_a_chat_unavailable(fake_discord: FakeDiscord, app: App) -> None:
    url = parse_webhook_url(fake_discord.webhook("13")).url
    chat = await app.chats.chat(ChatRef(WEBHOOK, url, "channel", "papers"))
    fake_discord.deleted.add("13")
    async with DiscordWebhooks() as webhooks:
        with pytest.raises(ChatUnavailable):
            await webhooks.send_text(chat, "Run report of 2026-11-16 (UTC)")
