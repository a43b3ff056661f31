"""Score every (chat, paper) due: a value in [0, 1] and the parts it came from.

value = weighted mean of the parts a chat has: topics (always), feedback
(after a 👍 or 👎), interests (with an /interests text). Cold start is the
topic part alone. A muted paper scores 0 and is never sent.

Ranking many chats at once featurizes each paper once, compares it with
every chat's profile in one matrix product and decides each distinct topic or
mute once per paper; the full `Score` (with the liked papers it is closest to)
is made only for the (chat, paper) pairs asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.models import Paper
from bot.relevance.profile import Profile, unit_rows
from bot.topics import Topic, TopicKind

# how much one matched topic is worth; several combine as independent evidence
TOPIC_WEIGHT = {TopicKind.CATEGORY: 0.3}
NARROW_TOPIC_WEIGHT = 0.6
PART_WEIGHTS = {"topics": 1.0, "feedback": 2.0, "interests": 1.0}
# cosine → [0, 1]: 0 (unrelated) is 0.5, ±0.3 is 0.95 / 0.05
SHARPNESS = 10.0
NEIGHBOURS = 3


@dataclass(frozen=True)
class Reader:
    """What scoring needs of one chat."""

    topics: Sequence[Topic]
    mutes: Sequence[Topic] = ()
    profile: Profile = field(default_factory=Profile)


@dataclass(frozen=True)
class Score:
    """A score with what it came from; `to_json` is what a delivery stores for /why:

    {"score": 0.81, "parts": {"topics": 0.72, "feedback": 0.93, "interests": null},
     "matched": [{"topic": "cs.CV", "words": "cs.CV"}, {"topic": "video", "words": "videos"}],
     "mutes_checked": ["au:smith"], "muted_by": [],
     "like": [{"id": "2510.01234", "similarity": 0.87}, …]}

    A part is null when the chat has none (no votes, no interests); parts are in
    [0, 1] (0.5: unrelated); `like` is the 1–3 liked papers it is closest to (stored
    without their titles, which the papers table has; `from_json` leaves them empty).
    """

    value: float
    topics: float
    feedback: float | None
    interests: float | None
    matched: tuple[tuple[str, str], ...]
    mutes_checked: tuple[str, ...]
    muted_by: tuple[tuple[str, str], ...]
    like: tuple[tuple[str, str, float], ...]

    @property
    def muted(self) -> bool:
        return bool(self.muted_by)

    def to_json(self) -> dict[str, object]:
        return {
            "score": self.value,
            "parts": {
                "topics": self.topics,
                "feedback": self.feedback,
                "interests": self.interests,
            },
            "matched": [{"topic": t, "words": w} for t, w in self.matched],
            "mutes_checked": list(self.mutes_checked),
            "muted_by": [{"mute": m, "words": w} for m, w in self.muted_by],
            "like": [{"id": i, "similarity": s} for i, _, s in self.like],
        }

    @classmethod
    def from_json(cls, data: dict) -> Score:
        parts = data["parts"]
        return cls(
            value=data["score"],
            topics=parts["topics"],
            feedback=parts["feedback"],
            interests=parts["interests"],
            matched=tuple((m["topic"], m["words"]) for m in data["matched"]),
            mutes_checked=tuple(data["mutes_checked"]),
            muted_by=tuple((m["mute"], m["words"]) for m in data["muted_by"]),
            like=tuple((n["id"], n.get("title", ""), n["similarity"]) for n in data["like"]),
        )


def rank(papers: Sequence[Paper], vectors: np.ndarray, readers: Sequence[Reader]) -> Ranking:
    """Score every paper for every reader; `vectors` are the papers' rows, in order."""
    return Ranking(papers, vectors, readers)


def score(paper: Paper, vector: np.ndarray, reader: Reader) -> Score:
    return rank([paper], vector[np.newaxis], [reader]).score(0, 0)


