"""A chat's taste as vectors: what its 👍 / 👎 point to, and its /interests text.

Built when the chat's feedback or interests change (not at every ranking) and
kept by the caller: feedback is the direction from the papers it disliked to
those it liked (Rocchio: mean of liked − mean of disliked), expanded by the
papers the chat was shown and did not vote on that lie furthest along it
(pseudo-relevance feedback: a reader votes on a few of the papers it wants, and
the ones it read without voting are most likely among those closest to what it
liked), unit length; interests is the vector of its own words.

Shown papers are not negatives: the benchmark (benchmarks/ranking.py) measured
them as weak negatives (Rocchio and a class-weighted ridge model) and both
ranked worse, since the unvoted papers hold many the reader wanted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.models import Paper
from bot.relevance.features import Featurizer

# how many of the latest papers shown to a chat a profile looks at; how many of the unvoted
# ones expand the feedback direction, and their weight beside it
SHOWN = 500
EXPANSION = 30
EXPANSION_WEIGHT = 0.5


@dataclass(frozen=True)
class Liked:
    id: str
    title: str


@dataclass(frozen=True)
class Profile:
    feedback: np.ndarray | None = None
    interests: np.ndarray | None = None
    liked: tuple[Liked, ...] = ()
    liked_embeddings: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))


def build_profile(
    featurizer: Featurizer,
    liked: Sequence[Paper] = (),
    disliked: Sequence[Paper] = (),
    interests: str = "",
    vectors: Mapping[str, np.ndarray] | None = None,
    shown: Sequence[Paper] = (),
) -> Profile:
    """The profile of a chat; `vectors` (paper id → row) saves featurizing known papers again.

    `shown`: papers sent to the chat, latest first (the first `SHOWN` count); with a 👍
    among the votes, the `EXPANSION` unvoted ones furthest along the feedback direction
    join it.
    A paper both liked and disliked (two members of a group) counts once each
    way, so it pulls nowhere. Interests without a letter or digit are no interests.
    """
    known = vectors or {}
    liked_rows = _rows(featurizer, liked, known)
    direction = np.zeros(featurizer.size, dtype=np.float32)
    if len(liked_rows):
        direction += liked_rows.mean(axis=0)
    if disliked:
        direction -= _rows(featurizer, disliked, known).mean(axis=0)
    if liked and _unit(direction) is not None:
        voted = {p.id for p in (*liked, *disliked)}
        unvoted = [p for p in shown[:SHOWN] if p.id not in voted]
        direction = _expanded(direction, _rows(featurizer, unvoted, known))
    worded = any(ch.isalnum() for ch in interests)
    return Profile(
        feedback=_unit(direction),
        interests=_unit(featurizer.vectors([interests])[0]) if worded else None,
        liked=tuple(Liked(p.id, p.title) for p in liked),
        liked_embeddings=unit_rows(featurizer.embeddings(liked_rows)),
    )


def _expanded(direction: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`direction` plus `EXPANSION_WEIGHT` × the mean of the `EXPANSION` rows furthest along it."""
    if not len(rows):
        return direction
    closest = rows[np.argsort(-(rows @ direction), kind="stable")[:EXPANSION]]
    return direction + EXPANSION_WEIGHT * closest.mean(axis=0)


def unit_rows(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


def _rows(
    featurizer: Featurizer, papers: Sequence[Paper], vectors: Mapping[str, np.ndarray]
) -> np.ndarray:
    missing = [p for p in papers if p.id not in vectors]
    made = dict(zip((p.id for p in missing), featurizer.paper_vectors(missing), strict=True))
    rows = [vectors[p.id] if p.id in vectors else made[p.id] for p in papers]
    return np.array(rows, dtype=np.float32).reshape(len(papers), featurizer.size)


def _unit(vector: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(vector))
    return None if norm < 1e-6 else (vector / norm).astype(np.float32)
