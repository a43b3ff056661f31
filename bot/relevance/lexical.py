"""Word features of a text: TF-IDF over 1–2-word terms with sublinear tf, as arxiv-sanity-lite.

The vocabulary (terms and their idf) is fitted once on a corpus of arXiv
abstracts and ships with the package; terms outside it are ignored.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from bot.topics import fold

_WORD = re.compile(r"\b[a-z_][a-z0-9_]+\b")


def terms(text: str) -> Counter[str]:
    """Counts of the words and two-word terms of `text`, lowercase and without accents."""
    words = _WORD.findall(fold(text))
    return Counter(words + [f"{a} {b}" for a, b in itertools.pairwise(words)])


def fit_vocabulary(
    texts: Iterable[str], size: int, min_df: int = 5, max_df: float = 0.1
) -> dict[str, float]:
    """The `size` most frequent terms of `texts` (by document frequency) and their idf.

    Terms in fewer than `min_df` texts or in more than `max_df` of them are left
    out; idf is smoothed as scikit-learn's: ln((1 + n) / (1 + df)) + 1.
    """
    df: Counter[str] = Counter()
    n = 0
    for text in texts:
        df.update(terms(text).keys())
        n += 1
    kept = [(count, term) for term, count in df.items() if min_df <= count <= max_df * n]
    kept.sort(key=lambda pair: (-pair[0], pair[1]))
    return {term: math.log((1 + n) / (1 + count)) + 1 for count, term in kept[:size]}


class Lexicon:
    """Turns texts into L2-normalized TF-IDF rows over a fixed vocabulary."""

    def __init__(self, vocabulary: dict[str, float]) -> None:
        self.index = {term: i for i, term in enumerate(vocabulary)}
        self.idf = np.fromiter(vocabulary.values(), dtype=np.float32, count=len(vocabulary))

    @property
    def size(self) -> int:
        return len(self.index)

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.size), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            for term, count in terms(text).items():
                column = self.index.get(term)
                if column is not None:
                    row[column] = (1 + math.log(count)) * self.idf[column]
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.maximum(norms, 1e-12)
