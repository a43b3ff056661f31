"""Grounding checks, run on every summary before it is stored.

Each check names the field it found wrong, so a failing summary can be re-asked
with the list of failures and, failing that, repaired part by part:

- `placeholder`: template leftovers (`xxx`, `None`, `N/A`, `TODO`, `{title}`, `Paper_info`).
- `language`: the field, or the summary as a whole (field `summary`), is not written in
  the requested language's script (a share of its letters; languages whose script is not
  known here are not checked).
- `takeaways`: 3–5 of them.
- `tldr`: one sentence, not empty, at most `TLDR_MAX` characters wide (a CJK character
  counts two).
- `duplicate`: two sections, two takeaways or the TL;DR and a takeaway saying the same,
  or a sentence repeated within a field.
- `number`: a number that appears nowhere in the paper's arXiv record or in the text
  the model read (number words such as "three" count as their digits).
- `metadata`: what only arXiv may supply: a link, arXiv id or DOI that the paper does
  not contain, a `Title:`/`Authors:` label, or the paper's own author list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from bot.i18n import language_name
from bot.models import Paper, Summary
from bot.summarize.clean import is_placeholder
from bot.summarize.extractive import MAX_TAKEAWAYS, MIN_TAKEAWAYS, TLDR_MAX
from bot.summarize.schema import SECTIONS, SummaryDraft
from bot.summarize.sentences import split_sentences

CHECKS = ("placeholder", "language", "takeaways", "tldr", "duplicate", "number", "metadata")
# Checks that judge one part on its own; a part failing one is dropped or replaced.
PART_CHECKS = ("placeholder", "language", "number", "metadata")

MIN_WORDS = 4  # shorter text is not language-checked; a CJK character counts as a word
MIN_LETTERS = 12  # text with fewer distinct letter pairs is never a duplicate
LATIN_SHARE = 0.8  # a Latin-script language: at least this share of letters Latin
SCRIPT_SHARE = 0.4  # another script: at least this share (technical terms stay Latin)
SIMILAR = 0.8  # bigram Jaccard similarity above which two parts say the same
MIN_REPEATED = 20  # a sentence this long, repeated within a field, is a duplicate
MIN_AUTHORS_LISTED = 2

_PLACEHOLDER_INLINE = re.compile(
    r"(?<![A-Za-z])[xX]{3,}(?![A-Za-z])"
    r"|(?-i:(?<![A-Za-z])(?:TODO|TBD|FIXME)(?![A-Za-z]))"
    r"|(?<![A-Za-z/])N/A(?![A-Za-z/])"
    r"|paper_info"
    r"|(?<![\\\w^_$}])\{\{?\s*[A-Za-z_][\w .-]{0,40}\}\}?"
    r"|(?-i:(?:^|[:：(（]\s*)None(?=\s*[,.;:)）]|\s*$))"
    r"|\[(?:insert|placeholder|your)\b[^\]]*\]",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?<![A-Za-z0-9.])\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_SMALL_NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
_NUMBER_WORDS = {word: str(value) for value, word in enumerate(_SMALL_NUMBERS.split())} | {
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
    "hundred": "100",
    "thousand": "1000",
    "million": "1000000",
    "single": "1",
    "twice": "2",
    "double": "2",
    "triple": "3",
    "dozen": "12",
}
_WORD = re.compile(r"[A-Za-z]+")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()\[\]{}，。]+", re.IGNORECASE)
_ARXIV_ID = re.compile(
    r"(?<![\w.])(?:arxiv:\s*)?(?:\d{4}\.\d{4,5}(?:v\d+)?|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?![\w])",
    re.IGNORECASE,
)
_DOI = re.compile(r"\b10\.\d{4,9}/[^\s\"<>]+")
_REFERENCES = (_URL, _DOI, _ARXIV_ID)  # links and ids: arXiv's to give, and not numbers
_LABEL = re.compile(
    r"(?:^|[\s(（*])(?:title|authors?|affiliations?|paper\s+links?|links?|urls?|arxiv\s+id"
    r"|keywords|标题|作者|隶属机构|单位|论文链接|链接|关键词)\s*[:：]",
    re.IGNORECASE,
)

_SCRIPT_RANGES = {
    "latin": "A-Za-z\u00c0-\u024f\u1e00-\u1eff",
    "han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff",
    "kana": "\u3040-\u30ff",
    "hangul": "\uac00-\ud7af\u1100-\u11ff\u3130-\u318f",
    "cyrillic": "\u0400-\u04ff",
    "greek": "\u0370-\u03ff",
    "arabic": "\u0600-\u06ff",
    "hebrew": "\u0590-\u05ff",
    "devanagari": "\u0900-\u097f",
    "thai": "\u0e00-\u0e7f",
}
_SCRIPT = {name: re.compile(f"[{chars}]") for name, chars in _SCRIPT_RANGES.items()}
_ANY_LETTER = re.compile(f"[{''.join(_SCRIPT_RANGES.values())}]")
_CJK = ("han", "kana", "hangul")  # one character is one word
_CJK_CHARACTER = "".join(c for name, c in _SCRIPT_RANGES.items() if name in _CJK)
_ALPHABETIC = "".join(c for name, c in _SCRIPT_RANGES.items() if name not in _CJK)
_ANY_WORD = re.compile(f"[{_CJK_CHARACTER}]|[{_ALPHABETIC}]+")
_LATIN_NAMES = """
    en de fr es it pt nl sv da no nb nn fi pl cs sk sl hr bs ro hu tr vi id ms ca eu gl et lv
    lt is ga cy sq af sw tl eo la italian portuguese dutch swedish danish norwegian finnish
    polish czech slovak romanian hungarian turkish vietnamese indonesian malay catalan
    italiano português nederlands svenska polski türkçe
