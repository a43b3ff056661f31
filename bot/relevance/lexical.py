"""Word features of a text: TF-IDF over 1–2-word terms with sublinear tf, as arxiv-sanity-lite.

The vocabulary (terms and their idf) is fitted once on a corpus of arXiv
abstracts, with room for the words of every field of it, and ships with the
package; terms outside it are ignored.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from bot.topics import fold

_WORD = re.compile(r"\b[a-z_][a-z0-9_]+\b")


def terms(text: str) -> Counter[str]:
    """Counts of the words and two-word terms of `text`, lowercase and without accents."""
    words = _WORD.findall(fold(text))
    return Counter(words + [f"{a} {b}" for a, b in itertools.pairwise(words)])


def fit_vocabulary(
    documents: Iterable[tuple[str, str]],
    size: int,
    min_df: int = 5,
    max_df: float = 0.1,
    field_prior: int = 100,
) -> dict[str, float]:
    """The `size` terms most frequent in some field of `documents` and their idf.

    `documents` are (field, text) pairs, e.g. (primary category, title and
    abstract). A term's rank is its highest share of a field's texts,
    df in the field / (texts of the field + `field_prior`): every field gets
    its own words, however few its texts beside the biggest field's, and the
    prior keeps a field of a handful of texts from filling the vocabulary with
    the words of those texts. Terms in fewer than `min_df` texts or in more
    than `max_df` of all texts are left out; idf is over all texts, smoothed as
    scikit-learn's: ln((1 + n) / (1 + df)) + 1.
    """
    df: Counter[str] = Counter()
    field_df: dict[str, Counter[str]] = defaultdict(Counter)
    field_texts: Counter[str] = Counter()
    for field, text in documents:
        found = terms(text).keys()
        df.update(found)
        field_df[field].update(found)
        field_texts[field] += 1
    n = field_texts.total()
    share: dict[str, float] = {}
    for field, counts in field_df.items():
        for term, count in counts.items():
            if min_df <= df[term] <= max_df * n:
                share[term] = max(share.get(term, 0.0), count / (field_texts[field] + field_prior))
    kept = sorted(share, key=lambda term: (-share[term], term))[:size]
    return {term: math.log((1 + n) / (1 + df[term])) + 1 for term in kept}


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
