import pytest

from bot.arxiv.ids import ArxivId, InvalidArxivId, parse_arxiv_id, split_versioned


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2404.00409", ArxivId("2404.00409")),
        ("2404.00409v2", ArxivId("2404.00409", 2)),
        ("  arXiv:2404.00409 ", ArxivId("2404.00409")),
        ("ARXIV:2404.00409v3", ArxivId("2404.00409", 3)),
        ("https://arxiv.org/abs/2404.00409", ArxivId("2404.00409")),
        ("http://arxiv.org/abs/2404.00409v1", ArxivId("2404.00409", 1)),
        ("https://arxiv.org/pdf/2404.00409", ArxivId("2404.00409")),
        ("https://arxiv.org/pdf/2404.00409v2.pdf", ArxivId("2404.00409", 2)),
        ("https://www.arxiv.org/abs/2404.00409?context=cs", ArxivId("2404.00409")),
        ("https://export.arxiv.org/abs/2404.00409/", ArxivId("2404.00409")),
        ("https://arxiv.org/html/2404.00409v1", ArxivId("2404.00409", 1)),
        ("<https://arxiv.org/abs/2404.00409>", ArxivId("2404.00409")),
        ("0704.0001", ArxivId("0704.0001")),
        ("1501.00001", ArxivId("1501.00001")),
        ("hep-th/9901001", ArxivId("hep-th/9901001")),
        ("hep-th/9901001v2", ArxivId("hep-th/9901001", 2)),
        ("arXiv:math.GT/0309136", ArxivId("math.GT/0309136")),
        ("https://arxiv.org/abs/astro-ph/0601001", ArxivId("astro-ph/0601001")),
        ("https://arxiv.org/pdf/cond-mat/0102536v1.pdf", ArxivId("cond-mat/0102536", 1)),
    ],
)
def test_accepted_forms(text: str, expected: ArxivId) -> None:
    assert parse_arxiv_id(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "2404.409",
        "2404.004091",
        "2404.00409v0",
        "2404.00409v",
        "https://example.com/abs/2404.00409",
        "https://arxiv.org/list/cs.CV/new",
        "hep-th/99010",
        "<script>alert(1)</script>",
        "2404.00409 2404.00410",
        "x" * 5000,
    ],
)
def test_rejected_forms(text: str) -> None:
    with pytest.raises(InvalidArxivId) as info:
        parse_arxiv_id(text)
    assert len(str(info.value)) < 120


def test_entry_ids_of_feeds() -> None:
    assert split_versioned("http://arxiv.org/abs/2104.12255v1") == ArxivId("2104.12255", 1)
    assert split_versioned("oai:arXiv.org:2504.17830v1") == ArxivId("2504.17830", 1)
    assert split_versioned("http://arxiv.org/abs/astro-ph/0601001v1") == ArxivId(
        "astro-ph/0601001", 1
    )
    assert str(ArxivId("2404.00409", 2)) == "2404.00409v2"
