"""Relevance scoring on real arXiv papers (tests/fixtures/arxiv_metadata, CC0)."""

from __future__ import annotations

import json
import logging
import math
import re
import socket
import subprocess
import sys
from dataclasses import replace
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from bot.models import Paper
from bot.relevance import (
    Featurizer,
    Reader,
    Score,
    build_profile,
    default_featurizer,
    features,
    fit_featurizer,
    parse_mute,
    rank,
    score,
)
from bot.relevance.features import MODEL_FILE, load_featurizer
from bot.relevance.lexical import fit_vocabulary
from bot.topics import TopicError, parse_topic
from tests.arxiv_metadata import load_papers

VIDEO = re.compile(r"\bvideos?\b", re.IGNORECASE)
MEDICAL = re.compile(r"medical|clinical|\bmri\b|patholog|radiolog|lesion|tumou?r", re.IGNORECASE)


@pytest.fixture(scope="module")
def days() -> dict[str, list[Paper]]:
    """The cs.CV papers of each announcement day."""
    by_day: dict[str, list[Paper]] = {}
    for paper in load_papers():
        if "cs.CV" in paper.categories:
            by_day.setdefault(paper.published.date().isoformat(), []).append(paper)
    return by_day


@pytest.fixture(scope="module")
def featurizer() -> Featurizer:
    return default_featurizer()


def wants(pattern: re.Pattern[str], paper: Paper) -> bool:
    return pattern.search(f"{paper.title} {paper.abstract}") is not None


def first_ten_share(papers: list[Paper], featurizer: Featurizer, reader: Reader, pattern) -> float:
    ranking = rank(papers, featurizer.paper_vectors(papers), [reader])
    return sum(wants(pattern, papers[i]) for i in ranking.order(0)[:10]) / 10


def test_topic_part_prefers_narrow_and_several_topics(days, featurizer) -> None:
    paper = replace(days["2025-10-13"][0], title="NeRF", authors=("Ben Mildenhall",))
    follows = ["", "cs.CV", "nerf", "au:Mildenhall", "nerf; cs.CV", "nerf; au:Mildenhall; cs.CV"]
    readers = [Reader([parse_topic(t) for t in f.split(";") if t]) for f in follows]
    none, category, keyword, author, two, three = rank(
        [paper], featurizer.paper_vectors([paper]), readers
    ).values[:, 0]
    assert none == 0
    assert keyword > category > 0
    assert author == keyword
    assert three > two > keyword
    assert three < 1


def test_cold_start_orders_by_topic_matches(days, featurizer) -> None:
    papers = days["2025-10-13"]
    reader = Reader([parse_topic("cs.CV"), parse_topic("video"), parse_topic("cs.RO")])
    ranking = rank(papers, featurizer.paper_vectors(papers), [reader])
    ordered = [papers[i] for i in ranking.order(0)]
    counts = [sum(t.matches(p) for t in reader.topics) for p in ordered]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] >= 2
    first = ranking.score(0, ranking.order(0)[0])
    assert first.feedback is None and first.interests is None
    assert first.value == first.topics
    # equal scores keep the announcement order
    plain = [i for i in ranking.order(0) if counts[ranking.order(0).index(i)] == 1]
    assert plain == sorted(plain)


def test_likes_pull_similar_papers_up(days, featurizer) -> None:
    liked = [p for p in days["2025-10-13"] if VIDEO.search(p.title)][:3]
    reader = Reader([parse_topic("cs.CV")])
    taught = replace(reader, profile=build_profile(featurizer, liked))
    papers = days["2025-10-14"]
    before = first_ten_share(papers, featurizer, reader, VIDEO)
    after = first_ten_share(papers, featurizer, taught, VIDEO)
    assert after >= 0.6 > before


def test_dislikes_push_similar_papers_down(days, featurizer) -> None:
    disliked = [p for p in days["2025-10-13"] if VIDEO.search(p.title)][:5]
    papers = days["2025-10-14"]
    vectors = featurizer.paper_vectors(papers)
    profile = build_profile(featurizer, disliked=disliked)
    ranking = rank(papers, vectors, [Reader([parse_topic("cs.CV")], profile=profile)])
    video = [i for i, p in enumerate(papers) if wants(VIDEO, p)]
    order = ranking.order(0)
    mean_place = np.mean([order.index(i) for i in video])
    assert mean_place > 0.7 * len(papers)
    assert all(ranking.score(0, i).feedback < 0.5 for i in video[:5])


