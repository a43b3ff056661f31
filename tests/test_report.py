"""The run report: what it says about a day of known rows (CLI and chats, en and zh),
who may ask for it with /report, and the daily report sent once a day at the chat's
time."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.app import App, build_app
from bot.arxiv.client import ArxivClient
from bot.arxiv.source import ArxivSource
from bot.chat_settings import default_chat_settings
from bot.chats import ChatRef
from bot.command_table import Command, Reply, parse_command
from bot.commands import CommandLayer, help_for
from bot.config import Settings
from bot.delivery import ChatUnavailable, DeliveryFailed
from bot.figures import NoFigures
from bot.models import Paper
from bot.report import busiest_minute, render, run_report
from bot.runner import Runner
from bot.summarize.budget import BudgetLimits
from bot.summarize.extractive import ExtractiveSummarizer
from storage.budget import BudgetRows
from storage.chats import ChatRows
from storage.database import Store, open_database, schema_version
from storage.migrations import migrations
from storage.outbox import DeliveryRows
from storage.papers import PaperRows, SummaryRows
from storage.polls import PollRows
from storage.reports import ReportRows
from tests.sim import FakeClock, SimPlatform, Simulation, utc
from tests.sim import platform as platform  # fixture

DAY = date(2026, 11, 16)
LIMITS = BudgetLimits(rpm=10, rpd=250)
OPERATOR = "7"
PRIVATE = ChatRef("test", OPERATOR, "private")
GROUP = ChatRef("test", "-100", "group", "Lab")

EXPECTED = """\
Run report of 2026-11-16 (UTC)
Polls: 2; papers fetched: 120 seen, 100 new; deliveries queued: 20
  00:10  seen 120, new 100, queued 20, arXiv errors 0
  20:10  seen 0, new 0, queued 0, arXiv errors 1
Summaries: by the model 3, extractive 4 (for lack of budget 2)
discord: papers sent 1, skipped 1 (below threshold or muted), failed 0 (given up); chats paused 1
telegram: papers sent 3, skipped 1 (below threshold or muted), failed 1 (given up); chats paused 1
arXiv errors: 1
  cs.CV listing: HTTP 503 after 3 attempts
