"""The offline summarizer: sentences chosen from the abstract, never rewritten.

No network and no model: the paper's own abstract is split into sentences, each
sentence is tagged by cue phrases (contribution, result, method, prior work…),
and the summary fields are filled with whole sentences (cut at a word boundary
with "…" only when too long). Nothing is invented, so a field with no fitting
sentence stays empty. The full text, when given, is ignored.

Takeaway selection: contribution and result sentences first, then method
sentences (together at most five); other sentences only top the list up to
three. The chosen takeaways are shown in abstract order, so they read as the
abstract does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.models import Paper, Summary
from bot.summarize.base import SummaryRun
from bot.summarize.keywords import extract_keywords
from bot.summarize.sentences import WORDY, detect_language, split_sentences

TLDR_MAX = 280
TAKEAWAY_MAX = 300
MAX_TAKEAWAYS = 5
MIN_TAKEAWAYS = 3
ELLIPSIS = "…"


# Spans in which a period never ends a sentence: TeX math and URLs.
# A candidate boundary: terminal punctuation, closing quotes/brackets, whitespace.
# Lowercased words that end with a period without ending the sentence.
# Abbreviations that shorten a sentence only before a number ("No. 5", "pp. 12").
# "etc." usually ends a list mid-sentence; it ends the sentence before these words.
# One-word headings of structured abstracts ("Context. … Results. …"), dropped.

_WE = r"we(?:\s+(?:also|first|then|further|now|here|additionally|finally|\w+ly))?\s+"
_DOC = r"(?:paper|work|article|study|letter|manuscript|thesis|note|report|survey|review|chapter)"
_STRONG = re.compile(
    r"\b(?:"
    + _WE
    + r"(?:propos|introduc|present|develop|put\s+forward)\w*"
    + r"|(?:this|the\s+present|our)\s+(?:\w+\s+)?"
    + _DOC
    + r"\s+(?:\w+ly\s+)?(?:propos|introduc|present|develop|report|describ|investigat|stud|"
    r"explor|examin|evaluat|provid|consider|address|discuss|aim|focus|review|survey|deriv|"
    r"show|demonstrat|analy[sz])\w*"
    r"|in\s+this\s+(?:\w+\s+)?" + _DOC + r",?\s+(?:we|the\s+authors)"
    r"|here,?\s+we"
    r"|(?:the\s+)?(?:purpose|aim|goal|intent|objective)\s+of\s+this\s+" + _DOC + r")\b",
    re.I,
)
_WEAK = re.compile(
    r"\b(?:"
    + _WE
    + r"(?:show|deriv|design|report|describ|construct|formulat|investigat|stud|explor|examin|"
    r"analy[sz]|consider|establish|provid|build|built|creat|devis|offer|outlin|review|survey|"
    r"evaluat|combin|perform|prov|address|tackl|extend|generali[sz]|conduct|identif|validat|"
    r"giv|gave|compar|characteri[sz]|elaborat|uncover|obtain|implement|realiz|report)\w*"
    r"|our\s+(?:method|approach|framework|model|algorithm|scheme|technique|system|protocol|"
    r"analysis|contribution|proposal|tool|pipeline)"
    r"|(?:in\s+)?this\s+" + _DOC + r")\b",
    re.I,
)
# Result cues that count anywhere, and weaker ones that count only after the contribution
# sentence or in a first-person sentence ("to improve", "to achieve" in background do not).
_RESULT = re.compile(
    r"outperform|state[- ]of[- ]the[- ]art|results?\s+(?:show|indicate|reveal|demonstrate|"
    r"suggest|confirm)|\bwe\s+(?:also\s+)?(?:find|found|demonstrate|observe|conclude)"
    r"|\bour\s+findings|speed-?up|orders?\s+of\s+magnitude|\bsurpass|"
    r"\d\s*(?:\\?%|percent|×|\\times|x\b)|\$\s*\\times",
    re.I,
)
_WEAK_RESULT = re.compile(
    r"\bachiev(?:es|ed|ing)\b|\bimprov(?:es|ed|ing|ements?)\b|\bexperiments\b"
    r"|\bexperimental\s+results\b|\bexperimentally\b|\b(?:reveal|confirm|show)(?:s|ed)?\b",
    re.I,
)
_FIRST_PERSON = re.compile(r"\b(?:we|our|us)\b", re.I)
_ARTIFACT = (
    r"(?:approach|method|framework|algorithm|scheme|protocol|model|technique|system|solution|"
    r"pipeline|implementation|simulator|software|compiler|tool)s?"
)
_METHOD = re.compile(
    r"\b(?:we\s+(?:\w+ly\s+)?(?:use|employ|apply|train|leverage|adopt|exploit|utili[sz]e|"
    r"implement|simulate|compute|solve|combine|model|construct|formulate|encode|map|"
    r"introduce|design)\w*"
    r"|(?:our|the\s+proposed|this|the|it)\s+(?:\w+\s+)?" + _ARTIFACT + r"\s+(?:uses|relies|"
    r"consists|leverages|combines|applies|learns|utili[sz]es|employs|builds|replaces|"
    r"introduces|exploits|hinges|follows)"
    r"|our\s+" + _ARTIFACT + r"|the\s+proposed\s+" + _ARTIFACT + r"|key\s+to\s+our)\b",
    re.I,
)
_PRIOR = re.compile(
    r"\b(?:however|existing|prior|previous(?:ly)?|struggle[sd]?|limited|suffers?|conventional|"
    r"traditional|state-of-the-art\s+methods)\b",
    re.I,
)
_LIMITATION = re.compile(
    r"\bfuture\s+work\b|\blimitations?\s+of\s+(?:our|this|the\s+(?:proposed|present|current))"
    r"|\bwe\s+(?:also\s+)?discuss\s+(?:the\s+|its\s+|their\s+)?limitations\b"
    r"|\bleft\s+(?:open|for\s+future)",
    re.I,
)
_NOVELTY = re.compile(
    r"\bto\s+(?:the\s+best\s+of\s+)?our\s+knowledge\b|\bfor\s+the\s+first\s+time\b"
    r"|\bis\s+the\s+first\s+(?:to|work|study|method|approach|demonstration)\b",
    re.I,
)
_SIGNIFICANCE = re.compile(
    r"\bpaves?\s+the\s+way\b|\bimplications?\s+for\b|\bopens?\s+(?:up\s+)?(?:new\s+)?"
    r"(?:avenues?|possibilities|directions?|the\s+door)\b|\bimpact\s+on\b",
    re.I,
)

_OUTLOOK = re.compile(r"\b(?:may|might|could|would|will)\b", re.I)


@dataclass
class _Sentence:
    index: int
    text: str
    tags: set[str] = field(default_factory=set)
    strength: int = 0  # 2: strong contribution cue, 1: weak cue, 0: none


def _tag(index: int, text: str) -> _Sentence:
    sentence = _Sentence(index, text)
    if _SIGNIFICANCE.search(text):
        sentence.tags.add("significance")
    if _STRONG.search(text):
        sentence.strength = 2
    elif _WEAK.search(text) and not ("significance" in sentence.tags or _OUTLOOK.search(text)):
        sentence.strength = 1  # not "This work may open a new avenue…"
    if sentence.strength:
        sentence.tags.add("contribution")
    if _RESULT.search(text):
        sentence.tags.add("result")
    elif _WEAK_RESULT.search(text):
        sentence.tags.add("weak_result")
    if _METHOD.search(text):
        sentence.tags.add("method")
    if _PRIOR.search(text):
        sentence.tags.add("prior")
    if _LIMITATION.search(text):
        sentence.tags.add("limitation")
    if _NOVELTY.search(text):
        sentence.tags.add("novelty")
    return sentence


def truncate(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else cut at a word boundary plus "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS) + 1]
    cut = cut.rsplit(" ", 1)[0] if " " in cut else cut[:-1]
    return (cut.rstrip(" ,;:-–—(") or cut) + ELLIPSIS


def _first(sentences: list[_Sentence], limit: int) -> list[_Sentence]:
    return sorted(sentences, key=lambda s: s.index)[:limit]


def _join(sentences: list[_Sentence]) -> str:
    return " ".join(s.text for s in sentences)


def summarize_abstract(paper: Paper) -> Summary:
    """The extractive `Summary` of `paper` (pure, synchronous)."""
    title = " ".join(paper.title.split()) or paper.id
    abstract = " ".join(paper.abstract.split())
    texts: list[str] = []
    for text in split_sentences(abstract):
        if text not in texts and WORDY.search(text):
            texts.append(text)
    if not texts:
        return Summary(
            tldr=truncate(title, TLDR_MAX),
            takeaways=[truncate(title, TAKEAWAY_MAX)],
            language=detect_language(title),
            model=ExtractiveSummarizer.model,
            source="extractive",
        )
    sentences = [_tag(i, text) for i, text in enumerate(texts)]
    lead = _lead(sentences)
    return Summary(
        tldr=truncate(lead.text, TLDR_MAX),
        takeaways=_takeaways(sentences, lead),
        **_details(sentences, lead),
        keywords=extract_keywords(abstract),
        language=detect_language(abstract),
        model=ExtractiveSummarizer.model,
        source="extractive",
    )


def _lead(sentences: list[_Sentence]) -> _Sentence:
    """The contribution sentence (the first sentence when none says what the paper does);
    a weak result cue after it, or in the first person, counts as a result."""
    best = max(sentences, key=lambda s: (s.strength, -s.index))
    lead = best if best.strength else sentences[0]
    for sentence in sentences:
        if "weak_result" in sentence.tags and (
            sentence.index > lead.index or _FIRST_PERSON.search(sentence.text)
        ):
            sentence.tags.add("result")
    return lead


def _takeaways(sentences: list[_Sentence], lead: _Sentence) -> list[str]:
    """Contribution and result sentences, then method ones; others only up to three."""

    def rank(s: _Sentence) -> int:
        if s.tags & {"contribution", "result"}:
            return 0
        return 1 if "method" in s.tags else 2

    chosen: list[_Sentence] = []
    others = [s for s in sentences if s is not lead]
    for sentence in sorted(others, key=lambda s: (rank(s), s.index)):
        if len(chosen) >= MAX_TAKEAWAYS or (rank(sentence) == 2 and len(chosen) >= MIN_TAKEAWAYS):
            break
        chosen.append(sentence)
    takeaways = [truncate(s.text, TAKEAWAY_MAX) for s in sorted(chosen, key=lambda s: s.index)]
    return takeaways or [truncate(lead.text, TAKEAWAY_MAX)]


def _details(sentences: list[_Sentence], lead: _Sentence) -> dict[str, str]:
    """Background, prior work, method, results and the conclusion's parts."""
    contribution_at = lead.index if lead.strength else None
    background = [
        s
        for s in sentences
        if contribution_at is not None
        and s.index < contribution_at
        and not s.tags & {"prior", "contribution", "result"}
    ]
    prior = [
        s
        for s in sentences
        if "prior" in s.tags
        and not s.tags & {"contribution", "result"}
        and (s.index < lead.index or not _FIRST_PERSON.search(s.text))
    ]
    method = [
        s
        for s in sentences
        if ((s is lead and lead.strength) or (s.tags & {"contribution", "method"}))
        and (s is lead or "result" not in s.tags)
    ]
    results = [s for s in sentences if "result" in s.tags and s is not lead]
    parts = {
        "background": _first(background, 2),
        "prior_work": _first(prior, 2),
        "method": _first(method, 3),
        "results": _first(results, 3),
    }
    used = {s.index for chosen in parts.values() for s in chosen}
    taken = {_join(chosen) for chosen in parts.values()}

    def conclusion(tag: str, limit: int) -> str:
        """Sentences with `tag`, but never a copy of a whole section above (a section
        repeated under another name)."""
        tagged = [s for s in sentences if tag in s.tags]
        chosen = _first(tagged, limit)
        if _join(chosen) in taken:
            chosen = _first([s for s in tagged if s.index not in used], limit)
        return _join(chosen)

    return {
        **{name: _join(chosen) for name, chosen in parts.items()},
        "significance": conclusion("significance", 1),
        "novelty": conclusion("novelty", 1),
        "limitations": conclusion("limitation", 2),
    }


class ExtractiveSummarizer:
    """Summarizer that quotes the abstract: offline, instant, never wrong about the paper."""

    model: str = "extractive"
    prompt_version: str = ""
    reads_fulltext: bool = False
    budget: None = None

    async def summarize(
        self,
        paper: Paper,
        language: str,
        fulltext: str | None = None,
        run: SummaryRun | None = None,
    ) -> Summary:
        """Sentences of `paper`'s abstract; `language` and `fulltext` are not used.

        The summary is in the abstract's own language ("en", or "zh" for a
        mostly-Chinese abstract), whatever language was asked for. No model is
        called, so `run` keeps its defaults.
        """
        return summarize_abstract(paper)

    async def aclose(self) -> None:
        """Nothing to release."""