def test_papers_shown_without_a_vote_widen_what_a_like_finds(days, featurizer) -> None:
    """One 👍 on a medical paper; the papers of two days were shown and not voted on. Over
    the later days more medical papers make the first ten with them, and on no day fewer."""
    first, second, *later = sorted(days)
    liked = [p for p in days[first] if MEDICAL.search(p.title)][:1]
    shown = days[second] + days[first]
    reader = Reader([parse_topic("cs.CV")], profile=build_profile(featurizer, liked))
    expanded = replace(reader, profile=build_profile(featurizer, liked, shown=shown))
    alone = [first_ten_share(days[day], featurizer, reader, MEDICAL) for day in later]
    widened = [first_ten_share(days[day], featurizer, expanded, MEDICAL) for day in later]
    assert all(w >= a for w, a in zip(widened, alone, strict=True))
    assert sum(widened) > sum(alone)


def test_shown_papers_expand_only_a_like(days, featurizer) -> None:
    """Shown papers are no votes: alone, beside only 👎, or when they are the voted papers
    themselves, they change nothing."""
    liked, disliked = days["2025-10-13"][:1], days["2025-10-13"][1:4]
    shown = days["2025-10-14"]
    assert build_profile(featurizer, shown=shown).feedback is None
    assert np.array_equal(
        build_profile(featurizer, disliked=disliked, shown=shown).feedback,
        build_profile(featurizer, disliked=disliked).feedback,
    )
    assert np.array_equal(
        build_profile(featurizer, liked, disliked, shown=[*liked, *disliked]).feedback,
        build_profile(featurizer, liked, disliked).feedback,
    )
    assert build_profile(featurizer, liked, liked, shown=shown).feedback is None


def test_interests_text_finds_its_papers(days, featurizer) -> None:
    papers = days["2025-10-14"]
    reader = Reader([parse_topic("cs.CV")])
    medical = replace(
        reader, profile=build_profile(featurizer, interests="medical image segmentation")
    )
    assert first_ten_share(papers, featurizer, medical, MEDICAL) >= 0.7
    assert first_ten_share(papers, featurizer, reader, MEDICAL) <= 0.3


@pytest.mark.parametrize("blank", ["", "   ", "!!! ???", "\n"])
def test_blank_or_meaningless_interests_are_no_interests(featurizer, blank: str) -> None:
    assert build_profile(featurizer, interests=blank).interests is None


def test_opposite_votes_on_one_paper_cancel(days, featurizer) -> None:
    paper = days["2025-10-13"][0]
    profile = build_profile(featurizer, [paper], [paper])
    assert profile.feedback is None
    assert [liked.id for liked in profile.liked] == [paper.id]


def paper_like(base: Paper, **changes) -> Paper:
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("mute", "changes"),
    [
        ("Gaussian Splatting", {"abstract": "We render 3D GAUSSIAN-splatting scenes."}),
        ("gaussian splatting", {"title": "Gaussian Splattings"}),
        ("schrodinger", {"abstract": "A Schrödinger bridge."}),
        ("au:Muller", {"authors": ("Thomas Müller",)}),
        ("au:müller", {"authors": ("T. MULLER",)}),
        ("cs.RO", {"categories": ("cs.CV", "cs.RO")}),
        ("cs", {"categories": ("cs.CV",)}),
    ],
)
def test_mutes_match_like_topics(days, featurizer, mute: str, changes: dict) -> None:
    paper = paper_like(days["2025-10-13"][0], **changes)
    reader = Reader([parse_topic("cs.CV"), parse_topic("au:Müller")], [parse_mute(mute)])
    result = score(paper, featurizer.paper_vectors([paper])[0], reader)
    assert result.muted
    assert result.value == 0
    assert result.muted_by[0][0] == parse_mute(mute).canonical


@pytest.mark.parametrize(
    ("mute", "changes"),
    [
        ("splatting", {"title": "Splat", "abstract": "splats and splatter"}),
        ("au:muller", {"authors": ("Mullerova Anna",)}),
        ("cs.RO", {"categories": ("cs.CV",)}),
    ],
)
def test_mutes_match_whole_words_only(days, featurizer, mute: str, changes: dict) -> None:
    paper = paper_like(days["2025-10-13"][0], **changes)
    reader = Reader([parse_topic("cs.CV")], [parse_mute(mute)])
    result = score(paper, featurizer.paper_vectors([paper])[0], reader)
    assert not result.muted
    assert result.value > 0
    assert result.mutes_checked == (parse_mute(mute).canonical,)


@pytest.mark.parametrize("text", ["", "  ", "q:cat:cs.CV", "cs.NOPE"])
def test_bad_mutes_are_refused(text: str) -> None:
    with pytest.raises(TopicError):
        parse_mute(text)


def test_scores_stay_in_unit_interval(days, featurizer) -> None:
    papers = days["2025-10-14"]
    liked = days["2025-10-13"][:10]
    readers = [
        Reader([parse_topic("cs.CV")]),
        Reader([], profile=build_profile(featurizer, disliked=liked)),
        Reader(
            [parse_topic(t) for t in ("cs.CV", "video", "cs", "au:Wang", "q:abs:x")],
            profile=build_profile(featurizer, liked, interests="video"),
        ),
        Reader([parse_topic("cs.CV")], profile=build_profile(featurizer, [papers[0]])),
    ]
    ranking = rank(papers, featurizer.paper_vectors(papers), readers)
    assert ranking.values.shape == (len(readers), len(papers))
    assert np.all((ranking.values >= 0) & (ranking.values <= 1))
    assert np.isnan(ranking.values).sum() == 0


