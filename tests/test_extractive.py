"""The extractive summarizer: sentences quoted from the abstract, nothing invented."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.arxiv.parse import ArxivQueryError, parse_api_response, parse_rss
from bot.models import Paper, Summary
from bot.summarize.base import Summarizer
from bot.summarize.extractive import ELLIPSIS, ExtractiveSummarizer, truncate
from bot.summarize.keywords import extract_keywords
from bot.summarize.sentences import detect_language, split_sentences

FIXTURES = Path(__file__).parent / "fixtures"
PLACEHOLDERS = ("none", "n/a", "xxx", "null", "tbd", "todo", "...", "…")
TEXT_FIELDS = (
    "background",
    "prior_work",
    "method",
    "results",
    "significance",
    "novelty",
    "limitations",
)


def _fixture_papers() -> list[Paper]:
    papers: list[Paper] = []
    for path in sorted((FIXTURES / "arxiv_api").glob("*.xml")):
        try:
            papers.extend(parse_api_response(path.read_bytes()).papers)
        except ArxivQueryError:
            continue  # the error fixture has no paper
    rss = FIXTURES / "arxiv_rss" / "rss_quant-ph_2025-04-28.xml"
    papers.extend(item.paper for item in parse_rss(rss.read_bytes()))
    return papers


PAPERS = _fixture_papers()


def _paper(abstract: str, title: str = "A Title") -> Paper:
    when = datetime(2025, 4, 28, tzinfo=UTC)
    return Paper(
        id="2504.00001",
        version=1,
        title=title,
        authors=("A. Author",),
        abstract=abstract,
        categories=("cs.LG",),
        primary_category="cs.LG",
        published=when,
        updated=when,
    )


def _norm(text: str) -> str:
    return " ".join(text.split())


def _quoted(piece: str, abstract: str) -> bool:
    """`piece` occurs verbatim in `abstract`, or is a prefix of it cut with "…"."""
    if piece.endswith(ELLIPSIS):
        return piece[: -len(ELLIPSIS)] in abstract
    return piece in abstract


def _joins_sentences(value: str, sentences: list[str]) -> bool:
    """`value` is some of `sentences`, in abstract order, joined by single spaces."""
    rest = value
    for sentence in sentences:
        if rest == sentence:
            return True
        if rest.startswith(sentence + " "):
            rest = rest[len(sentence) + 1 :]
    return rest == ""


def test_fixtures_hold_many_papers() -> None:
    assert len(PAPERS) > 50
    assert all(paper.abstract for paper in PAPERS)


def test_is_a_summarizer() -> None:
    summarizer: Summarizer = ExtractiveSummarizer()
    assert summarizer.model == "extractive"


@pytest.mark.parametrize("paper", PAPERS, ids=lambda paper: paper.id)
async def test_fixture_summary_quotes_the_abstract(paper: Paper) -> None:
    summary = await ExtractiveSummarizer().summarize(paper, "en")
    abstract = _norm(paper.abstract)
    sentences = list(dict.fromkeys(split_sentences(abstract)))

    assert isinstance(summary, Summary)
    assert summary.source == "extractive"
    assert summary.model == "extractive"
    assert summary.language == "en"

    # TL;DR: one sentence of the abstract, cut with "…" only when over 280 characters.
    assert _quoted(summary.tldr, abstract)
    assert len(summary.tldr) <= 280
    if summary.tldr.endswith(ELLIPSIS):
        assert any(s.startswith(summary.tldr[:-1]) and len(s) > 280 for s in sentences)
    else:
        assert summary.tldr in sentences
        assert split_sentences(summary.tldr) == [summary.tldr]

    # Takeaways: verbatim, distinct, 1..5, at least 3 when the abstract allows it.
    assert 1 <= len(summary.takeaways) <= 5
    if len(sentences) >= 4:
        assert len(summary.takeaways) >= 3
    assert len(set(summary.takeaways)) == len(summary.takeaways)
    for takeaway in summary.takeaways:
        assert _quoted(takeaway, abstract)
        assert len(takeaway) <= 300
        if len(sentences) > 1:
            assert takeaway != summary.tldr
            assert not summary.tldr.startswith(takeaway.removesuffix(ELLIPSIS))

    # Sections: abstract sentences (joined by a space) or empty, never placeholders.
    for name in TEXT_FIELDS:
        value = getattr(summary, name)
        assert value == value.strip()
        assert value.lower() not in PLACEHOLDERS
        assert _joins_sentences(value, sentences)
    assert len(summary.keywords) <= 5
    for keyword in summary.keywords:
        assert keyword.strip() and keyword.lower() not in PLACEHOLDERS
        assert keyword.split(" (")[0] in abstract


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "We follow Gould & Morgan (2003), i.e. a model. It works.",
            ["We follow Gould & Morgan (2003), i.e. a model.", "It works."],
        ),
        (
            "Accuracy rises from 0.91 to 0.94 vs. baselines. Next.",
            ["Accuracy rises from 0.91 to 0.94 vs. baselines.", "Next."],
        ),
        (
            "As shown by Smith et al. The effect is large. We agree.",
            ["As shown by Smith et al. The effect is large.", "We agree."],
        ),
        (
            "Smith et al. (2020) proposed it. Jones et al. 2021 extended it.",
            ["Smith et al. (2020) proposed it.", "Jones et al. 2021 extended it."],
        ),
        (
            "Models (e.g. BERT) fail, i.e. They overfit. We fix this.",
            ["Models (e.g. BERT) fail, i.e. They overfit.", "We fix this."],
        ),
        (
            "See Fig. 3, Eq. 2 and Sec. 4. It is approx. 5 times faster.",
            ["See Fig. 3, Eq. 2 and Sec. 4.", "It is approx. 5 times faster."],
        ),
        (
            "This was shown by B. Scott and J.-P. Smith. We extend it.",
            ["This was shown by B. Scott and J.-P. Smith.", "We extend it."],
        ),
        (
            "Code is at https://github.com/a/b.c and www.x.org/v1.2. Try it.",
            ["Code is at https://github.com/a/b.c and www.x.org/v1.2.", "Try it."],
        ),
        (
            "We use version 2.1.3 of the tool. Python 3.11 is needed.",
            ["We use version 2.1.3 of the tool.", "Python 3.11 is needed."],
        ),
        (
            "We split $M/2$. $N$ qubits suffice. \\(T_w\\) is self-adjoint. Done here.",
            ["We split $M/2$.", "$N$ qubits suffice.", "\\(T_w\\) is self-adjoint.", "Done here."],
        ),
        (
            "The bound $a. B$ holds. It is tight.",
            ["The bound $a. B$ holds.", "It is tight."],
        ),
        (
            'Can it work? Yes, it can! "Quoted" text follows. 42 cases pass.',
            ["Can it work?", "Yes, it can!", '"Quoted" text follows.', "42 cases pass."],
        ),
        (
            "Tools such as A, B, etc. are used. They are slow, etc. We fix this.",
            ["Tools such as A, B, etc. are used.", "They are slow, etc.", "We fix this."],
        ),
        (
            "We use lowercase. after a period it goes on.",
            ["We use lowercase. after a period it goes on."],
        ),
        (
            "It is cooled to 4 K. This helps. The mode A. Using it helps.",
            ["It is cooled to 4 K.", "This helps.", "The mode A.", "Using it helps."],
        ),
        (
            "What is the funniest number? 0. The reason is simple.",
            ["What is the funniest number? 0.", "The reason is simple."],
        ),
        (
            "Context. Testing matters. Results. We win.",
            ["Testing matters.", "We win."],
        ),
        ("  Spaces\n  collapse   here.\tAnd  here. ", ["Spaces collapse here.", "And here."]),
        ("No final period", ["No final period"]),
        ("", []),
        ("我们提出了一种方法。实验表明效果很好！", ["我们提出了一种方法。", "实验表明效果很好！"]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


async def test_contribution_sentence_is_the_tldr() -> None:
    abstract = (
        "Large language models are widely used for code generation. "
        "However, existing methods struggle with long programs. "
        "In this paper, we propose LoopCoder, a planner that writes code in stages. "
        "Our method decomposes a task into verified steps. "
        "Experiments show that LoopCoder outperforms strong baselines by 12% on HumanEval. "
        "We release our code."
    )
    summary = await ExtractiveSummarizer().summarize(_paper(abstract), "en")
    assert summary.tldr == (
        "In this paper, we propose LoopCoder, a planner that writes code in stages."
    )
    assert summary.background == "Large language models are widely used for code generation."
    assert summary.prior_work == "However, existing methods struggle with long programs."
    assert "Our method decomposes a task into verified steps." in summary.method
    assert summary.results == (
        "Experiments show that LoopCoder outperforms strong baselines by 12% on HumanEval."
    )
    # Method and result sentences first; the background tops the list up to three;
    # shown in abstract order.
    assert summary.takeaways == [
        "Large language models are widely used for code generation.",
        "Our method decomposes a task into verified steps.",
        "Experiments show that LoopCoder outperforms strong baselines by 12% on HumanEval.",
    ]
    assert summary.significance == summary.novelty == summary.limitations == ""


async def test_without_contribution_cue_the_first_sentence_is_the_tldr() -> None:
    abstract = "Cats sleep a lot. Dogs bark at night. Birds sing in the morning."
    summary = await ExtractiveSummarizer().summarize(_paper(abstract), "en")
    assert summary.tldr == "Cats sleep a lot."
    assert summary.takeaways == ["Dogs bark at night.", "Birds sing in the morning."]
    assert summary.background == ""


@pytest.mark.parametrize("abstract", ["", "   \n ", ". ?"])
async def test_empty_abstract_uses_the_title(abstract: str) -> None:
    paper = _paper(abstract, title="  A Study of\n Nothing ")
    summary = await ExtractiveSummarizer().summarize(paper, "zh")
    assert summary.tldr == "A Study of Nothing"
    assert summary.takeaways == ["A Study of Nothing"]
    assert summary.source == "extractive"
    assert summary.keywords == []


async def test_single_sentence_abstract_is_also_the_takeaway() -> None:
    summary = await ExtractiveSummarizer().summarize(_paper("We propose a thing."), "en")
    assert summary.tldr == "We propose a thing."
    assert summary.takeaways == ["We propose a thing."]


async def test_long_sentences_are_cut_at_a_word_boundary() -> None:
    long = "We propose " + " ".join(f"word{i}" for i in range(80)) + "."
    abstract = f"{long} Short second sentence. Another one here. And a last one."
    summary = await ExtractiveSummarizer().summarize(_paper(abstract), "en")
    assert len(summary.tldr) <= 280
    assert summary.tldr.endswith(ELLIPSIS)
    assert long.startswith(summary.tldr[:-1])
    assert summary.tldr[:-1].split()[-1] in long.split()
    assert truncate("short", 10) == "short"
    assert truncate("one two three", 10) == "one two…"


async def test_requested_language_does_not_change_the_quoted_language() -> None:
    paper = _paper("We propose a method. It works well.")
    summary = await ExtractiveSummarizer().summarize(paper, "zh")
    assert summary.language == "en"
    chinese = _paper("我们提出了一种新的量子算法。实验结果表明该方法优于现有方法。")
    summary = await ExtractiveSummarizer().summarize(chinese, "en")
    assert summary.language == "zh"
    assert summary.tldr == "我们提出了一种新的量子算法。"
    assert detect_language("Mostly English with 一 character.") == "en"


def test_keywords_are_defined_terms_from_the_abstract() -> None:
    text = (
        "Deep Learning (DL) has changed vision-based systems (VBS). We apply the "
        "Density Matrix Renormalization Group to the Kibble-Zurek mechanism with ChatGPT."
    )
    keywords = extract_keywords(text)
    assert keywords[:2] == ["Deep Learning (DL)", "vision-based systems (VBS)"]
    assert "Density Matrix Renormalization Group" in keywords
    assert "Kibble-Zurek" in keywords
    assert "ChatGPT" in keywords
    assert extract_keywords("plain lowercase text only.") == []


async def test_limitations_only_when_a_sentence_fits() -> None:
    abstract = (
        "We introduce a solver. It is fast. "
        "A limitation of our approach is its memory use, which we leave for future work."
    )
    summary = await ExtractiveSummarizer().summarize(_paper(abstract), "en")
    assert summary.limitations == (
        "A limitation of our approach is its memory use, which we leave for future work."
    )


async def test_no_section_is_repeated_under_another_name() -> None:
    abstract = (
        "Talking faces come in 3D and 2D. However, to the best of our knowledge, 3D talking "
        "faces lag behind 2D ones in lip-sync. We propose Learn2Talk, which closes the gap. "
        "Experiments show better lip-sync."
    )
    summary = await ExtractiveSummarizer().summarize(_paper(abstract), "en")
    assert summary.prior_work.startswith("However, to the best of our knowledge")
    assert summary.novelty == ""