Papers whose PDF hides text: 1
Model requests: 6 (RPD 250); busiest minute: 4 (RPM 10)
Model paused until 2026-11-17 08:00 UTC (daily quota spent)"""


def at(text: str) -> str:
    """`2026-11-16T08:00` as stored (ISO, UTC)."""
    return utc(text).isoformat()


def paper_row(number: int) -> dict:
    moment = utc("2026-11-15T12:00")
    return Paper(
        f"2511.{number:05d}", 1, f"Paper {number}", ("A B",), "Abstract.", ("cs.CV",), "cs.CV",
        moment, moment,
    ).to_row()  # fmt: skip


def add_chat(store: Store, platform: str, chat_id: str, kind: str = "private") -> int:
    defaults = {
        **default_chat_settings("en"),
        "kind": kind,
        "title": chat_id,
        "created_at": at("2026-11-01T00:00"),
    }
    return store.rows(ChatRows).ensure_chat(platform, chat_id, defaults)["id"]


def pause(store: Store, chat: int, when: str) -> None:
    store.rows(ChatRows).update_chat(chat, {"active": 0, "paused_at": at(when)})


def seed_day(store: Store) -> None:
    """A known day, 2026-11-16, with rows before and after it that the report leaves out."""
    papers, outbox = store.rows(PaperRows), store.rows(DeliveryRows)
    papers.upsert_papers([paper_row(n) for n in range(1, 12)], at("2026-11-15T20:10"))
    telegram = add_chat(store, "telegram", "42")
    telegram_group = add_chat(store, "telegram", "-100", "group")
    discord = add_chat(store, "discord", "777")
    discord_group = add_chat(store, "discord", "555", "group")
    pause(store, telegram_group, "2026-11-16T10:00")
    pause(store, discord_group, "2026-11-14T10:00")  # still paused: counted
    outbox.queue_deliveries(
        [(telegram, f"2511.{n:05d}", "cs.CV") for n in range(1, 8)]
        + [(discord, f"2511.{n:05d}", "cs.CV") for n in (1, 2)]
        + [(telegram_group, "2511.00001", "cs.CV")],
        at("2026-11-15T20:10"),
    )
    ids = {
        (row["chat"], row["paper_id"]): row["id"]
        for chat in (telegram, discord, telegram_group)
        for row in outbox.unsent(chat)
    }

    def of(chat: int, *numbers: int) -> list[int]:
        return [ids[(chat, f"2511.{n:05d}")] for n in numbers]

    outbox.mark_sent(of(telegram, 6), at("2026-11-15T23:00"))  # the day before
    outbox.mark_sent(of(telegram, 1, 2, 3), at("2026-11-16T08:00"))
    outbox.record_scores([], of(telegram, 4), at("2026-11-16T08:00"))
    give_up = at("2026-11-16T10:00"), 1, at("2026-11-16T09:00")  # retry at, after 1, now
    outbox.mark_attempt_failed(of(telegram, 5), "refused", *give_up)
    outbox.mark_sent(of(discord, 1), at("2026-11-16T12:00"))
    outbox.record_scores([], of(discord, 2), at("2026-11-16T12:00"))
    next_day = at("2026-11-17T10:00"), 1, at("2026-11-17T09:00")
    outbox.mark_attempt_failed(of(telegram_group, 1), "refused", *next_day)
    polls = store.rows(PollRows)
    for started, seen, new, queued, errors in (
        ("2026-11-15T20:10", 50, 50, 10, []),
        ("2026-11-16T00:10", 120, 100, 20, []),
        ("2026-11-16T20:10", 0, 0, 0, ["cs.CV listing: HTTP 503 after 3 attempts"]),
    ):
        polls.record_poll(
            {
                "started_at": at(started),
                "finished_at": at(started),
                "rss_requests": 1,
                "api_requests": 0,
                "papers_seen": seen,
                "papers_new": new,
                "deliveries_queued": queued,
                "errors": json.dumps(errors),
                "ok": int(not errors),
            }
        )
    summaries = store.rows(SummaryRows)
    groundings = ["passed", "passed", "repaired", "fallback", "budget", "budget", "extractive"]
    for number, grounding in enumerate(groundings, start=1):
        summaries.save_summary(
            f"2511.{number:05d}", 1, "en", "m", "abstract", {}, at("2026-11-16T07:00"),
            run={"grounding": grounding},
        )  # fmt: skip
    summaries.save_summary("2511.00011", 1, "en", "m", "abstract", {}, at("2026-11-15T07:00"))
    papers.record_hidden_text("2511.00003", 1, at("2026-11-16T08:30"))
    papers.record_hidden_text("2511.00004", 1, at("2026-11-15T08:30"))
    budget = store.rows(BudgetRows)
    for second in ("2026-11-15T23:59:59", "2026-11-16T08:00:00", "2026-11-16T08:00:20",
                   "2026-11-16T08:00:50", "2026-11-16T08:00:59", "2026-11-16T08:01:00",
                   "2026-11-16T09:00:00"):  # fmt: skip
        budget.record_request(at(second))
    budget.pause(at("2026-11-17T08:00"), "quota", at("2026-11-16T09:00"))


async def test_report_of_a_day_of_known_rows(store: Store) -> None:
    seed_day(store)
    report = await run_report(store, LIMITS, DAY, utc("2026-11-20T12:00"))
    assert render(report, "en") == EXPECTED
    chinese = render(report, "zh")
    assert chinese.splitlines()[0] == "2026-11-16（UTC）运行报告"
    assert "telegram：已发送论文 3 篇，跳过 1 篇" in chinese
    assert "模型请求：6 次（RPD 250）；最忙的一分钟：4 次（RPM 10）" in chinese


async def test_today_so_far_and_an_empty_day(store: Store) -> None:
    seed_day(store)
    so_far = await run_report(store, BudgetLimits(), DAY, utc("2026-11-16T08:00:30"))
    text = render(so_far, "en")
    assert text.splitlines()[0] == "Run report of 2026-11-16 (UTC), until 08:00"
    assert "Polls: 1; papers fetched: 120 seen, 100 new" in text
    assert (
        "telegram: papers sent 3, skipped 1 (below threshold or muted), failed 0 (given up); "
        "chats paused 0"
    ) in text
    assert "Model requests: 2 (RPD unlimited); busiest minute: 2 (RPM unlimited)" in text
    assert "Model paused" not in text
    next_day = render(
        await run_report(store, LIMITS, DAY + timedelta(days=1), utc("2026-11-20")), "en"
    )
    assert "Model paused until 2026-11-17 08:00 UTC" in next_day  # the pause ran into it
    empty = render(await run_report(store, LIMITS, date(2026, 10, 1), utc("2026-11-20")), "en")
    assert "Model paused" not in empty
    assert "Polls: 0;" in empty and "Deliveries: none" in empty
    assert "Summaries: by the model 0, extractive 0 (for lack of budget 0)" in empty


def test_busiest_minute() -> None:
    times = [utc("2026-11-16T08:00") + timedelta(seconds=s) for s in (0, 30, 59, 60, 61, 200)]
    assert busiest_minute(times) == 4  # 30, 59, 60 and 61 fall within 60 seconds
    assert busiest_minute([]) == 0


# paperbot report


def test_cli_report_of_a_date(run_cli, cli_env: dict[str, str]) -> None:
    store = Store(cli_env["PAPERBOT_DB"])
    seed_day(store)
    store.close()
    budget = {"PAPERBOT_LLM_RPM": "10", "PAPERBOT_LLM_RPD": "250"}
    result = run_cli("report", "--date", "2026-11-16", extra_env=budget)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    assert result.stdout == EXPECTED + "\n"
    today = run_cli("report", extra_env={"PAPERBOT_LANGUAGE": "zh"})
    assert today.returncode == 0
    assert today.stdout.startswith(f"{datetime.now(UTC).date()}（UTC）运行报告，截至 ")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-13-01", "--date '2026-13-01' is not a date like 2025-10-21"),
        ("yesterday", "--date 'yesterday' is not a date like 2025-10-21"),
        ("2999-01-01", "--date 2999-01-01 is in the future"),
    ],
)
def test_cli_report_bad_date_exits_2(run_cli, value: str, message: str) -> None:
    result = run_cli("report", "--date", value)
    assert result.returncode == 2
    assert result.stderr == f"paperbot: {message}\n"
    assert result.stdout == ""


# /report


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The operator is user 7 (PAPERBOT_ADMIN_IDS=7)."""
    return replace(settings, admin_ids=frozenset({OPERATOR}))