"""
_LATIN_LANGUAGES = frozenset(_LATIN_NAMES.split())
_LANGUAGE_SCRIPTS: dict[str, tuple[str, ...]] = {
    "zh": ("han",),
    "ja": ("han", "kana"),
    "ko": ("hangul", "han"),
    "ru": ("cyrillic",),
    "uk": ("cyrillic",),
    "bg": ("cyrillic",),
    "sr": ("cyrillic", "latin"),
    "be": ("cyrillic",),
    "kk": ("cyrillic",),
    "el": ("greek",),
    "ar": ("arabic",),
    "fa": ("arabic",),
    "ur": ("arabic",),
    "he": ("hebrew",),
    "hi": ("devanagari",),
    "mr": ("devanagari",),
    "ne": ("devanagari",),
    "th": ("thai",),
    "ukrainian": ("cyrillic",),
    "greek": ("greek",),
    "arabic": ("arabic",),
    "hebrew": ("hebrew",),
    "hindi": ("devanagari",),
    "thai": ("thai",),
}

Summaryish = SummaryDraft | Summary


@dataclass(frozen=True)
class Failure:
    """One failed check: which check, which part (`index` for a takeaway or keyword) and
    what is wrong, worded for the model that is asked to fix it."""

    check: str
    field: str
    detail: str
    index: int | None = None

    @property
    def part(self) -> str:
        return self.field if self.index is None else f"{self.field}[{self.index}]"

    @property
    def label(self) -> str:
        return f"{self.check}:{self.part}"


@dataclass(frozen=True)
class Evidence:
    """What a summary may draw on: the paper's arXiv record and the text the model read."""

    paper: Paper
    text: str = ""

    @cached_property
    def corpus(self) -> str:
        paper = self.paper
        parts = (paper.title, paper.abstract, paper.comment, paper.journal_ref, paper.doi)
        return " ".join([*parts, self.text])

    @cached_property
    def lowered(self) -> str:
        return " ".join(self.corpus.lower().split())

    @cached_property
    def numbers(self) -> frozenset[str]:
        found = set(numbers_in(self.corpus))
        found.update(
            _NUMBER_WORDS[word]
            for word in map(str.lower, _WORD.findall(self.corpus))
            if word in _NUMBER_WORDS
        )
        return frozenset(found)

    def contains(self, text: str) -> bool:
        return " ".join(text.lower().split()).rstrip("/") in self.lowered


