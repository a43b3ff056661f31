"""Keywords of an abstract: acronyms with their long forms, and names of methods."""

from __future__ import annotations

import re

from bot.summarize.sentences import split_sentences, word_set

MAX_KEYWORDS = 5


_ACRONYM = re.compile(r"\(([A-Za-z][A-Za-z0-9&\-]{1,11})\)")


_NAME = re.compile(
    r"\b[A-Z][\w'\\-]*(?:\s+(?:of\s+|for\s+|the\s+)?[A-Z][\w'\\-]*)+"
    r"|\b[A-Z][a-z]+(?:-[A-Z][A-Za-z]+)+\b"
    r"|\b(?=\w*[a-z])(?=[A-Z]\w*[A-Z])(?![A-Z]+s\b)[A-Z]\w+\b"
)


_HYPHENATED = re.compile(r"[A-Z][a-z]+(?:-[A-Z][A-Za-z]+)+")


_CAMEL = re.compile(r"(?=\w*[a-z])(?![A-Z]+s$)[A-Z]\w*[A-Z]\w*")


_NAME_STOP = word_set(
    """
    a an the this these that those we our in on at by for to from with as however here some
    many most such its it using based while when although both each all
    """
)


def _long_form(acronym: str, before: str) -> str:
    """The expansion of `acronym` at the end of `before` (Schwartz–Hearst), or ""."""
    words = before.split()
    window = words[-min(len(words), len(acronym) + 5, 2 * len(acronym) + 2) :]
    candidate = " ".join(window)
    letters = [c.lower() for c in acronym if c.isalnum()]
    s_index = len(letters) - 1
    l_index = len(candidate) - 1
    while s_index >= 0:
        char = letters[s_index]
        while l_index >= 0 and (
            candidate[l_index].lower() != char
            or (s_index == 0 and l_index > 0 and candidate[l_index - 1].isalnum())
        ):
            l_index -= 1
        if l_index < 0:
            return ""
        l_index -= 1
        s_index -= 1
    start = candidate.rfind(" ", 0, l_index + 1) + 1
    long_form = candidate[start:].strip(" ,;:")
    if len(long_form.split()) > len(acronym) + 3 or not long_form[:1].isalpha():
        return ""
    return long_form


def extract_keywords(text: str, limit: int = MAX_KEYWORDS) -> list[str]:
    """Distinctive terms of `text`: defined acronyms ("Deep Learning (DL)"), then names.

    Names are runs of capitalized words ("Density Matrix Renormalization Group"),
    hyphenated proper names ("Kibble-Zurek") and CamelCase words ("ChatGPT"),
    most frequent first; the capitalized first word of a sentence is not a name.
    """
    text = " ".join(text.split())
    found: list[str] = []
    acronyms: set[str] = set()
    phrases: list[str] = []  # lowercased long forms and names already kept

    def add(term: str, phrase: str, acronym: str = "") -> None:
        phrase = phrase.lower()
        if acronym:
            if acronym.lower().rstrip("s") in acronyms or phrase in phrases:
                return
            acronyms.add(acronym.lower().rstrip("s"))
        elif any(phrase in other or other in phrase for other in phrases):
            return
        found.append(term)
        phrases.append(phrase)

    for match in _ACRONYM.finditer(text):
        acronym = match.group(1)
        upper = sum(c.isupper() for c in acronym)
        if upper < 2 or 2 * upper < sum(c.isalpha() for c in acronym):
            continue
        long_form = _long_form(acronym, text[: match.start()])
        if long_form:
            add(f"{long_form} ({acronym})", long_form, acronym)
        if len(found) >= limit:
            return found
    counts: dict[str, int] = {}
    for sentence in split_sentences(text):
        for match in _NAME.finditer(sentence):
            words = [w.strip("'’`\"") for w in match.group(0).split()]
            if match.start() == 0:
                words = words[1:]
            while words and words[0].lower() in _NAME_STOP:
                words = words[1:]
            while words and words[-1].lower() in ("of", "for", "the"):
                words = words[:-1]
            name = " ".join(w for w in words if w)
            named = _HYPHENATED.fullmatch(name) or _CAMEL.fullmatch(name)
            single = len(words) == 1 and not named
            if not name or single or not re.search(r"[a-z]", name):
                continue
            counts[name] = counts.get(name, 0) + 1
    for name in sorted(counts, key=lambda n: -counts[n]):
        if len(found) >= limit:
            break
        add(name, name)
    return found
