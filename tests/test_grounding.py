"""The grounding checks and the part-by-part repair, on summary drafts of one paper."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.models import Paper
from bot.summarize import SummaryError
from bot.summarize.grounding import Evidence, check, numbers_in, written_in
from bot.summarize.repair import patch
from bot.summarize.schema import DraftError, SummaryDraft, parse_draft, response_schema
from tests.fake_llm import draft

NOW = datetime(2024, 4, 1, tzinfo=UTC)
PAPER = Paper(
    "2511.00001",
    1,
    "A Study of Problem 1 with Neural Methods",
    ("Ada Lovelace", "Alan Turing", "Grace Hopper"),
    "Problem 1 is hard for existing methods. We propose a new method for it. "
    "Experiments show it outperforms prior work by 3.2 points on three datasets "
    "with 1,000 images each. Code: https://github.com/ada/problem1.",
    ("cs.CV",),
    "cs.CV",
    NOW,
    NOW,
    comment="Accepted at CVPR 2024",
)
EVIDENCE = Evidence(PAPER, "Section 4 reports 97.5% recall on the test split.")


def failures(language: str = "en", **fields: object) -> list[str]:
    return [f.label for f in check(SummaryDraft(**draft(**fields)), EVIDENCE, language)]


def test_a_faithful_englishpasses() -> None:
    assert failures() == []
    # numbers from the abstract, the comment and the full text; number words; "1,000"
    assert failures(results="It gains 3.2 points on 3 datasets of 1000 images (CVPR 2024).") == []
    assert failures(results="Recall reaches 97.50% on the test split.") == []
    # the link the abstract gives; "None of" is English, not a placeholder
    assert failures(method="Code at https://github.com/ada/problem1.") == []
    assert failures(prior_work="None of the existing methods solve problem 1.") == []
    # LaTeX braces are not template leftovers
    assert failures(method="It maps $x$ to $\\mathbf{z}_{i}$ by \\frac{a}{b}.") == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"method": "xxx"}, "placeholder:method"),
        ({"method": "The method uses XXX layers."}, "placeholder:method"),
        ({"results": "None"}, "placeholder:results"),
        ({"results": "Accuracy: None."}, "placeholder:results"),
        ({"limitations": "N/A"}, "placeholder:limitations"),
        ({"novelty": "It is the first to {contribution}."}, "placeholder:novelty"),
        ({"background": "See Paper_info for details."}, "placeholder:background"),
        ({"keywords": ["TODO"]}, "placeholder:keywords[0]"),
        ({"takeaways": ["One point here.", "Another point."]}, "takeaways:takeaways"),
        ({"takeaways": [f"Point number {w} is made." for w in "abcdef"]}, "takeaways:takeaways"),
        ({"tldr": "We propose a new method. It works well on problem 1."}, "tldr:tldr"),
        ({"tldr": "We propose " + "a very new method " * 20 + "for problem 1."}, "tldr:tldr"),
        ({"tldr": ""}, "tldr:tldr"),
        ({"results": "It outperforms prior work by 4.7 points."}, "number:results"),
        ({"takeaways": ["A", "B", "It wins by 12%."]}, "number:takeaways[2]"),
        ({"method": "Code at https://github.com/other/repo."}, "metadata:method"),
        ({"method": "See arXiv:2403.20153 for the method."}, "metadata:method"),
        ({"method": "This paper (2511.00001) proposes it."}, "metadata:method"),
        ({"background": "Title: A Study of Problem 1"}, "metadata:background"),
        ({"background": "作者：Ada Lovelace"}, "metadata:background"),
        ({"significance": "Ada Lovelace and Alan Turing show it."}, "metadata:significance"),
        (
            {
                "significance": "Existing methods fail. Existing methods fail badly. "
                "Existing methods fail badly."
            },
            "duplicate:significance",
        ),
        (
            {"method": "A new method for problem 1.", "results": "A new method for problem 1!"},
            "duplicate:results",
        ),
        (
            {
                "takeaways": [
                    "A new method for problem one.",
                    "Another point.",
                    "A new method for problem one!",
                ]
            },
            "duplicate:takeaways[2]",
        ),
    ],
)
def test_each_check_names_what_fails(fields: dict[str, object], expected: str) -> None:
    assert expected in failures(**fields)


def test_language_is_checked_by_script() -> None:
    chinese = draft(
        tldr="本文针对问题 1 提出了一种新的方法。",
        takeaways=[
            "现有方法难以解决问题 1。",
            "本文提出了新的方法。",
            "实验表明性能提升 3.2 个点。",
        ],
        background="现有的方法很难解决问题 1。",
        method="一种用于 Neural Methods 问题的新方法。",
        results="实验显示比以前的工作高 3.2 个点。",
    )
    assert check(SummaryDraft(**chinese), EVIDENCE, "zh") == []
    english = [f.label for f in check(SummaryDraft(**draft()), EVIDENCE, "zh")]
    assert "language:tldr" in english and "language:results" in english
    assert "language:keywords[0]" not in english  # technical terms may stay in English
    assert "language:tldr" in [f.label for f in check(SummaryDraft(**chinese), EVIDENCE, "en")]
    assert written_in("Wir schlagen eine neue Methode für Problem 1 vor.", "de")
    assert not written_in("Мы предлагаем новый метод для задачи.", "de")
    assert written_in("Мы предлагаем новый метод для задачи.", "ru")
    assert not written_in("本文提出了一种新的方法来解决这个问题。", "ja")  # no kana
    assert written_in("本論文では新しい手法を提案します。", "ja")
    assert written_in("anything at all, in any script", "klingon")  # unknown: not judged


EIGHT_CHARACTERS = draft(
    tldr="本文提出新的方法。",
    takeaways=["现有方法难以解决", "新方法效果非常好", "实验结果令人满意"],
    background="现有方法都很困难",
    method="提出一种新的方法",
    results="实验效果明显更好",
)


def test_cjk_characters_count_as_words() -> None:
    english = failures("en", **EIGHT_CHARACTERS)
    assert {"language:tldr", "language:takeaways[0]", "language:method"} <= set(english)
    assert "language:summary" in english
    assert failures("zh", **EIGHT_CHARACTERS) == []


def test_the_language_of_the_summary_is_judged_as_a_whole() -> None:
    short = draft(
        tldr="A new method.",
        takeaways=["Problem 1 is hard.", "A new method.", "It wins."],
        background="Problem 1 is hard.",
        method="A new method.",
        results="It wins clearly.",
    )
    assert failures("zh", **short) == ["language:summary"]
    assert failures("en", **short) == []
    english = SummaryDraft(**short)
    with pytest.raises(SummaryError, match="the summary is not written in Simplified Chinese"):
        patch(english, check(english, EVIDENCE, "zh"), EVIDENCE, "zh")


def test_numbers_are_normalized() -> None:
    assert numbers_in("1,000 and 2.50 and ３ and 3D and 提升3.2个点 but not F1 or x2") == [
        "1000",
        "2.5",
        "3",
        "3",
        "3.2",
    ]


def test_patch_keeps_good_parts_and_replaces_bad_ones_with_the_abstract() -> None:
    bad = SummaryDraft(
        **draft(
            tldr="We propose a new method. It wins by 9.9 points.",
            takeaways=["Problem 1 is hard.", "It wins by 9.9 points.", "xxx", "Another point."],
            results="It outperforms prior work by 5 points.",
            novelty="N/A",
            keywords=["neural methods", "None"],
        )
    )
    fixed = patch(bad, check(bad, EVIDENCE, "en"), EVIDENCE, "en")
    assert fixed.tldr == "We propose a new method."  # its own first sentence
    assert fixed.takeaways[:2] == ["Problem 1 is hard.", "Another point."]
    assert len(fixed.takeaways) == 3  # topped up with a sentence of the abstract
    assert fixed.takeaways[2] in PAPER.abstract
    assert fixed.results.startswith("Experiments show it outperforms prior work by 3.2 points")
    assert fixed.novelty == ""
    assert fixed.keywords == ["neural methods"]
    assert check(fixed, EVIDENCE, "en") == []


def test_patch_never_puts_the_wrong_language_in() -> None:
    bad = SummaryDraft(
        tldr="本文提出了一种解决问题 1 的新方法。",
        takeaways=[
            "现有方法难以解决问题 1。",
            "本文提出了新的方法。",
            "It wins by 9.9 points here.",
        ],
        results="It outperforms prior work by 5 points.",
    )
    fixed = patch(bad, check(bad, EVIDENCE, "zh"), EVIDENCE, "zh")
    assert fixed.takeaways == ["现有方法难以解决问题 1。", "本文提出了新的方法。"]
    assert fixed.results == ""
    hopeless = SummaryDraft(tldr="性能提升 9.9 个点。", takeaways=["本文提出了新的方法。"])
    with pytest.raises(SummaryError, match="TL;DR"):
        patch(hopeless, check(hopeless, EVIDENCE, "zh"), EVIDENCE, "zh")


def test_the_schema_has_no_metadata_and_parsing_is_lenient() -> None:
    schema = response_schema()
    assert set(schema["properties"]) == set(SummaryDraft.model_fields)
    assert not {"title", "authors", "links", "language", "model", "source"} & set(
        schema["properties"]
    )
    assert schema["required"] == list(schema["properties"])
    assert schema["properties"]["takeaways"]["minItems"] == 3
    parsed = parse_draft(
        '```json\n{"tldr": " One  sentence. ", "takeaways": ["a", null, " "], '
        '"title": "Invented", "authors": ["Someone"], "method": null}\n```'
    )
    assert (parsed.tldr, parsed.takeaways, parsed.method) == ("One sentence.", ["a"], "")
    assert "title" not in parsed.model_dump()
    for broken in ("The sky is blue.", '{"tldr": "x", "takeaways": [', "[1, 2]", '{"tldr": 1}'):
        with pytest.raises(DraftError):
            parse_draft(broken)
