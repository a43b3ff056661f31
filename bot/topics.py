"""Topics: what a chat follows. Parsing, canonical form and local matching.

Forms (SPEC.md): a category (`cs.CV`, `math`), a keyword phrase (`NeRF`), an
author (`au:Mildenhall`), a raw arXiv query (`q:cat:cs.CV AND abs:"x"`); a
keyword or author may be narrowed with ` in:cs.CV,cs.GR`. The canonical
string is what is stored; `parse_topic(t.canonical) == t` for every topic.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property, lru_cache

from bot.categories import (
    UnknownCategory,
    canonical_category,
    categories_in,
    in_category,
    is_category_like,
)
from bot.models import Paper

MAX_TOPIC_LENGTH = 200
MAX_TOPICS_PER_COMMAND = 20

_IN_CLAUSE = re.compile(r"^(?P<rest>.*?)\s+in:\s*(?P<cats>[\w.\-]+(?:\s*,\s*[\w.\-]+)*)$", re.I)
_PREFIXES = {"q:": "query", "query:": "query", "au:": "author", "author:": "author"}
_PHRASE_OK = re.compile(r"[\w\s\-+.'/&]+")
_QUOTES = "\"'“”‘’「」"


class TopicError(ValueError):
    """The text is not a valid topic; the message says why, for the user."""


class TopicKind(StrEnum):
    CATEGORY = "category"
    KEYWORD = "keyword"
    AUTHOR = "author"
    QUERY = "query"


@dataclass(frozen=True)
class Topic:
    kind: TopicKind
    value: str
    categories: tuple[str, ...] = ()

    @property
    def canonical(self) -> str:
        narrowed = f" in:{','.join(self.categories)}" if self.categories else ""
        prefix = {TopicKind.AUTHOR: "au:", TopicKind.QUERY: "q:"}.get(self.kind, "")
        return f"{prefix}{self.value}{narrowed}"

    def __str__(self) -> str:
        return self.canonical

    @property
    def feeds(self) -> tuple[str, ...]:
        """Category feeds (RSS) that contain every paper of this topic, if any."""
        if self.kind is TopicKind.CATEGORY:
            return (self.value,)
        if self.kind in (TopicKind.KEYWORD, TopicKind.AUTHOR):
            return self.categories
        return ()

    @property
    def api_clause(self) -> str:
        """This topic as an arXiv API search clause (for OR-combined queries)."""
        if self.kind is TopicKind.QUERY:
            return self.value
        if self.kind is TopicKind.CATEGORY:
            return " OR ".join(f"cat:{c}" for c in categories_in(self.value))
        phrase = self.value.replace('"', "")
        if self.kind is TopicKind.AUTHOR:
            clause = f'au:"{phrase}"'
        else:
            clause = f'(ti:"{phrase}" OR abs:"{phrase}")'
        if self.categories:
            cats = " OR ".join(f"cat:{c}" for c in self.categories)
            clause = f"({clause} AND ({cats}))"
        return clause

    def matches(self, paper: Paper) -> bool:
        """Whether `paper` belongs to this topic, decided locally."""
        return self.match(paper) is not None

    def match(self, paper: Paper) -> str | None:
        """What makes `paper` belong to this topic, or None when it does not.

        The words that matched (lowercase, without accents) for a keyword, the
        author's name for an author, the paper's category for a category. A raw
        query is decided by arXiv itself: it is always fetched on its own, so
        every result of its request belongs to it.
        """
        if self.categories and not any(in_category(paper.categories, c) for c in self.categories):
            return None
        if self.kind is TopicKind.CATEGORY:
            return next((c for c in paper.categories if in_category((c,), self.value)), None)
        if self.kind is TopicKind.KEYWORD:
            found = self._search(f"{paper.title}\n{paper.abstract}")
            return " ".join(found.group().split()) if found else None
        if self.kind is TopicKind.AUTHOR:
            # "; " keeps a name from running into the next (a phrase may span spaces)
            if not self._search("; ".join(paper.authors)):
                return None
            return next(name for name in paper.authors if self._search(name))
        return self.value

    def _search(self, text: str) -> re.Match[str] | None:
        folded = fold(text)
        # every word must be in the text: a cheap test that skips most regex searches
        if all(word in folded for word in self._words):
            return self._pattern.search(folded)
        return None

    @cached_property
    def _words(self) -> list[str]:
        return fold(self.value).split()

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        words = self._words
        body = r"[\s\-]+".join(re.escape(w) for w in words)
        plural = "(?:e?s)?" if self.kind is TopicKind.KEYWORD else ""
        # text and words are folded to lowercase already
        return re.compile(rf"(?<!\w){body}{plural}(?!\w)")


def parse_topic(text: str) -> Topic:
    """Parse one topic as a user typed it; raises `TopicError` explaining the problem."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise TopicError("empty topic: give a category (cs.CV), a phrase (NeRF) or au:Name")
    if len(cleaned) > MAX_TOPIC_LENGTH:
        raise TopicError(f"topic too long ({len(cleaned)} characters, at most {MAX_TOPIC_LENGTH})")
    lowered = cleaned.lower()
    for prefix, kind in _PREFIXES.items():
        if lowered.startswith(prefix):
            body = cleaned[len(prefix) :].strip()
            if kind == "query":
                return Topic(TopicKind.QUERY, _check_query(body))
            return _narrowed(TopicKind.AUTHOR, body)
    if " " not in cleaned and is_category_like(cleaned):
        return Topic(TopicKind.CATEGORY, _category(cleaned))
    return _narrowed(TopicKind.KEYWORD, cleaned)


def parse_topics(text: str) -> list[Topic]:
    """Several topics separated by `;`, duplicates removed, order kept."""
    parts = [part for part in text.split(";") if part.strip()]
    if not parts:
        raise TopicError("give at least one topic, e.g. cs.CV or NeRF")
    if len(parts) > MAX_TOPICS_PER_COMMAND:
        raise TopicError(f"at most {MAX_TOPICS_PER_COMMAND} topics at once")
    topics = [parse_topic(part) for part in parts]
    return list(dict.fromkeys(topics))


def _narrowed(kind: TopicKind, text: str) -> Topic:
    categories: tuple[str, ...] = ()
    match = _IN_CLAUSE.match(text)
    if match:
        text = match.group("rest")
        names = [c for c in re.split(r"\s*,\s*", match.group("cats")) if c]
        categories = tuple(sorted({_category(c) for c in names}))
    phrase = text.strip().strip(_QUOTES).strip()
    what = "author name" if kind is TopicKind.AUTHOR else "keyword phrase"
    if not phrase:
        raise TopicError(f"empty {what}")
    if not _PHRASE_OK.fullmatch(phrase) or not any(ch.isalnum() for ch in phrase):
        raise TopicError(
            f"a {what} may contain letters, digits, spaces and - + . ' / & only: {phrase!r}"
        )
    return Topic(kind, " ".join(phrase.casefold().split()), categories)


def _category(text: str) -> str:
    try:
        return canonical_category(text)
    except UnknownCategory as exc:
        raise TopicError(str(exc)) from None


def _check_query(body: str) -> str:
    if not body:
        raise TopicError('empty query: e.g. q:cat:cs.CV AND abs:"radiance field"')
    if body.count('"') % 2:
        raise TopicError("unbalanced quotes in query")
    depth = 0
    for ch in body:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            break
    if depth:
        raise TopicError("unbalanced parentheses in query")
    if any(ch in body for ch in "<>{}"):
        raise TopicError("a query may not contain < > { }")
    return body


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lowercase without accents: `Müller` and `Muller` match each other."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