def test_explanation_says_what_matched_and_what_it_is_like(days, featurizer) -> None:
    liked = [p for p in days["2025-10-13"] if wants(VIDEO, p)][:4]
    target = liked[0]
    reader = Reader(
        [parse_topic("cs.CV"), parse_topic("video"), parse_topic("nerf")],
        [parse_mute("au:Nobody Here"), parse_mute("astro-ph")],
        build_profile(featurizer, liked, interests="video generation"),
    )
    result = score(target, featurizer.paper_vectors([target])[0], reader)
    assert ("cs.CV", "cs.CV") in result.matched
    assert any(topic == "video" and "video" in words for topic, words in result.matched)
    assert all(topic != "nerf" for topic, _ in result.matched)
    assert result.mutes_checked == ("au:nobody here", "astro-ph")
    assert not result.muted
    assert 1 <= len(result.like) <= 3
    assert result.like[0][:2] == (target.id, target.title)
    assert result.like[0][2] == pytest.approx(1, abs=1e-3)
    assert 0 <= result.value <= 1
    assert result.feedback is not None and result.interests is not None
    stored = json.loads(json.dumps(result.to_json()))
    untitled = tuple((i, "", s) for i, _, s in result.like)  # titles live with the papers
    assert Score.from_json(stored) == replace(result, like=untitled)
    assert set(stored) == {"score", "parts", "matched", "mutes_checked", "muted_by", "like"}


def test_nothing_to_rank(featurizer) -> None:
    ranking = rank([], featurizer.paper_vectors([]), [Reader([parse_topic("cs.CV")])])
    assert ranking.values.shape == (1, 0)
    assert ranking.order(0) == []


def test_text_without_words_is_a_zero_row(featurizer) -> None:
    rows = featurizer.vectors(["", "Gaussian splatting for scenes."])
    assert not np.any(rows[0])
    assert np.linalg.norm(rows[1]) == pytest.approx(1, abs=1e-5)


def fields(small: int, word: str) -> list[tuple[str, str]]:
    """400 cs.CV texts, each with one of ten words, then `small` astro-ph.GA texts with `word`."""
    big = [("cs.CV", f"pixels{i % 10} image{i}") for i in range(400)]
    return big + [("astro-ph.GA", f"{word} star{i}") for i in range(small)]


def test_vocabulary_keeps_the_words_of_a_small_field_next_to_a_big_one() -> None:
    vocabulary = fit_vocabulary(fields(20, "galaxy"), size=10)
    assert len(vocabulary) == 10
    assert "galaxy" in vocabulary
    assert vocabulary["galaxy"] == pytest.approx(math.log(421 / 21) + 1)


def test_a_field_of_a_handful_of_texts_does_not_fill_the_vocabulary() -> None:
    assert set(fit_vocabulary(fields(5, "comet"), size=10)) == {f"pixels{k}" for k in range(10)}
    assert "comet" in fit_vocabulary(fields(5, "comet"), size=11)


def test_vocabulary_leaves_out_words_too_common_in_all_texts() -> None:
    assert "nebula" not in fit_vocabulary(fields(50, "nebula"), size=11)


def test_fitted_featurizer_takes_words_from_each_primary_category(days, monkeypatch) -> None:
    monkeypatch.setattr(features, "VOCABULARY_SIZE", 10)
    model = next(iter(days.values()))[0]
    papers = [
        replace(model, title=title, abstract="", primary_category=field, categories=(field,))
        for field, title in fields(20, "galaxy")
    ]
    fitted = fit_featurizer(papers)
    assert fitted.lexicon.size == 10
    assert "galaxy" in fitted.lexicon.index


def test_the_model_loads_without_network(monkeypatch) -> None:
    def refuse(*_args, **_kwargs):
        raise AssertionError("relevance tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    fresh = load_featurizer(Path(str(files("bot.relevance") / MODEL_FILE)))
    assert fresh.vectors(["Gaussian splatting"]).shape == (1, fresh.size)


def test_loading_the_model_leaves_the_logging_setup_alone() -> None:
    """The embedding's package is read, not imported: importing wordllama would turn on
    INFO logging to stderr for the whole process."""
    code = (
        "import logging; from pathlib import Path; from importlib.resources import files; "
        "from bot.relevance.features import MODEL_FILE, load_featurizer; "
        "load_featurizer(Path(str(files('bot.relevance') / MODEL_FILE)))"
        ".vectors(['Gaussian splatting']); "
        "print(len(logging.getLogger().handlers), logging.getLogger().level)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["0", str(logging.WARNING)]
