"""Each chat's relevance: its 👍 / 👎, mutes and /interests, and the scores of its papers.

The pure model is `bot.relevance`; this service keeps what it needs in the store
and in memory: a chat's profile (from its votes, its /interests and, once it liked a
paper, the latest `SHOWN` papers sent to it) is built when first needed and dropped
when its votes or interests change; a paper is featurized once while it is among the
`VECTOR_CACHE` most recently ranked (a row is ~9 KB in float16). A chat without votes or
interests needs no text features at all: its topics alone score its papers, and
the model is not even loaded.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import cast

import numpy as np

from bot.clock import Clock
from bot.messages import say
from bot.models import Chat, Paper
from bot.relevance import (
    Featurizer,
    Profile,
    Ranking,
    Reader,
    Score,
    build_profile,
    parse_mute,
    rank,
)
from bot.relevance.profile import SHOWN
from bot.topics import Topic, parse_topic
from storage.chats import ChatRows
from storage.database import Store
from storage.feedback import FeedbackRows
from storage.outbox import SENT, SKIPPED, DeliveryRows
from storage.papers import PaperRows
from storage.rows import iso

VECTOR_CACHE = 1500
PROFILES_AT_ONCE = 100  # chats whose profiles are built together (their papers featurized once)
# stored scores: compact JSON from one encoder (json.dumps with options makes one per call)
SCORE_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)
SHORT_TITLE = 40
LIKE = 1
STATES = {SENT: "sent", SKIPPED: "skipped"}  # anything else queued is still due
DISLIKE = -1


@dataclass(frozen=True)
class Scored:
    """Several chats' papers scored in one ranking: chat id → its row, versioned paper
    id → its column."""

    ranking: Ranking
    rows: dict[int, int]
    columns: dict[str, int]

    def scores(self, chat: Chat, papers: Sequence[Paper]) -> list[Score] | None:
        """The chat's full score of each paper, in order; None unless all were ranked."""
        row = self.rows.get(chat.id)
        columns = [self.columns.get(p.versioned_id) for p in papers]
        if row is None or None in columns:
            return None
        return self.ranking.scores(row, cast(list[int], columns))

    def value(self, chat: Chat, paper: Paper) -> tuple[float, bool]:
        """The chat's score of a paper it was ranked with, and whether a mute caught it."""
        row, column = self.rows[chat.id], self.columns[paper.versioned_id]
        return float(self.ranking.values[row, column]), bool(self.ranking.muted[row, column])


@dataclass(frozen=True)
class Judged:
    """A chat's waiting papers scored: those to send (not muted, not below its threshold),
    best first, and every paper's score by id."""

    send: list[Paper]
    scores: dict[str, Score]