@dataclass
class Ranking:
    """Scores of papers × readers: `values[reader, paper]`, parts, and `Score`s on demand."""

    papers: Sequence[Paper]
    vectors: np.ndarray
    readers: Sequence[Reader]
    matches: dict[Topic, list[str | None]] = field(init=False)
    topics: np.ndarray = field(init=False)
    feedback: np.ndarray = field(init=False)
    interests: np.ndarray = field(init=False)
    muted: np.ndarray = field(init=False)
    values: np.ndarray = field(init=False)
    _embeddings: np.ndarray | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        distinct = {t for r in self.readers for t in (*r.topics, *r.mutes)}
        self.matches = {t: [t.match(p) for p in self.papers] for t in distinct}
        found = {t: np.array([m is not None for m in ms]) for t, ms in self.matches.items()}
        shape = (len(self.readers), len(self.papers))
        self.topics = np.zeros(shape, dtype=np.float32)
        self.muted = np.zeros(shape, dtype=bool)
        for row, reader in enumerate(self.readers):
            # 1 − ∏(1 − weight) over the topics matched: a keyword or author above a
            # category, several above one
            missing = np.ones(len(self.papers), dtype=np.float32)
            for topic in reader.topics:
                missing *= 1 - _weight(topic) * found[topic]
            self.topics[row] = 1 - missing
            for mute in reader.mutes:
                self.muted[row] |= found[mute]
        self.feedback = _similarities(self.vectors, [r.profile.feedback for r in self.readers])
        self.interests = _similarities(self.vectors, [r.profile.interests for r in self.readers])
        total = PART_WEIGHTS["topics"] * self.topics
        weights = np.full(shape, PART_WEIGHTS["topics"], dtype=np.float32)
        for name, part in (("feedback", self.feedback), ("interests", self.interests)):
            present = ~np.isnan(part)
            total += np.where(present, PART_WEIGHTS[name] * part, 0)
            weights += PART_WEIGHTS[name] * present
        self.values = np.where(self.muted, 0, total / weights).astype(np.float32)

    def order(self, reader: int) -> list[int]:
        """Indexes of the papers for this reader, best first (ties in the given order)."""
        return np.argsort(-self.values[reader], kind="stable").tolist()

    def score(self, reader: int, paper: int) -> Score:
        return self.scores(reader, [paper])[0]

    def scores(self, reader: int, papers: Sequence[int]) -> list[Score]:
        """The full `Score` of each of the given papers (indexes) for one reader; the liked
        papers each is closest to come from one matrix product for all of them."""
        chat = self.readers[reader]
        columns = list(papers)
        topics = [(t.canonical, self.matches[t]) for t in chat.topics]
        mutes = [(t.canonical, self.matches[t]) for t in chat.mutes]
        mutes_checked = tuple(name for name, _ in mutes)
        neighbours = self._nearest_liked(columns, chat.profile)
        parts = zip(
            *(_rounded_all(part[reader, columns]) for part in self._parts()),
            neighbours,
            columns,
            strict=True,
        )
        return [
            Score(
                value=value,
                topics=topic,
                feedback=feedback,
                interests=interests,
                matched=_matched(topics, paper),
                mutes_checked=mutes_checked,
                muted_by=_matched(mutes, paper),
                like=like,
            )
            for value, topic, feedback, interests, like, paper in parts
        ]

    def _parts(self) -> tuple[np.ndarray, ...]:
        return self.values, self.topics, self.feedback, self.interests

    def _nearest_liked(
        self, papers: list[int], profile: Profile
    ) -> list[tuple[tuple[str, str, float], ...]]:
        """For each of the papers (indexes), the (id, title, similarity) of the `NEIGHBOURS`
        liked papers it is closest to, closest first."""
        if not profile.liked:
            return [()] * len(papers)
        if self._embeddings is None:  # the papers' unit embeddings, made once for all readers
            self._embeddings = unit_rows(self.vectors[:, : profile.liked_embeddings.shape[1]])
        similarity = self._embeddings[papers] @ profile.liked_embeddings.T
        best = np.argsort(-similarity, axis=1, kind="stable")[:, :NEIGHBOURS]
        nearest = np.round(np.take_along_axis(similarity, best, axis=1).astype(np.float64), 4)
        liked = [(p.id, p.title) for p in profile.liked]
        return [
            tuple((*liked[j], s) for j, s in zip(order, sims, strict=True))
            for order, sims in zip(best.tolist(), nearest.tolist(), strict=True)
        ]


def _weight(topic: Topic) -> float:
    return TOPIC_WEIGHT.get(topic.kind, NARROW_TOPIC_WEIGHT)


def _rounded_all(values: np.ndarray) -> list:
    """Each value to 4 decimals (None for NaN: a part the chat does not have), at once."""
    rounded = np.round(values.astype(np.float64), 4)
    return [None if v != v else v for v in rounded.tolist()]


def _similarities(vectors: np.ndarray, directions: list[np.ndarray | None]) -> np.ndarray:
    """Readers × papers, cosines mapped to [0, 1]; NaN where a reader has no such direction."""
    result = np.full((len(directions), len(vectors)), np.nan, dtype=np.float32)
    present = [i for i, d in enumerate(directions) if d is not None]
    if present:
        cosines = np.stack([directions[i] for i in present]) @ vectors.T
        result[present] = 1 / (1 + np.exp(-SHARPNESS * cosines))
    return result


def _matched(
    topics: Sequence[tuple[str, list[str | None]]], paper: int
) -> tuple[tuple[str, str], ...]:
    """(topic, the words that matched) of the topics that match the paper."""
    return tuple((name, found[paper]) for name, found in topics if found[paper] is not None)
