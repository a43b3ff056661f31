"""Relevance in the bot: /like, /dislike, /mute, /interests, /why, the threshold, and the
outbox sending each chat's papers best first with the why line."""

import asyncio
import json
import re
import threading
from datetime import timedelta

import pytest

from bot.app import App
from bot.chats import ChatRef
from bot.commands import CommandLayer
from bot.models import Paper
from bot.ranking import Relevance
from bot.relevance import Featurizer, default_featurizer
from bot.topics import parse_topic
from storage.chats import ChatRows
from storage.database import Store
from storage.feedback import FeedbackRows
from storage.outbox import DeliveryRows
from storage.papers import PaperRows
from tests.fake_arxiv import FakeArxiv, make_paper
from tests.sim import FakeClock
from tests.test_budget import paper as budget_paper
from tests.test_commands import GROUP, PRIVATE, say, text_of
from tests.test_service import RecordingPlatform


@pytest.fixture
def layer(app: App) -> CommandLayer:
    return CommandLayer(app)


def chat_row(store: Store, ref=PRIVATE) -> dict:
    return store.rows(ChatRows).chat(ref.platform, ref.chat_id)


def votes(store: Store) -> list[tuple]:
    rows = store.rows(FeedbackRows).db.query(
        "SELECT user, paper_id, value FROM votes ORDER BY paper_id"
    )
    return [(r["user"], r["paper_id"], r["value"]) for r in rows]


async def test_like_and_dislike_store_one_vote_per_member(
    layer: CommandLayer, store: Store, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.papers = [make_paper(409, title="Gaussian Splatting for Everyone")]
    reply = await text_of(layer, "/like 2511.00409")
    assert reply == "👍 Noted: Gaussian Splatting for Everyone. Papers like it rank higher here."
    await say(layer, "/like 2511.00409")
    assert votes(store) == [("7", "2511.00409", 1)]
    assert "👎 Noted" in await text_of(layer, "/dislike https://arxiv.org/abs/2511.00409")
    assert votes(store) == [("7", "2511.00409", -1)]
    # a paper never sent to the chat was looked up and stored: an example of what it wants
    assert store.rows(PaperRows).paper("2511.00409")["title"] == "Gaussian Splatting for Everyone"


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        ("/like", "Give an arXiv id or link: /like 2404.00409"),
        ("/dislike 2511.99999", "There is no arXiv paper 2511.99999."),
        ("/like not-an-id", "not-an-id"),
        ("/why", "Give an arXiv id or link: /why 2404.00409"),
        ("/mute", "Give what to mute: /mute diffusion"),
        ("/mute q:ti:nerf", "Not changed: a mute is a keyword phrase"),
        ("/unmute", "Give a mute to remove"),
        ("/interests " + "x" * 1001, "Interests are at most 1000 characters."),
    ],
)
async def test_bad_input_is_a_short_reply_and_stores_nothing(
    layer: CommandLayer, store: Store, fake_arxiv: FakeArxiv, message: str, reply: str
) -> None:
    (answer,) = await say(layer, message)
    assert answer.problem and reply in answer.text
    assert votes(store) == [] and store.rows(FeedbackRows).mutes_of(chat_row(store)["id"]) == []
    assert chat_row(store)["interests"] == ""


async def test_mute_unmute_and_list(layer: CommandLayer, store: Store) -> None:
    await say(layer, "/subscribe cs.CV")
    assert await text_of(layer, "/mute Diffusion") == (
        "Muted diffusion: its papers are never sent here."
    )
    assert await text_of(layer, "/mute diffusion") == "Already muted: diffusion"
    await say(layer, "/mute au:Smith")
    listing = await text_of(layer, "/list")
    assert "Topics:\n• cs.CV\n\nMuted:\n• diffusion\n• au:smith\n\nSettings:" in listing
    assert await text_of(layer, "/unmute diffusion") == "Unmuted diffusion"
    assert await text_of(layer, "/unmute diffusion") == "Not muted here: diffusion"
    assert "Muted:\n• au:smith\n\n" in await text_of(layer, "/list")