class Relevance:
    def __init__(self, store: Store, clock: Clock, featurizer: Callable[[], Featurizer]) -> None:
        self.store = store
        self.clock = clock
        self._featurizer = featurizer
        self._profiles: dict[int, Profile] = {}
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # float16 rows
        self._loading = asyncio.Lock()
        self._featurizing = asyncio.Lock()

    async def vote(self, chat: Chat, user: str, paper: Paper, value: int) -> int | None:
        """One member's 👍 (`LIKE`) or 👎 (`DISLIKE`) of a stored paper, replacing their
        earlier one; returns the earlier value."""
        at = iso(self.clock())
        old = await self.store.call(FeedbackRows.vote, chat.id, user, paper.id, value, at)
        self._profiles.pop(chat.id, None)
        return old

    async def tally(self, chat: Chat, paper: Paper) -> tuple[int, int]:
        """How many members gave the paper 👍 and how many 👎 in the chat."""
        return await self.store.call(FeedbackRows.tally, chat.id, paper.id)

    async def mute(self, chat: Chat, mute: Topic) -> bool:
        return await self.store.call(FeedbackRows.mute, chat.id, mute.canonical, iso(self.clock()))

    async def unmute(self, chat: Chat, mute: Topic) -> bool:
        return await self.store.call(FeedbackRows.unmute, chat.id, mute.canonical)

    async def mutes(self, chat: Chat) -> list[str]:
        return await self.store.call(FeedbackRows.mutes_of, chat.id)

    async def set_interests(self, chat: Chat, text: str) -> Chat:
        row = await self.store.call(ChatRows.update_chat, chat.id, {"interests": text})
        self._profiles.pop(chat.id, None)
        return Chat.from_row(row)

    async def score_chats(self, waiting: Sequence[tuple[Chat, Sequence[Paper]]]) -> Scored:
        """Score each chat's papers in one ranking: every paper featurized once, every
        distinct topic and mute decided once per paper, every chat's profile compared in
        one matrix product (a delivery pass, the summary planner)."""
        chats = [chat for chat, _ in waiting]
        papers = list({p.versioned_id: p for _, some in waiting for p in some}.values())
        readers = await self._readers(chats)
        text = any(_compares_text(reader.profile) for reader in readers)
        vectors = await self._paper_vectors(papers, text)
        ranking = await asyncio.to_thread(rank, papers, vectors, readers)
        return Scored(
            ranking,
            {chat.id: row for row, chat in enumerate(chats)},
            {paper.versioned_id: column for column, paper in enumerate(papers)},
        )

    async def scores(self, chat: Chat, papers: Sequence[Paper]) -> list[Score]:
        """The chat's score of each paper, in the given order."""
        if not papers:
            return []
        scored = await self.score_chats([(chat, papers)])
        return scored.scores(chat, papers) or []

    async def judge(
        self,
        chat: Chat,
        papers: Sequence[Paper],
        deliveries: dict[str, int],
        scored: Scored | None = None,
    ) -> Judged:
        """Score a chat's waiting papers (taken from `scored`, the pass's ranking of many
        chats, when it has them all) and store each score with its delivery (`deliveries`:
        paper id → delivery id); muted papers and those below the chat's threshold are
        recorded skipped. Returns what to send, best first."""
        known = scored.scores(chat, papers) if scored is not None else None
        if known is None:
            known = await self.scores(chat, papers)
        scores = dict(zip((p.id for p in papers), known, strict=True))
        ordered = sorted(papers, key=lambda p: -scores[p.id].value)
        send = [p for p in ordered if sendable(chat, scores[p.id].value, scores[p.id].muted)]
        sending = {p.id for p in send}
        skipped = [deliveries[p.id] for p in papers if p.id not in sending]
        rows = [
            (
                deliveries[p.id],
                scores[p.id].value,
                SCORE_JSON.encode(scores[p.id].to_json()),
            )
            for p in papers
        ]
        await self.store.call(DeliveryRows.record_scores, rows, skipped, iso(self.clock()))
        return Judged(send, scores)

    async def why(self, chat: Chat, paper: Paper) -> tuple[Score, str]:
        """The paper's score for the chat (as stored when it was sent or skipped, else
        scored now) and its state here: `sent`, `skipped`, `due` or `new` (never queued)."""
        row = await self.store.call(DeliveryRows.delivery, chat.id, paper.id)
        status = "new" if row is None else STATES.get(row["status"], "due")
        if row is not None and row["score_json"]:
            return await self._titled(Score.from_json(json.loads(row["score_json"]))), status
        (score,) = await self.scores(chat, [paper])
        return score, status

    async def _titled(self, score: Score) -> Score:
        """A stored score with the titles of the liked papers it names (kept once, with
        the papers, not in every score)."""
        ids = [liked for liked, title, _ in score.like if not title]
        if not ids:
            return score
        titles = {r["id"]: r["title"] for r in await self.store.call(PaperRows.papers, ids)}
        like = tuple((i, t or titles.get(i, ""), s) for i, t, s in score.like)
        return replace(score, like=like)

    async def _readers(self, chats: Sequence[Chat]) -> list[Reader]:
        ids = [chat.id for chat in chats]
        topics = await self.store.call(ChatRows.topics_of_chats, ids)
        mutes = await self.store.call(FeedbackRows.mutes_of_chats, ids)
        # a snapshot: a vote while profiles are built drops the cached one, not this one
        profiles = {c.id: self._profiles[c.id] for c in chats if c.id in self._profiles}
        unknown = [chat for chat in chats if chat.id not in profiles]
        for start in range(0, len(unknown), PROFILES_AT_ONCE):
            profiles.update(await self._build_profiles(unknown[start : start + PROFILES_AT_ONCE]))
        return [
            Reader(
                [parse_topic(t) for t in topics.get(chat.id, [])],
                [parse_mute(m) for m in mutes.get(chat.id, [])],
                profiles[chat.id],
            )
            for chat in chats
        ]

    async def _build_profiles(self, chats: Sequence[Chat]) -> dict[int, Profile]:
        """The profiles of these chats (also kept for later), the papers they voted on
        (and were shown) featurized once for all of them."""
        built: dict[int, Profile] = {}
        examples: list[Examples] = []
        for chat in chats:
            voted = await self.store.call(FeedbackRows.voted_papers, chat.id)
            if not voted and not chat.interests:
                built[chat.id] = Profile()
                continue
            liked = [Paper.from_row(r) for r in voted if r["likes"]]
            disliked = [Paper.from_row(r) for r in voted if r["dislikes"]]
            # the papers it was shown only ever expand what it liked
            shown_rows = (
                await self.store.call(DeliveryRows.shown_papers, chat.id, SHOWN) if liked else []
            )
            shown = [Paper.from_row(r) for r in shown_rows]
            examples.append(Examples(chat, liked, disliked, shown))
        if examples:
            papers = list({p.versioned_id: p for e in examples for p in e.papers}.values())
            known = await self._paper_vectors(papers, True)
            vectors = dict(zip((p.id for p in papers), known, strict=True))
            featurizer = await self._model()
            built |= await asyncio.to_thread(_profiles, featurizer, examples, vectors)
        self._profiles.update(built)
        return built

    async def _model(self) -> Featurizer:
        """The featurizer, loaded once (by one caller: others wait instead of loading it too)."""
        async with self._loading:
            return await asyncio.to_thread(self._featurizer)

    async def _paper_vectors(self, papers: Sequence[Paper], text: bool) -> np.ndarray:
        """The papers' rows; none (zero columns) when no profile compares `text`. Papers
        not in the cache are featurized by one caller at a time, so chats due together
        share the work and memory stays flat."""
        if not text:
            return np.zeros((len(papers), 0), dtype=np.float32)
        featurizer = await self._model()
        async with self._featurizing:
            missing = [p for p in papers if p.versioned_id not in self._vectors]
            if missing:
                made = await asyncio.to_thread(featurizer.paper_vectors, missing)
                for paper, row in zip(missing, made, strict=True):
                    self._vectors[paper.versioned_id] = row.astype(np.float16)
            rows = np.empty((len(papers), featurizer.size), dtype=np.float32)
            for index, paper in enumerate(papers):
                self._vectors.move_to_end(paper.versioned_id)
                rows[index] = self._vectors[paper.versioned_id]
            while len(self._vectors) > VECTOR_CACHE:
                self._vectors.popitem(last=False)
        return rows


