from datetime import UTC, datetime

import pytest

from bot.models import Paper
from bot.topics import Topic, TopicError, TopicKind, parse_topic, parse_topics

K, C, A, Q = TopicKind.KEYWORD, TopicKind.CATEGORY, TopicKind.AUTHOR, TopicKind.QUERY


@pytest.mark.parametrize(
    ("text", "kind", "canonical"),
    [
        ("NeRF", K, "nerf"),
        ("  nerf ", K, "nerf"),
        ("Gaussian   Splatting", K, "gaussian splatting"),
        ('"gaussian splatting"', K, "gaussian splatting"),
        ("cs.CV", C, "cs.CV"),
        ("cs.cv", C, "cs.CV"),
        ("CS.CV", C, "cs.CV"),
        ("astro-ph.GA", C, "astro-ph.GA"),
        ("hep-th", C, "hep-th"),
        ("math", C, "math"),
        ("cond-mat.str-el", C, "cond-mat.str-el"),
        ("math.MP", C, "math-ph"),
        ("stat.TH", C, "math.ST"),
        ("au:Mildenhall", A, "au:mildenhall"),
        ("author: Ben  Mildenhall", A, "au:ben mildenhall"),
        ("NeRF in:cs.CV,cs.GR", K, "nerf in:cs.CV,cs.GR"),
        ("nerf in: cs.gr , cs.cv", K, "nerf in:cs.CV,cs.GR"),
        ("au:Mildenhall in:cs.CV", A, "au:mildenhall in:cs.CV"),
        ('q:cat:cs.CV AND abs:"radiance field"', Q, 'q:cat:cs.CV AND abs:"radiance field"'),
        ("query:  ti:diffusion   AND cat:cs.LG", Q, "q:ti:diffusion AND cat:cs.LG"),
        ("3D reconstruction", K, "3d reconstruction"),
        ("C++", K, "c++"),
    ],
)
def test_parse_and_canonicalize(text: str, kind: TopicKind, canonical: str) -> None:
    topic = parse_topic(text)
    assert topic.kind is kind
    assert topic.canonical == canonical
    assert parse_topic(topic.canonical) == topic


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty topic"),
        ("   ", "empty topic"),
        ("x" * 300, "too long"),
        ("cs.XY", "unknown arXiv category"),
        ("cs.CVV", "did you mean cs.CV"),
        ("NeRF in:cs.CVV", "did you mean cs.CV"),
        ("au:", "empty author"),
        ("q:", "empty query"),
        ('q:abs:"open', "unbalanced quotes"),
        ("q:(cat:cs.CV", "unbalanced parentheses"),
        ("<b>nerf</b>", "may contain letters"),
        ("nerf{x}", "may contain letters"),
        ("---", "may contain letters"),
    ],
)
def test_rejected_topics(text: str, message: str) -> None:
    with pytest.raises(TopicError, match=message):
        parse_topic(text)


def test_several_topics_deduplicated() -> None:
    topics = parse_topics("NeRF; nerf ;cs.cv;; cs.CV")
    assert [t.canonical for t in topics] == ["nerf", "cs.CV"]
    with pytest.raises(TopicError):
        parse_topics(" ; ")


def paper(title: str = "A paper", abstract: str = "", categories=("cs.CV",), authors=("A B",)):
    when = datetime(2024, 4, 1, tzinfo=UTC)
    return Paper(
        "2404.00001",
        1,
        title,
        tuple(authors),
        abstract,
        tuple(categories),
        categories[0],
        when,
        when,
    )


@pytest.mark.parametrize(
    ("topic", "p", "expected"),
    [
        ("NeRF", paper(title="NeRF in the Wild"), True),
        ("nerf", paper(abstract="We improve NeRFs for robots."), True),
        ("nerf", paper(abstract="A nerfed baseline."), False),
        ("nerf", paper(abstract="InstantNeRF is fast."), False),
        ("gaussian splatting", paper(abstract="3D Gaussian\nSplatting scenes"), True),
        ("gaussian splatting", paper(abstract="Gaussian-splatting based avatars"), True),
        ("gaussian splatting", paper(abstract="splatting of gaussian kernels"), False),
        ("cs.CV", paper(categories=("cs.LG", "cs.CV")), True),
        ("cs.CV", paper(categories=("cs.LG",)), False),
        ("cs", paper(categories=("cs.LG",)), True),
        ("math", paper(categories=("math-ph",)), False),
        ("math-ph", paper(categories=("math.MP",)), True),
        ("quant-ph", paper(categories=("cond-mat.str-el", "quant-ph")), True),
        ("au:Mildenhall", paper(authors=("Ben Mildenhall", "X")), True),
        ("au:mildenhall", paper(authors=("Mildenhaller",)), False),
        ("au:Muller", paper(authors=("Thomas Müller",)), True),
        ("au:li wang", paper(authors=("Ming Li", "Wang Fang")), False),
        ("au:ben mildenhall", paper(authors=("Ben Mildenhall",)), True),
        ("NeRF in:cs.GR", paper(title="NeRF", categories=("cs.CV",)), False),
        ("NeRF in:cs.GR,cs.CV", paper(title="NeRF", categories=("cs.CV",)), True),
        ("c++", paper(abstract="Written in C++ and Rust."), True),
        ("schrodinger bridge", paper(abstract="A Schrödinger Bridge for images."), True),
        ("schrödinger", paper(abstract="The SCHRODINGER equation."), True),
    ],
)
def test_local_match(topic: str, p: Paper, expected: bool) -> None:
    assert parse_topic(topic).matches(p) is expected


def test_match_says_what_matched() -> None:
    p = paper(
        title="Gaussian-Splatting avatars",
        authors=("Thomas Müller",),
        categories=("cs.GR", "cs.CV"),
    )
    assert parse_topic("gaussian splatting").match(p) == "gaussian-splatting"
    assert parse_topic("au:muller").match(p) == "Thomas Müller"
    assert parse_topic("cs").match(p) == "cs.GR"
    assert parse_topic("cs.RO").match(p) is None
    assert parse_topic("q:cat:cs.CV").match(p) == "cat:cs.CV"


def test_api_clauses() -> None:
    assert parse_topic("NeRF").api_clause == '(ti:"nerf" OR abs:"nerf")'
    assert parse_topic("au:Mildenhall").api_clause == 'au:"mildenhall"'
    assert parse_topic("cs.CV").api_clause == "cat:cs.CV"
    assert "cat:math.AG" in parse_topic("math").api_clause
    assert parse_topic("NeRF in:cs.CV").api_clause == '((ti:"nerf" OR abs:"nerf") AND (cat:cs.CV))'
    assert parse_topic("cs.CV").feeds == ("cs.CV",)
    assert parse_topic("NeRF in:cs.CV,cs.GR").feeds == ("cs.CV", "cs.GR")
    assert parse_topic("NeRF").feeds == ()
    assert Topic(K, "nerf") == parse_topic("NERF")