async def test_interests_shown_set_and_cleared(layer: CommandLayer, store: Store) -> None:
    assert "No interests set" in await text_of(layer, "/interests")
    saved = await text_of(layer, "/interests  3D reconstruction   from video ")
    assert saved == "Interests saved; new papers are ranked by them too."
    assert chat_row(store)["interests"] == "3D reconstruction from video"
    shown = await text_of(layer, "/interests")
    assert shown.startswith("Interests: 3D reconstruction from video\n")
    assert await text_of(layer, "/interests off") == "Interests cleared."
    assert chat_row(store)["interests"] == ""


async def test_in_groups_members_vote_and_admins_change(
    layer: CommandLayer, store: Store, fake_arxiv: FakeArxiv
) -> None:
    fake_arxiv.papers = [make_paper(409)]
    for message in ("/mute diffusion", "/unmute diffusion", "/interests video", "/set threshold 1"):
        assert "Only administrators" in await text_of(layer, message, chat=GROUP)
    await say(layer, "/interests video", chat=GROUP, admin=True)
    assert "\n\nInterests: video\n\nSettings:" in await text_of(layer, "/list", chat=GROUP)
    assert "👍 Noted" in await text_of(layer, "/like 2511.00409", chat=GROUP)
    assert "Muted diffusion" in await text_of(layer, "/mute diffusion", chat=GROUP, admin=True)


async def test_in_channels_only_admins_vote(layer: CommandLayer, store: Store, fake_arxiv) -> None:
    fake_arxiv.papers = [make_paper(409)]
    channel = GROUP.__class__("test", "-200", "channel", "News")
    reply = await text_of(layer, "/like 2511.00409", chat=channel)
    assert reply == "Only administrators of this channel can vote for it."
    assert votes(store) == []
    assert "👍" in await text_of(layer, "/like 2511.00409", chat=channel, admin=True)


async def test_threshold_setting(layer: CommandLayer, store: Store) -> None:
    assert "threshold 0.4" in await text_of(layer, "/set threshold 0.4")
    assert chat_row(store)["threshold"] == 0.4
    assert "threshold is a score from 0 to 1" in await text_of(layer, "/set threshold 1.5")
    assert "threshold off" in await text_of(layer, "/set threshold OFF")
    assert chat_row(store)["threshold"] is None