@pytest.fixture
def layer(app: App) -> CommandLayer:
    return CommandLayer(app)


async def say(
    layer: CommandLayer, text: str, platform: SimPlatform, chat: ChatRef = PRIVATE, **kw: str
) -> list[Reply]:
    parsed = parse_command(text)
    assert parsed is not None
    user = kw.get("user", OPERATOR)
    command = Command(chat, user, parsed[0], parsed[1], user_is_admin=True)
    return await layer.handle(command, platform)


def report_of(store: Store, ref: ChatRef) -> str | None:
    row = store.rows(ChatRows).chat(ref.platform, ref.chat_id)
    return None if row is None else row["report_admin"]


async def test_operator_turns_the_daily_report_on_and_off(
    layer: CommandLayer, store: Store, clock: FakeClock, platform: SimPlatform
) -> None:
    clock.now = utc("2026-11-16T09:30")
    (reply,) = await say(layer, "/report", platform)
    assert not reply.problem
    assert reply.text.splitlines()[0] == "Run report of 2026-11-16 (UTC), until 09:30"
    (on,) = await say(layer, "/report on", platform)
    assert on.text == (
        "Daily run report on: it arrives here every day at 08:00 (UTC), covering the "
        "previous day (UTC). /report off stops it."
    )
    assert report_of(store, PRIVATE) == OPERATOR
    (off,) = await say(layer, "/report OFF", platform)
    assert (off.text, report_of(store, PRIVATE)) == ("Daily run report off.", None)
    (bad,) = await say(layer, "/report maybe", platform)
    assert bad.problem and bad.text.startswith("Usage: /report on (daily), /report off")
    assert report_of(store, PRIVATE) is None


async def test_report_replies_in_the_chat_language(
    layer: CommandLayer, store: Store, platform: SimPlatform
) -> None:
    await say(layer, "/set language zh", platform)
    (on,) = await say(layer, "/report on", platform)
    assert on.text.startswith("每日运行报告已开启：每天 08:00（UTC）")
    (now,) = await say(layer, "/report", platform)
    assert "运行报告，截至" in now.text.splitlines()[0]


@pytest.mark.parametrize(
    ("chat", "user"),
    [(PRIVATE, "8"), (GROUP, OPERATOR), (ChatRef("test", "-5", "channel", "News"), OPERATOR)],
)
async def test_only_operators_in_a_private_chat_may_ask(
    layer: CommandLayer, store: Store, platform: SimPlatform, chat: ChatRef, user: str
) -> None:
    for text in ("/report", "/report on"):
        (reply,) = await say(layer, text, platform, chat, user=user)
        assert reply.problem
        assert reply.text == (
            "Only the bot's operators (PAPERBOT_ADMIN_IDS) can use /report, in a private "
            "chat with the bot."
        )
    assert store.rows(ChatRows).chat(chat.platform, chat.chat_id) is None  # nothing stored
    assert platform.texts == []


def test_report_is_in_help_and_menus() -> None:
    assert "/report on | off - Operators: the daily run report on or off" in help_for("en")
    assert "/report on | off - 运营者：开启或关闭每日运行报告" in help_for("zh")