def numbers_in(text: str) -> list[str]:
    """The numbers written in digits in `text`, normalized ("1,000" → "1000", "2.50" →
    "2.5")."""
    found = []
    for token in _NUMBER.findall(unicodedata.normalize("NFKC", text)):
        if _THOUSANDS.fullmatch(token):
            token = token.replace(",", "")
        if "." in token and "," not in token:
            token = token.rstrip("0").rstrip(".")
        found.append(token)
    return found


def parts(summary: Summaryish) -> Iterator[tuple[str, int | None, str]]:
    """Every piece of text of a summary as (field, index, text)."""
    yield "tldr", None, summary.tldr
    for index, takeaway in enumerate(summary.takeaways):
        yield "takeaways", index, takeaway
    for name in SECTIONS:
        yield name, None, getattr(summary, name)
    for index, keyword in enumerate(summary.keywords):
        yield "keywords", index, keyword


def check(summary: Summaryish, evidence: Evidence, language: str) -> list[Failure]:
    """Every grounding failure of `summary` written for `language` from `evidence`."""
    failures: list[Failure] = []
    for field, index, text in parts(summary):
        failures += check_part(field, index, text, evidence, language)
    failures += check_language(summary, language)
    failures += _check_takeaways(summary)
    failures += _check_tldr(summary.tldr)
    failures += _check_duplicates(summary)
    failures += _check_author_list(summary, evidence.paper)
    return failures


def check_part(
    field: str, index: int | None, text: str, evidence: Evidence, language: str
) -> list[Failure]:
    """The checks that judge one piece of text on its own (`PART_CHECKS`)."""
    if not text.strip():
        return []
    failures = []

    def fail(check_name: str, detail: str) -> None:
        failures.append(Failure(check_name, field, detail, index))

    leftover = _PLACEHOLDER_INLINE.search(text)
    if leftover or is_placeholder(text):
        found = leftover.group(0) if leftover else text.strip()
        fail("placeholder", f"template leftover {found!r}")
    if field != "keywords" and not written_in(text, language):
        fail("language", f"not written in {language_name(language)}")
    references = [m.group(0) for pattern in _REFERENCES for m in pattern.finditer(text)]
    prose = text
    for reference in references:
        prose = prose.replace(reference, " ")
    unknown = [n for n in dict.fromkeys(numbers_in(prose)) if n not in evidence.numbers]
    if unknown:
        fail("number", f"number(s) {', '.join(unknown)} do not appear in the paper")
    foreign = [
        reference.rstrip(".,;:")
        for reference in references
        if not evidence.contains(reference.rstrip(".,;:"))
    ]
    if foreign:
        fail("metadata", f"link or id not in the paper: {', '.join(foreign)}")
    if _LABEL.search(text):
        fail("metadata", "title/author/link label; arXiv supplies these")
    return failures


def written_in(text: str, language: str) -> bool:
    """Whether `text` is in the script of `language` (True for text of fewer than
    `MIN_WORDS` words and for languages whose script is not known here)."""
    if len(_ANY_WORD.findall(text)) < MIN_WORDS:
        return True
    letters = _ANY_LETTER.findall(text)
    if language in _LATIN_LANGUAGES:
        return _share(text, ("latin",), len(letters)) >= LATIN_SHARE
    scripts = _LANGUAGE_SCRIPTS.get(language)
    if scripts is None:
        return True
    if language == "ja" and not _SCRIPT["kana"].search(text):
        return False
    return _share(text, scripts, len(letters)) >= SCRIPT_SHARE


