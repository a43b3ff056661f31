"""The platform-neutral command layer: what a user types and what they read back."""

import pytest

from bot.app import App
from bot.chats import ChatRef
from bot.command_table import Command, Reply, parse_command
from bot.commands import ADMIN_ONLY, COMMANDS, CommandLayer, help_for, knows, menu_for
from storage.chats import ChatRows
from storage.database import Store
from tests.fake_arxiv import FakeArxiv, Scripted, make_paper
from tests.test_service import RecordingPlatform

PRIVATE = ChatRef("test", "42", "private")
GROUP = ChatRef("test", "-100", "group", "Lab")


@pytest.fixture
def layer(app: App) -> CommandLayer:
    return CommandLayer(app)


async def say(
    layer: CommandLayer,
    text: str,
    chat: ChatRef = PRIVATE,
    admin: bool = False,
    platform: RecordingPlatform | None = None,
) -> list[Reply]:
    parsed = parse_command(text, "paperbot")
    assert parsed is not None, text
    command = Command(chat=chat, user_id="7", name=parsed[0], args=parsed[1], user_is_admin=admin)
    return await layer.handle(command, platform or RecordingPlatform())


async def text_of(layer: CommandLayer, message: str, **kwargs) -> str:
    return "\n".join(r.text for r in await say(layer, message, **kwargs))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", ("start", "")),
        ("/subscribe@paperbot cs.CV", ("subscribe", "cs.CV")),
        ("/SUBSCRIBE  NeRF ; cs.GR ", ("subscribe", "NeRF ; cs.GR")),
        ("/summarize@otherbot 2404.00409", None),
        ("hello", None),
        ("/ start", None),
    ],
)
def test_parse_command(text: str, expected) -> None:
    assert parse_command(text, "paperbot") == expected


async def test_subscribe_list_unsubscribe(layer: CommandLayer, store: Store) -> None:
    reply = await text_of(layer, "/subscribe NeRF; cs.cv;  nerf ")
    assert "Following nerf" in reply and "Following cs.CV" in reply
    assert "Already following nerf" in await text_of(layer, "/subscribe NeRF")
    listing = await text_of(layer, "/list")
    assert "• nerf" in listing and "• cs.CV" in listing and "mode instant" in listing
    assert "Stopped following cs.CV" in await text_of(layer, "/unsubscribe CS.CV")
    assert "Not followed here: au:x" in await text_of(layer, "/unsubscribe au:x")
    assert "Stopped following 1 topics" in await text_of(layer, "/unsubscribe all")
    assert store.rows(ChatRows).active_subscriptions() == []


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        ("/subscribe", "Give a topic"),
        ("/subscribe cs.CVV", "did you mean cs.CV"),
        ("/subscribe " + "x" * 300, "topic too long"),
        ("/subscribe <b>x</b>", "may contain letters"),
        ("/unsubscribe", "Give a topic"),
        ("/summarize", "Give an arXiv id"),
        ("/summarize 12345", "Not an arXiv id or URL"),
        ("/summarize 2404.99999", "No arXiv paper 2404.99999"),
        ("/set", "Usage: /set"),
        ("/set colour red", "unknown setting 'colour'"),
        ("/set time 25:00", "time is HH:MM"),
        ("/set timezone Mars/Base", "IANA name"),
        ("/set max 0", "from 1 to 50"),
        ("/set mode weekly", "mode is daily"),
        ("/set figures maybe", "figures is on or off"),
        ("/frobnicate", "Unknown command /frobnicate"),
        ("/subscribe " + "a" * 5000, "too long"),
        ("/digest", "No new papers"),
    ],
)
async def test_bad_input_gets_a_short_reply(layer: CommandLayer, message: str, reply: str) -> None:
    replies = await say(layer, message)
    text = "\n".join(r.text for r in replies)
    assert reply in text
    assert len(text) < 300
    assert all(r.problem for r in replies) == (message != "/digest")


async def test_good_input_is_not_a_problem(layer: CommandLayer) -> None:
    for message in ("/subscribe cs.CV", "/list", "/set mode daily", "/help"):
        assert not any(r.problem for r in await say(layer, message))


async def test_settings_change(layer: CommandLayer, store: Store) -> None:
    reply = await text_of(layer, "/set timezone asia/shanghai")
    assert "timezone Asia/Shanghai" in reply
    await say(layer, "/set time 7:05")
    await say(layer, "/set language 中文")
    await say(layer, "/set figures off")
    settings = await text_of(layer, "/settings")
    for line in ("time 07:05", "language zh", "figures off", "timezone Asia/Shanghai"):
        assert line in settings
    row = store.rows(ChatRows).chat("test", "42")
    assert (row["digest_time"], row["language"], row["figures"]) == ("07:05", "zh", 0)