@dataclass(frozen=True)
class Examples:
    """What a chat's profile is built from: the papers it liked, disliked and was shown."""

    chat: Chat
    liked: list[Paper]
    disliked: list[Paper]
    shown: list[Paper]

    @property
    def papers(self) -> list[Paper]:
        return [*self.liked, *self.disliked, *self.shown]


def _profiles(
    featurizer: Featurizer, examples: Sequence[Examples], vectors: dict[str, np.ndarray]
) -> dict[int, Profile]:
    """Chat id → its profile (run in a worker thread)."""
    return {
        e.chat.id: build_profile(
            featurizer, e.liked, e.disliked, e.chat.interests, vectors, e.shown
        )
        for e in examples
    }


def sendable(chat: Chat, score: float, muted: bool) -> bool:
    """Whether a paper with this score goes to the chat: not muted, not below its threshold."""
    return not muted and (chat.threshold is None or score >= chat.threshold)


def _compares_text(profile: Profile) -> bool:
    return profile.feedback is not None or profile.interests is not None or bool(profile.liked)


def short_title(title: str) -> str:
    """A liked paper named briefly: its title up to a colon ("3DGSR: ..."), at most
    `SHORT_TITLE` characters."""
    name = " ".join(title.split(":", 1)[0].split())
    return name if len(name) <= SHORT_TITLE else name[: SHORT_TITLE - 1].rstrip() + "…"


def why_line(score: Score, language: str) -> str:
    """The card's one line: what it matched and the liked paper it is most like."""
    parts = []
    if score.matched:
        topics = ", ".join(topic for topic, _ in score.matched)
        parts.append(say(language, "why_matched", topics=topics))
    if score.like:
        parts.append(say(language, "why_like", title=short_title(score.like[0][1])))
    return " · ".join(parts)
