"""`paperbot channel` (webhook channels) and `paperbot run` with Discord, end to end in a
subprocess against the local fake Discord and fake arXiv."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import RunCli, spawn_cli
from tests.fake_arxiv import FakeArxiv, make_paper
from tests.fake_discord import APP_ID, BOT_TOKEN, FakeDiscord, Recorded


def never_shows_a_secret(result: subprocess.CompletedProcess[str], *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr


def test_webhook_channel_lifecycle(
    run_cli: RunCli, fake_discord: FakeDiscord, fake_arxiv: FakeArxiv
) -> None:
    url = fake_discord.webhook("31")
    token = fake_discord.webhooks["31"]
    added = run_cli("channel", "add", "discord-webhook", url, "cs.CV", "gaussian splatting")
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[:3] == [
        f"papers-31: {fake_discord.base}/api/webhooks/31/****",
        "Following cs.CV",
        "Following gaussian splatting",
    ]
    listed = run_cli("channel", "list")
    assert listed.stdout.split() == [
        "31", "papers-31", f"{fake_discord.base}/api/webhooks/31/****", "active", "instant",
        "08:00", "UTC", "cs.CV,", "gaussian", "splatting",
    ]  # fmt: skip

    fake_arxiv.feeds["cs.CV"] = [make_paper(1, title="Splats")]
    polled = run_cli("poll", "--once")
    assert polled.returncode == 0, polled.stderr
    (post,) = fake_discord.posts("31")
    assert post.payload["embeds"][0]["title"] == "Splats"

    changed = run_cli("channel", "set", "31", "mode", "daily")
    assert "mode daily" in changed.stdout
    refused = run_cli("channel", "set", "31", "time", "25:00")
    assert refused.returncode == 2 and "time is HH:MM" in refused.stderr
    removed = run_cli("channel", "remove", "-", stdin=url + "\n")
    assert removed.stdout == f"Removed papers-31: {fake_discord.base}/api/webhooks/31/****\n"
    assert run_cli("channel", "list").stdout == ""
    for result in (added, listed, polled, changed, refused, removed):
        never_shows_a_secret(result, token)


@pytest.mark.parametrize(
    ("webhook", "message"),
    [
        (
            "https://discord.com/channels/1/2",
            "not a Discord webhook URL; it looks like https://discord.com/api/webhooks/<id>/<token>"
            " (channel settings → Integrations)",
        ),
        ("deleted", "Discord does not know this webhook (404 Unknown Webhook (10015))"),
    ],
)
def test_bad_webhooks_are_refused(
    run_cli: RunCli, fake_discord: FakeDiscord, webhook: str, message: str
) -> None:
    if webhook == "deleted":
        webhook = fake_discord.webhook("32")
        fake_discord.deleted.add("32")
    result = run_cli("channel", "add", "discord-webhook", webhook, "cs.CV")
    assert result.returncode == 2
    assert result.stderr.strip() == f"paperbot: {message}"
    assert "secret-token" not in result.stderr


def test_unknown_channel_and_kind(run_cli: RunCli) -> None:
    missing = run_cli("channel", "remove", "404")
    assert missing.returncode == 2
    assert "no webhook channel 404; see paperbot channel list" in missing.stderr
    kind = run_cli("channel", "add", "slack", "https://x/webhooks/1/y", "cs.CV")
    assert kind.returncode == 2 and "discord-webhook" in kind.stderr


def wait_for(condition: Callable[[], object], what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def callbacks(fake: FakeDiscord) -> list[Recorded]:
    return [r for r in fake.requests if r.path.endswith("/callback")]


def dm_command(name: str, **options: str) -> dict[str, object]:
    """An INTERACTION_CREATE payload: a slash command used in a direct message."""
    return {
        "id": "9001",
        "application_id": APP_ID,
        "type": 2,
        "token": "interaction-token",
        "version": 1,
        "channel_id": "5005",
        "channel": {"id": "5005", "type": 1},
        "user": {"id": "77", "username": "erin", "discriminator": "0", "avatar": None},
        "data": {
            "id": "1",
            "name": name,
            "type": 1,
            "options": [{"name": k, "type": 3, "value": v} for k, v in options.items()],
        },
        "locale": "en-US",
        "attachment_size_limit": 10_485_760,
        "context": 1,
        "entitlements": [],
    }


def test_run_starts_the_discord_bot_on_the_configured_api(
    cli_env: dict[str, str], fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    env = {**cli_env, "DISCORD_BOT_TOKEN": BOT_TOKEN, "DISCORD_API_URL": fake_discord.api_url}
    process = spawn_cli("run", env=env, cwd=tmp_path)
    try:
        wait_for(lambda: fake_discord.identify is not None, "IDENTIFY on the gateway")
        assert fake_discord.identify is not None and fake_discord.identify["token"] == BOT_TOKEN
        paths = [(r.method, r.path) for r in fake_discord.requests]
        assert ("GET", "/api/v10/gateway/bot") in paths
        synced = [r.payload for r in fake_discord.requests if r.method == "PUT"]
        assert {c["name"] for c in synced[0]} >= {"subscribe", "summarize", "set", "digest"}

        fake_discord.dispatch("INTERACTION_CREATE", dm_command("subscribe", topics="cs.CV"))
        wait_for(lambda: callbacks(fake_discord), "the answer to /subscribe")
        (answer,) = callbacks(fake_discord)
        assert answer.path == "/api/v10/interactions/9001/interaction-token/callback"
        assert answer.payload["data"]["content"].startswith("Following cs.CV")
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert BOT_TOKEN not in out + err
    with sqlite3.connect(tmp_path / "cli.db") as db:
        assert db.execute(
            "SELECT c.platform, c.chat_id, c.kind, s.topic FROM chats c "
            "JOIN subscriptions s ON s.chat = c.id"
        ).fetchall() == [("discord", "5005", "private", "cs.CV")]


def test_refused_token_exits_2(cli_env: dict[str, str], fake_discord: FakeDiscord) -> None:
    env = {
        **cli_env,
        "DISCORD_BOT_TOKEN": "a-wrong-token-42",
        "DISCORD_API_URL": fake_discord.api_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().endswith("paperbot: DISCORD_BOT_TOKEN was refused by Discord")
    assert "a-wrong-token-42" not in result.stderr


def test_poll_once_posts_to_bot_channels_without_the_gateway(
    run_cli: RunCli,
    cli_env: dict[str, str],
    fake_discord: FakeDiscord,
    fake_arxiv: FakeArxiv,
    tmp_path: Path,
) -> None:
    assert run_cli("shell", stdin="/subscribe cs.CV\n").returncode == 0
    with sqlite3.connect(tmp_path / "cli.db") as db:  # the shell chat becomes a Discord channel
        db.execute("UPDATE chats SET platform = 'discord', chat_id = '5006', kind = 'group'")
    fake_arxiv.feeds["cs.CV"] = [make_paper(1, title="Splats in the wild")]
    env = {"DISCORD_BOT_TOKEN": BOT_TOKEN, "DISCORD_API_URL": fake_discord.api_url}
    result = run_cli("poll", "--once", extra_env=env)
    assert result.returncode == 0, result.stderr
    (post,) = [r for r in fake_discord.requests if r.path == "/api/v10/channels/5006/messages"]
    assert post.payload["embeds"][0]["title"] == "Splats in the wild"
    assert fake_discord.identify is None
    assert BOT_TOKEN not in result.stdout + result.stderr