async def test_only_admins_change_groups(layer: CommandLayer, store: Store) -> None:
    refused = await text_of(layer, "/subscribe cs.CV", chat=GROUP)
    assert "Only administrators" in refused
    assert "Only administrators" in await text_of(layer, "/set mode daily", chat=GROUP)
    assert "Topics" in await text_of(layer, "/list", chat=GROUP)
    assert "Following cs.CV" in await text_of(layer, "/subscribe cs.CV", chat=GROUP, admin=True)
    assert [r["topic"] for r in store.rows(ChatRows).active_subscriptions()] == ["cs.CV"]


async def test_global_admin_ids(app: App, store: Store) -> None:
    from dataclasses import replace

    app.settings = replace(app.settings, admin_ids=frozenset({"7"}))
    layer = CommandLayer(app)
    assert "Following cs.CV" in await text_of(layer, "/subscribe cs.CV", chat=GROUP)


async def test_summarize_returns_a_card(layer: CommandLayer, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.papers = [make_paper(409, title="Splatting <everything> & more")]
    for form in ("2511.00409", "arXiv:2511.00409v1", "https://arxiv.org/pdf/2511.00409v1.pdf"):
        (reply,) = await say(layer, f"/summarize {form}")
        assert reply.card is not None
        assert reply.card.paper.title == "Splatting <everything> & more"


async def test_arxiv_down_is_a_reply_not_a_crash(
    layer: CommandLayer, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.api_script.extend([Scripted(503)] * 3)
    assert "arXiv is not answering" in await text_of(layer, "/summarize 2404.00409")


async def test_digest_command_sends_pending(layer: CommandLayer, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.feeds["cs.CV"] = [make_paper(1), make_paper(2)]
    await say(layer, "/subscribe cs.CV")
    await say(layer, "/set mode daily")
    await layer.app.polling.poll()
    platform = RecordingPlatform()
    assert await say(layer, "/digest", platform=platform) == []
    assert platform.digests == [("42", ["2511.00001", "2511.00002"])]
    assert "No new papers" in await text_of(layer, "/digest", platform=platform)


async def test_unexpected_error_is_logged_not_raised(
    layer: CommandLayer, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args, **kwargs):
        raise RuntimeError("database exploded")

    layer.app.chats.topics = broken  # type: ignore[method-assign]
    assert "Something went wrong" in await text_of(layer, "/list")
    assert "database exploded" in caplog.text


async def test_only_channel_admins_make_the_bot_post_there(layer: CommandLayer) -> None:
    channel = ChatRef("test", "-1001", "channel", "News")
    for message in ("/digest", "/summarize 2404.00409"):
        assert "Only administrators of this channel" in await text_of(layer, message, chat=channel)
    assert "No new papers" in await text_of(layer, "/digest", chat=channel, admin=True)


async def test_replies_follow_the_chats_language(layer: CommandLayer) -> None:
    assert "语言" not in await text_of(layer, "/set language zh")
    assert await text_of(layer, "/subscribe cs.CV") == "已关注 cs.CV\n新论文公布后即时送达。"
    assert await text_of(layer, "/weather") == "未知命令 /weather。发送 /help 查看命令列表。"
    (problem,) = await say(layer, "/subscribe cs.NOPE")
    assert problem.problem and problem.text.startswith("未订阅：")
    help_text = await text_of(layer, "/help")
    assert help_text.startswith("paperbot 为本聊天跟踪 arXiv") and "关注主题" in help_text
    await text_of(layer, "/set language de")  # a language without replies of its own
    assert await text_of(layer, "/subscribe nerf") == (
        "Following nerf\nNew papers arrive as they are announced."
    )


async def test_a_refusal_is_in_the_groups_language(layer: CommandLayer) -> None:
    await say(layer, "/set language zh", chat=GROUP, admin=True)
    assert await text_of(layer, "/subscribe cs.CV", chat=GROUP) == (
        "只有本聊天的管理员可以修改主题或设置。"
    )


def test_help_menus_and_permissions_come_from_the_command_table() -> None:
    listed = [name for name, _ in menu_for("en")]
    assert listed[0] == "subscribe" and "start" not in listed and listed[-1] == "help"
    assert [name for name, _ in menu_for("zh")] == listed
    assert menu_for("zh")[0][1].startswith("关注主题")
    help_text = help_for("en")
    for spec in COMMANDS:
        assert (f"/{spec.name}" in help_text) == (spec.menu and spec.name != "help")
    assert {"subscribe", "unsubscribe", "set", "mute", "unmute", "interests"} == ADMIN_ONLY
    assert all(knows(spec.name) for spec in COMMANDS) and not knows("weather")


async def test_open_paper_reads_what_is_stored(layer: CommandLayer, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.papers = [make_paper(409)]
    await say(layer, "/summarize 2511.00409")
    asked = len(fake_arxiv.requests)
    reply = await layer.open_paper(PRIVATE, "2511.00409", None, figures=False)
    assert reply.card is not None and reply.card.paper.id == "2511.00409"
    assert len(fake_arxiv.requests) == asked  # no arXiv request for a stored paper
    await say(layer, "/set language zh")
    gone = await layer.open_paper(PRIVATE, "not-an-id", None, figures=False)
    assert gone.problem and gone.text == "这篇论文已无法获取。"