# the daily report


def runner_for(app: App, platform: SimPlatform) -> Runner:
    return Runner(app, {"test": platform}, 6 * 3600, tick=600)


async def operator_chat(layer: CommandLayer, platform: SimPlatform, *settings: str) -> None:
    for text in (*settings, "/report on"):
        await say(layer, text, platform)


async def test_daily_report_once_a_day_at_the_chats_time(
    layer: CommandLayer, app: App, clock: FakeClock, platform: SimPlatform
) -> None:
    clock.now = utc("2026-11-16T09:00")
    await operator_chat(layer, platform, "/set timezone Asia/Shanghai", "/set time 07:30")
    sim = Simulation(runner_for(app, platform), clock)
    await sim.run_until(utc("2026-11-19T12:00"))
    # 07:30 in Shanghai is 23:30 UTC: the last whole UTC day before it is two days back
    assert [(when, chat) for when, chat, _ in platform.texts] == [
        (utc("2026-11-16T23:30"), OPERATOR),
        (utc("2026-11-17T23:30"), OPERATOR),
        (utc("2026-11-18T23:30"), OPERATOR),
    ]
    titles = [text.splitlines()[0] for _, _, text in platform.texts]
    assert titles == [f"Run report of 2026-11-{day} (UTC)" for day in (15, 16, 17)]


async def test_a_restart_or_downtime_sends_no_report_twice(
    layer: CommandLayer, app: App, clock: FakeClock, platform: SimPlatform
) -> None:
    clock.now = utc("2026-11-16T06:00")
    await operator_chat(layer, platform)
    await Simulation(runner_for(app, platform), clock).run_until(utc("2026-11-16T09:00"))
    assert [when for when, _, _ in platform.texts] == [utc("2026-11-16T08:00")]
    restarted = runner_for(app, platform)  # a new runner on the same database
    await restarted.tick()
    assert len(platform.texts) == 1
    clock.now = utc("2026-11-19T15:00")  # down for three days
    await restarted.tick()
    await restarted.tick()
    assert [text.splitlines()[0] for _, _, text in platform.texts][1:] == [
        "Run report of 2026-11-18 (UTC)"
    ]


async def test_failed_report_is_tried_again_and_a_gone_chat_is_paused(
    layer: CommandLayer, app: App, store: Store, clock: FakeClock, platform: SimPlatform
) -> None:
    clock.now = utc("2026-11-16T06:00")
    await operator_chat(layer, platform)
    clock.now = utc("2026-11-16T08:00")
    platform.failures = [DeliveryFailed("503")]
    runner = runner_for(app, platform)
    await runner.tick()
    assert platform.texts == []
    clock.now += timedelta(minutes=1)
    await runner.tick()
    assert len(platform.texts) == 1
    clock.now = utc("2026-11-17T08:00")
    platform.failures = [ChatUnavailable("blocked")]
    await runner.tick()
    row = store.rows(ChatRows).chat("test", OPERATOR)
    assert (row["active"], row["paused_reason"]) == (0, "blocked")
    clock.now += timedelta(minutes=1)
    await runner.tick()
    assert len(platform.texts) == 1


async def test_no_report_once_the_user_is_no_operator(
    layer: CommandLayer, app: App, client: ArxivClient, clock: FakeClock, platform: SimPlatform
) -> None:
    clock.now = utc("2026-11-16T06:00")
    await operator_chat(layer, platform)
    clock.now = utc("2026-11-16T08:00")
    restarted = build_app(
        replace(app.settings, admin_ids=frozenset({"8"})), app.store, ArxivSource(client),
        ExtractiveSummarizer(), NoFigures(), clock,
    )  # fmt: skip
    await runner_for(restarted, platform).tick()
    assert platform.texts == []
    await runner_for(app, platform).tick()
    assert len(platform.texts) == 1


def test_upgrade_from_0008_keeps_paused_chats_counted(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = Database(sqlite3.connect(path))
    migrations.apply(old, stop_before="0009_run_report")
    old["chats"].insert(
        {**default_chat_settings("en"), "platform": "telegram", "chat_id": "1",
         "kind": "private", "created_at": at("2026-11-01T00:00"), "active": 0},
    )  # fmt: skip
    old.close()
    db = open_database(path)
    assert schema_version(db)[-1] == "0009_run_report"
    chat = next(db.query("SELECT * FROM chats"))
    assert (chat["report_admin"], chat["report_sent_at"], chat["paused_at"]) == (None,) * 3
    assert ReportRows(db).paused_chats(at("2026-11-16T00:00")) == {"telegram": 1}
    assert ReportRows(db).report_chats() == []