async def queue_three(layer: CommandLayer, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.feeds["cs.CV"] = [
        make_paper(1, title="Plain Segmentation"),
        make_paper(2, title="Fast Video Editing"),
        make_paper(3, title="Diffusion Models at Scale"),
    ]
    for message in ("/subscribe cs.CV; video", "/mute diffusion", "/set mode daily"):
        await say(layer, message)
    await layer.app.polling.poll()


async def test_digest_is_scored_best_first_with_why_and_mutes_never_sent(
    layer: CommandLayer, store: Store, fake_arxiv: FakeArxiv
) -> None:
    await queue_three(layer, fake_arxiv)
    platform = RecordingPlatform()
    assert await say(layer, "/digest", platform=platform) == []
    assert platform.digests == [("42", ["2511.00002", "2511.00001"])]
    assert [c.why for c in platform.made] == ["matched: cs.CV, video", "matched: cs.CV"]
    assert [c.score for c in platform.made] == [pytest.approx(0.72), pytest.approx(0.3)]
    chat = chat_row(store)["id"]
    muted = store.rows(DeliveryRows).delivery(chat, "2511.00003")
    assert muted["status"] == "skipped" and muted["score"] == 0
    assert json.loads(muted["score_json"])["muted_by"] == [
        {"mute": "diffusion", "words": "diffusion"}
    ]
    sent = store.rows(DeliveryRows).delivery(chat, "2511.00002")
    assert (sent["status"], sent["score"]) == ("sent", pytest.approx(0.72))
    assert store.rows(DeliveryRows).delivery_counts() == {"sent": 2, "skipped": 1}
    assert "No new papers" in await text_of(layer, "/digest", platform=platform)


async def test_below_threshold_is_skipped_and_why_explains(
    layer: CommandLayer, store: Store, fake_arxiv: FakeArxiv
) -> None:
    await queue_three(layer, fake_arxiv)
    await say(layer, "/set threshold 0.5")
    assert "2511.00001" in await text_of(layer, "/why 2511.00001")
    assert (await text_of(layer, "/why 2511.00001")).endswith("Still due: not sent yet.")
    platform = RecordingPlatform()
    await say(layer, "/digest", platform=platform)
    assert platform.digests == [("42", ["2511.00002"])]
    assert await text_of(layer, "/why 2511.00001") == "\n".join(
        [
            "Why 2511.00001 (Plain Segmentation):",
            "Score 0.30: topics 0.30, feedback —, interests —",
            "Topics matched: cs.CV (cs.CV)",
            "Mutes checked: diffusion",
            "Skipped: below this chat's threshold or muted; not sent.",
        ]
    )
    why = await text_of(layer, "/why 2511.00003")
    assert "Muted by: diffusion (diffusion)" in why and why.endswith("not sent.")
    assert (await text_of(layer, "/why 2511.00002")).endswith("Sent here.")


async def test_instant_cards_pass_the_threshold_in_score_order(
    layer: CommandLayer, store: Store, fake_arxiv: FakeArxiv
) -> None:
    await queue_three(layer, fake_arxiv)
    await say(layer, "/set mode instant")
    await say(layer, "/set threshold 0.3")
    platform = RecordingPlatform()
    await layer.app.outbox.deliver_due({"test": platform})
    assert platform.cards == [("42", "2511.00002"), ("42", "2511.00001")]


async def test_likes_and_interests_rank_and_show_the_liked_paper(
    layer: CommandLayer, store: Store, fake_arxiv: FakeArxiv
) -> None:
    liked = make_paper(
        900,
        title="3DGSR: Surface Reconstruction with Gaussian Splatting",
        abstract="We reconstruct surfaces from multi-view images with 3D Gaussian splatting "
        "and signed distance fields, for accurate geometry and fast rendering.",
    )
    fake_arxiv.papers = [liked]
    await say(layer, "/like 2511.00900")
    fake_arxiv.feeds["cs.CV"] = [
        make_paper(
            1,
            title="Language Models for Legal Text",
            abstract="We study large language models on legal contracts and court rulings.",
        ),
        make_paper(
            2,
            title="Gaussian Splatting Surfaces",
            abstract="Gaussian splatting reconstructs surfaces and geometry from multi-view "
            "images with fast rendering.",
        ),
    ]
    for message in ("/subscribe cs.CV", "/set mode daily"):
        await say(layer, message)
    await layer.app.polling.poll()
    platform = RecordingPlatform()
    await say(layer, "/digest", platform=platform)
    assert platform.digests == [("42", ["2511.00002", "2511.00001"])]
    assert platform.made[0].why == "matched: cs.CV · like: 3DGSR"
    why = await text_of(layer, "/why 2511.00002")
    assert "Closest liked papers: 2511.00900 3DGSR (" in why


async def test_chats_due_together_are_scored_in_one_ranking_as_each_alone(
    layer: CommandLayer, store: Store, fake_arxiv: FakeArxiv, clock: FakeClock
) -> None:
    """A delivery pass ranks every due chat at once; each chat's stored scores, order and
    skips are what scoring that chat alone gives."""
    await queue_three(layer, fake_arxiv)  # private chat: cs.CV; video, mutes diffusion
    fake_arxiv.papers = [make_paper(2, title="Video Segmentation")]
    for message in ("/subscribe cs.CV", "/set mode daily", "/like 2511.00002"):
        await say(layer, message, chat=GROUP, admin=True)
    await say(layer, "/interests video object tracking", chat=GROUP, admin=True)
    await layer.app.polling.poll()
    relevance = layer.app.relevance
    alone = {}
    for ref in (PRIVATE, GROUP):
        chat = await layer.app.chats.chat(ref)
        papers = [Paper.from_row(store.rows(PaperRows).paper(f"2511.0000{n}")) for n in (1, 2, 3)]
        alone[ref.chat_id] = [s.value for s in await relevance.scores(chat, papers)]
    await say(layer, "/set digest_time 00:00", admin=True)
    await say(layer, "/set digest_time 00:00", chat=GROUP, admin=True)
    clock.now += timedelta(hours=25)  # both digests due in one pass
    platform = RecordingPlatform()
    await layer.app.outbox.deliver_due({"test": platform})
    assert sorted(chat for chat, _ in platform.digests) == ["-100", "42"]
    for ref in (PRIVATE, GROUP):
        rows = store.rows(DeliveryRows)
        chat = chat_row(store, ref)["id"]
        stored = [rows.delivery(chat, f"2511.0000{n}")["score"] for n in (1, 2, 3)]
        assert stored == pytest.approx(alone[ref.chat_id], abs=1e-4)
    assert dict(platform.digests)["-100"][0] == "2511.00002"  # liked and about video


def feedback_part(why: str) -> float:
    """The feedback part of a /why answer's score line."""
    return float(re.search(r"feedback (\d\.\d+)", why).group(1))


async def test_papers_sent_without_a_vote_widen_what_a_like_finds(
    layer: CommandLayer, store: Store, fake_arxiv: FakeArxiv
) -> None:
    """The private chat was sent a paper on event cameras for splatting and liked a
    splatting paper; the group liked the same paper but was never sent the other one.
    A new event-camera paper comes out closer to the private chat's taste."""
    fake_arxiv.papers = [
        make_paper(
            900,
            title="3DGSR: Surface Reconstruction with Gaussian Splatting",
            abstract="We reconstruct surfaces from multi-view images with 3D Gaussian "
            "splatting and signed distance fields, for accurate geometry and fast rendering.",
        )
    ]
    fake_arxiv.feeds["cs.CV"] = [
        make_paper(
            1,
            title="Event Cameras Meet Gaussian Splatting",
            abstract="Event cameras record brightness changes asynchronously; we render "
            "Gaussian splatting scenes from event streams under fast motion and low light.",
        )
    ]
    for message in ("/subscribe cs.CV", "/set mode daily"):
        await say(layer, message)
    await layer.app.polling.poll()
    await say(layer, "/digest")
    for message in ("/subscribe cs.CV", "/set mode daily", "/like 2511.00900"):
        await say(layer, message, chat=GROUP, admin=True)
    await say(layer, "/like 2511.00900")
    fake_arxiv.feeds["cs.CV"] = [
        make_paper(
            2,
            title="Tracking with Event Cameras",
            abstract="Event cameras capture fast motion asynchronously with microsecond "
            "latency; we track objects from event streams in low light.",
        )
    ]
    await layer.app.polling.poll()
    sent = feedback_part(await text_of(layer, "/why 2511.00002"))
    never_sent = feedback_part(await text_of(layer, "/why 2511.00002", chat=GROUP))
    assert sent > never_sent + 0.05


async def test_a_vote_while_profiles_are_built_does_not_break_the_pass(
    app: App, store: Store, clock: FakeClock
) -> None:
    gate = threading.Event()

    def slow_model() -> Featurizer:  # the model loads while the other chat votes
        gate.wait(10)
        return default_featurizer()

    relevance = Relevance(store, clock, slow_model)
    papers = [budget_paper(1), budget_paper(2)]
    store.rows(PaperRows).upsert_papers([p.to_row() for p in papers], clock.now.isoformat())
    known = await app.chats.chat(ChatRef("test", "known"))
    await app.chats.subscribe(known, [parse_topic("cs.CV")])
    await relevance.score_chats([(known, papers)])  # its profile is cached (no model needed)
    new = await app.chats.chat(ChatRef("test", "new"))
    await app.chats.subscribe(new, [parse_topic("cs.CV")])
    new = await relevance.set_interests(new, "neural methods")
    scoring = asyncio.create_task(relevance.score_chats([(known, papers), (new, papers)]))
    await asyncio.sleep(0.1)
    await relevance.vote(known, "7", papers[0], 1)  # drops the cached profile mid-pass
    gate.set()
    scored = await scoring
    assert [s.topics for s in scored.scores(known, papers) or []] == [0.3, 0.3]
    assert all(s.interests is not None for s in scored.scores(new, papers) or [])
