"""A paper's text as one vector: WordLlama embedding beside TF-IDF terms, centered.

The two parts are weighted so that a dot product of two rows is
`EMBEDDING_SHARE` × embedding cosine + the rest × TF-IDF cosine (the mix the
benchmark chose); the corpus mean is then subtracted, so that an unrelated
paper is near 0 and similarities are comparable between chats.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import numpy as np

from bot.models import Paper
from bot.relevance.embedding import Embedder
from bot.relevance.lexical import Lexicon, fit_vocabulary

EMBEDDING_SHARE = 0.3
VOCABULARY_SIZE = 4096
MODEL_FILE = "model.npz"
BATCH = 128


def paper_text(paper: Paper) -> str:
    return f"{paper.title}. {paper.abstract}"


class Featurizer:
    """Texts to unit-length rows; build once (it loads ~35 MB) and share."""

    def __init__(self, vocabulary: dict[str, float], mean: np.ndarray | None = None) -> None:
        self.embedder = Embedder()
        self.lexicon = Lexicon(vocabulary)
        self.mean = np.zeros(self.size, dtype=np.float32) if mean is None else mean

    @property
    def size(self) -> int:
        return self.embedder.size + self.lexicon.size

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text; a text with no known word gives a zero row."""
        rows = np.empty((len(texts), self.size), dtype=np.float32)
        for start in range(0, len(texts), BATCH):
            raw = self._uncentered(texts[start : start + BATCH])
            known = np.any(raw != 0, axis=1, keepdims=True)
            centered = np.where(known, raw - self.mean, 0)
            norms = np.linalg.norm(centered, axis=1, keepdims=True)
            rows[start : start + BATCH] = centered / np.maximum(norms, 1e-12)
        return rows

    def paper_vectors(self, papers: Sequence[Paper]) -> np.ndarray:
        return self.vectors([paper_text(p) for p in papers])

    def embeddings(self, vectors: np.ndarray) -> np.ndarray:
        """The embedding part of rows made by `vectors` (for "what is it like" neighbours)."""
        return vectors[:, : self.embedder.size]

    def _uncentered(self, texts: Sequence[str]) -> np.ndarray:
        dense = self.embedder.vectors(texts) * np.float32(np.sqrt(EMBEDDING_SHARE))
        words = self.lexicon.vectors(texts) * np.float32(np.sqrt(1 - EMBEDDING_SHARE))
        return np.hstack([dense, words])

    def save(self, path: Path) -> None:
        vocabulary = dict(zip(self.lexicon.index, self.lexicon.idf.tolist(), strict=True))
        np.savez_compressed(
            path,
            terms=np.array(list(vocabulary)),
            idf=self.lexicon.idf,
            mean=self.mean.astype(np.float32),
        )


def fit_featurizer(papers: Sequence[Paper]) -> Featurizer:
    """A featurizer whose vocabulary and mean come from `papers` (a corpus of papers).

    Each paper's field is its primary category, so the vocabulary has the words
    of every category, not only of the biggest (see `fit_vocabulary`).
    """
    texts = [paper_text(p) for p in papers]
    documents = zip([p.primary_category for p in papers], texts, strict=True)
    unfitted = Featurizer(fit_vocabulary(documents, VOCABULARY_SIZE))
    total = np.zeros(unfitted.size, dtype=np.float64)
    for start in range(0, len(texts), BATCH):
        total += unfitted._uncentered(texts[start : start + BATCH]).sum(axis=0)
    unfitted.mean = (total / max(len(texts), 1)).astype(np.float32)
    return unfitted


def load_featurizer(path: Path) -> Featurizer:
    with np.load(path, allow_pickle=False) as model:
        vocabulary = dict(zip(model["terms"].tolist(), model["idf"].tolist(), strict=True))
        return Featurizer(vocabulary, model["mean"])


@lru_cache(maxsize=1)
def default_featurizer() -> Featurizer:
    """The featurizer that ships with paperbot (fitted on real arXiv abstracts, CC0)."""
    return load_featurizer(Path(str(files("bot.relevance") / MODEL_FILE)))
