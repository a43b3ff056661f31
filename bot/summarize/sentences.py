"""Sentences: an abstract split into sentences, and the language of a text.

Splitting knows abbreviations ("e.g.", "et al.", "Fig."), initials, decimals,
version numbers, URLs and TeX, and Chinese/Japanese sentence ends.
"""

from __future__ import annotations

import re


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PROTECTED = re.compile(
    r"\$\$.+?\$\$"
    r"|\$[^$]{1,300}\$"
    r"|\\\(.+?\\\)"
    r"|\\\[.+?\\\]"
    r"|(?:https?://|www\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]]",
    re.S,
)


_CANDIDATE = re.compile(r"[.?!]+[\"'”’)\]]*\s+")


_CJK_END = re.compile(r"[。！？]+[”’」』)）]*")


_OPENERS = "\"'“‘$\\"


_ABBREVIATIONS = word_set(
    """
    e.g eg i.e ie al vs v.s cf viz resp approx ca fig figs eq eqs eqn eqns sec secs ref
    refs tab tabs thm lem prop def defn cor chap ch app appx dr prof mr mrs ms jr sr st inc
    ltd co corp dept univ phys rev lett proc ed eds op est
    """
)


_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "vol", "vols", "pp", "p", "art"})


WORDY = re.compile(r"[^\W\d_]{2,}|[\u3400-\u9fff]")


_INITIALS = re.compile(r"[A-Z](?:\.-?[A-Z])*")


_DOTTED = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")


_LABEL_WORDS = frozenset(
    {"appendix", "section", "part", "table", "figure", "type", "class", "phase", "case", "set"}
)


_SENTENCE_STARTERS = word_set(
    """
    a an the this these that those we our it its they their in on at by for to from with as
    however moreover furthermore finally thus hence therefore here there such many most
    some all each both while when although though since because if using based one two
    first second third next then specifically notably importantly surprisingly additionally
    consequently further still yet despite unlike given under
    """
)


_HEADINGS = word_set(
    """
    context background objective objectives aim aims purpose motivation problem method
    methods methodology approach design results findings conclusion conclusions
    significance implications originality limitations
    """
)


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


_LETTER = re.compile(r"[^\W\d_]")


def split_sentences(text: str) -> list[str]:
    """Split an abstract into sentences, whitespace collapsed.

    A sentence ends at ".", "?" or "!" (with closing quotes or brackets) followed
    by whitespace and a capital letter, digit, quote or TeX. Abbreviations
    ("e.g.", "et al.", "Fig.", "vs."…), initials ("B. Scott"), decimals, version
    numbers, URLs and TeX math never end one. Pieces without a word (such as a
    lone "0.") are joined to the sentence before them.
    """
    text = " ".join(text.split())
    if not text:
        return []
    protected = [m.span() for m in _PROTECTED.finditer(text)]
    pieces: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(text):
        end = match.end()
        if end >= len(text) or _inside(match.start(), protected):
            continue
        if not _ends_sentence(text, match.start(), end):
            continue
        pieces.append(text[start:end].strip())
        start = end
    pieces.append(text[start:].strip())
    parts = [part for piece in pieces for part in _split_cjk(piece)]
    sentences: list[str] = []
    carry = ""  # a one-word piece waiting for the sentence it starts
    for position, part in enumerate(parts):
        if carry:
            part, carry = f"{carry} {part}", ""
        if len(parts) > 1 and part.rstrip(".:").lower() in _HEADINGS:
            continue
        if not WORDY.search(part):
            if sentences:
                sentences[-1] = f"{sentences[-1]} {part}"
            else:
                carry = part
        elif " " not in part and not _CJK.search(part) and position < len(parts) - 1:
            carry = part
        else:
            sentences.append(part)
    if carry:
        if sentences:
            sentences[-1] = f"{sentences[-1]} {carry}"
        else:
            sentences.append(carry)
    return sentences


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(begin <= position < end for begin, end in spans)


def _split_cjk(piece: str) -> list[str]:
    parts: list[str] = []
    start = 0
    for match in _CJK_END.finditer(piece):
        if match.end() < len(piece):
            parts.append(piece[start : match.end()].strip())
            start = match.end()
    parts.append(piece[start:].strip())
    return [p for p in parts if p]


def _ends_sentence(text: str, punct_at: int, next_at: int) -> bool:
    """Whether the punctuation at `punct_at` ends the sentence (next one at `next_at`)."""
    following = text[next_at]
    if not (following.isupper() or following.isdigit() or following in _OPENERS):
        return False
    if text[punct_at] != ".":
        return True
    before = text[:punct_at]
    token = before.rsplit(" ", 1)[-1].lstrip("([{\"'“‘")
    word = token.lower()
    next_word = re.match(r"[\w'’-]*", text[next_at:])
    next_word_text = next_word.group(0).lower() if next_word else ""
    if word == "etc":
        return next_word_text in _SENTENCE_STARTERS
    if word in _ABBREVIATIONS or _DOTTED.fullmatch(token):
        return False
    if word in _NUMBER_ABBREVIATIONS and following.isdigit():
        return False
    if _INITIALS.fullmatch(token):
        # "B. Scott" is a name; "at 4 K. This", "mode A. Using", "Appendix A. We" end one.
        previous = before[: len(before) - len(token)].rstrip().rsplit(" ", 1)[-1].lower()
        return (
            previous in _LABEL_WORDS
            or previous[-1:].isdigit()
            or next_word_text in _SENTENCE_STARTERS
        )
    return True


def detect_language(text: str) -> str:
    """The language tag of `text`: "zh" when most letters are CJK ideographs, else "en"."""
    letters = len(_LETTER.findall(text))
    if letters and len(_CJK.findall(text)) * 2 > letters:
        return "zh"
    return "en"