def _share(text: str, scripts: tuple[str, ...], letters: int) -> float:
    return sum(len(_SCRIPT[name].findall(text)) for name in scripts) / letters


def display_width(text: str) -> int:
    """Characters, counting wide (CJK) characters twice."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def check_language(summary: Summaryish, language: str) -> list[Failure]:
    """The summary judged as a whole: its parts may each be too short to judge."""
    text = " ".join(text for field, _, text in parts(summary) if field != "keywords")
    if written_in(text, language):
        return []
    return [Failure("language", "summary", f"not written in {language_name(language)}")]


def _check_takeaways(summary: Summaryish) -> list[Failure]:
    count = len([t for t in summary.takeaways if t.strip()])
    if MIN_TAKEAWAYS <= count <= MAX_TAKEAWAYS:
        return []
    detail = f"{count} takeaways; write {MIN_TAKEAWAYS} to {MAX_TAKEAWAYS}"
    return [Failure("takeaways", "takeaways", detail)]


def _check_tldr(tldr: str) -> list[Failure]:
    if not tldr.strip():
        return [Failure("tldr", "tldr", "the TL;DR is empty")]
    failures = []
    sentences = len(split_sentences(tldr))
    if sentences > 1:
        failures.append(Failure("tldr", "tldr", f"{sentences} sentences; write one"))
    if display_width(tldr) > TLDR_MAX:
        failures.append(Failure("tldr", "tldr", f"longer than {TLDR_MAX} characters"))
    return failures


def similar(a: str, b: str) -> bool:
    """Whether two texts say the same (near-identical wording, any script)."""
    first, second = _bigrams(a), _bigrams(b)
    if len(first) < MIN_LETTERS or len(second) < MIN_LETTERS:
        return False
    return len(first & second) / len(first | second) >= SIMILAR


def _bigrams(text: str) -> set[str]:
    letters = "".join(ch for ch in text.lower() if ch.isalnum())
    return {letters[i : i + 2] for i in range(len(letters) - 1)}


def _check_duplicates(summary: Summaryish) -> list[Failure]:
    failures = []
    groups = [
        [(name, None, getattr(summary, name)) for name in SECTIONS],
        [("tldr", None, summary.tldr)]
        + [("takeaways", i, t) for i, t in enumerate(summary.takeaways)],
    ]
    for group in groups:
        for position, (field, index, text) in enumerate(group):
            earlier = next((g for g in group[:position] if similar(g[2], text)), None)
            if earlier is not None:
                where = earlier[0] if earlier[1] is None else f"{earlier[0]}[{earlier[1]}]"
                failures.append(Failure("duplicate", field, f"repeats {where}", index))
    for field, index, text in parts(summary):
        seen: set[str] = set()
        for sentence in split_sentences(text):
            key = "".join(ch for ch in sentence.lower() if ch.isalnum())
            if len(key) >= MIN_REPEATED and key in seen:
                failures.append(Failure("duplicate", field, "repeats a sentence", index))
                break
            seen.add(key)
    return failures


def _check_author_list(summary: Summaryish, paper: Paper) -> list[Failure]:
    """The paper's own authors named in the summary (two or more: an author list)."""
    names = [
        re.compile(rf"(?<!\w){re.escape(' '.join(author.split()))}(?!\w)", re.IGNORECASE)
        for author in paper.authors
        if author.strip()
    ]
    named: dict[tuple[str, int | None], int] = {}
    for field, index, text in parts(summary):
        flat = " ".join(text.split())
        count = sum(1 for name in names if name.search(flat))
        if count:
            named[(field, index)] = count
    if sum(named.values()) < MIN_AUTHORS_LISTED:
        return []
    return [
        Failure("metadata", field, "names the paper's authors; arXiv supplies them", index)
        for field, index in named
    ]
