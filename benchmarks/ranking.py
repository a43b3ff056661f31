"""Benchmark relevance ranking against readers with hidden interests, and its cost.

Labelled set: the real cs.CV and cs.CL papers of ten announcement days
(tests/fixtures/arxiv_metadata/, CC0). Each simulated reader subscribes to a
whole category but wants only a sub-field it never states: papers whose title
or abstract names it, or papers cross-listed to a second category. Day by day
the reader gets a digest (the first 10 as cards, the rest as a list) and casts
5 votes: 👍 on the first two papers of its sub-field it sees in the digest,
👎 on random other cards.

For day 1 (no votes), after 5 and after 20 votes the digests of the later days
are ranked with the votes frozen, and precision@10 and nDCG@10 against the
hidden interests are averaged over days and readers, for: announcement order;
arxiv-sanity-lite (TF-IDF of title + abstract + authors, 1–2-word terms,
sublinear tf, min_df 5, max_df 0.1, 20,000 terms, fitted on all papers; a
linear SVM, C = 0.01, balanced classes, liked papers against every other
paper seen); paperbot's model (bot/relevance, given the same votes and, as the
bot does, the papers shown before its profile was built on the latest vote); and
the ceiling (a perfect
ranker: limited by how many papers of the sub-field a day has). One more row
gives paperbot a one-line /interests text and no votes.

The same is measured, in a table of its own, for held-out readers of the
other categories of tests/fixtures/arxiv_metadata/papers.jsonl.gz (cs.RO,
quant-ph, astro-ph.GA): they are never used to choose or tune the model, only
to see whether a choice made on the readers above carries over.

Then the cost: 1,000 chats × 600 new papers scored (each chat with three
topics, three mutes, 20 votes, 500 papers shown and for half of them
interests), in a fresh process, with its peak memory.

Run: python benchmarks/ranking.py [--cost-only] [--write-model PAPERS.jsonl.gz]
(--write-model refits bot/relevance/model.npz from a file of papers in the fixture's format;
the shipped one is fitted on shared/fixtures/arxiv_metadata/papers.jsonl.gz, five fields)
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _inputs import FIXTURES, ROOT

from bot.models import Paper
from bot.relevance import (
    Profile,
    Reader,
    build_profile,
    default_featurizer,
    fit_featurizer,
    parse_mute,
    rank,
)
from bot.relevance.profile import SHOWN
from bot.topics import parse_topic
from tests.arxiv_metadata import FIXTURE, load_papers

MODEL = ROOT / "bot" / "relevance" / "model.npz"
EVERY_CATEGORY = FIXTURES / "arxiv_metadata" / "papers.jsonl.gz"
CARDS = 10
VOTES_A_DAY = 5
LIKES_A_DAY = 2
CHECKPOINTS = (0, 5, 20)


@dataclass(frozen=True)
class HiddenInterest:
    category: str
    name: str
    interests: str
    terms: str = ""
    cross_list: str = ""

    def wants(self, paper: Paper) -> bool:
        if self.cross_list:
            return self.cross_list in paper.categories
        return re.search(self.terms, f"{paper.title} {paper.abstract}", re.IGNORECASE) is not None


READERS = [
    HiddenInterest(
        "cs.CV",
        "3d",
        "3D scene reconstruction and rendering",
        terms=r"gaussian splatting|radiance field|nerf\b|novel[- ]view|3d reconstruction"
        r"|point cloud|mesh",
    ),
    HiddenInterest(
        "cs.CV",
        "medical",
        "medical image analysis",
        terms=r"medical|clinical|\bmri\b|\bct\b|patholog|radiolog|lesion|tumou?r|x-ray|ultrasound",
    ),
    HiddenInterest("cs.CV", "video", "video understanding", terms=r"\bvideos?\b"),
    HiddenInterest(
        "cs.CV",
        "driving",
        "perception for self-driving cars",
        terms=r"autonomous driving|driving|lidar|\bbev\b|vehicle",
    ),
    HiddenInterest(
        "cs.CV",
        "generation",
        "generating and editing images from prompts",
        terms=r"text-to-image|image generation|image editing|diffusion model",
    ),
    HiddenInterest("cs.CV", "robotics", "vision for robots", cross_list="cs.RO"),
    HiddenInterest(
        "cs.CL", "speech", "spoken language and audio", terms=r"speech|spoken|\basr\b|audio"
    ),
    HiddenInterest(
        "cs.CL",
        "translation",
        "machine translation across languages",
        terms=r"translation|multilingual|low-resource|cross-lingual",
    ),
    HiddenInterest(
        "cs.CL",
        "safety",
        "attacks on language models and their safety",
        terms=r"jailbreak|harmful|safety|toxic|red[- ]teaming",
    ),
    HiddenInterest(
        "cs.CL", "retrieval", "retrieval-augmented generation", terms=r"retrieval|\brag\b"
    ),
    HiddenInterest(
        "cs.CL",
        "medicine",
        "language models in medicine",
        terms=r"clinical|medical|health|patient",
    ),
    HiddenInterest("cs.CL", "math", "mathematical problem solving", terms=r"math|mathematical"),
]

# never used to choose the model: other categories, to see whether a choice carries over
HELD_OUT = [
    HiddenInterest(
        "cs.RO",
        "legged",
        "legged and humanoid locomotion",
        terms=r"legged|quadruped|humanoid|locomotion|biped",
    ),
    HiddenInterest(
        "cs.RO", "aerial", "drones and aerial robots", terms=r"\buavs?\b|aerial|drones?\b|quadrotor"
    ),
    HiddenInterest("cs.RO", "control", "control of robotic systems", cross_list="eess.SY"),
    HiddenInterest(
        "quant-ph",
        "error correction",
        "quantum error correction and fault tolerance",
        terms=r"error[- ]correct|surface code|logical qubit|fault[- ]toleran",
    ),
    HiddenInterest(
        "quant-ph",
        "communication",
        "quantum communication and cryptography",
        terms=r"quantum key|\bqkd\b|communication|cryptograph|network",
    ),
    HiddenInterest(
        "quant-ph",
        "open systems",
        "open quantum systems and thermodynamics",
        terms=r"thermodynamic|heat engine|open quantum|lindblad|non-markovian|dissipat",
    ),
    HiddenInterest(
        "astro-ph.GA",
        "milky way",
        "the Milky Way and its stars",
        terms=r"milky way|galactic disk|\bgaia\b",
    ),
    HiddenInterest("astro-ph.GA", "dark matter", "dark matter in galaxies", terms=r"dark matter"),
    HiddenInterest("astro-ph.GA", "cosmology", "galaxies and cosmology", cross_list="astro-ph.CO"),
]

# candidates (indexes into the corpus), liked, disliked, papers seen so far → scores
Ranker = Callable[[list[int], list[int], list[int], list[int]], np.ndarray]


class Lab:
    """The corpus, its features and the rankers compared on it."""

    def __init__(self, papers: list[Paper]) -> None:
        self.papers = papers
        self.days = [p.published.date().isoformat() for p in papers]
        self.featurizer = default_featurizer()
        self.vectors = self.featurizer.paper_vectors(papers)
        self.by_id = {p.id: row for p, row in zip(papers, self.vectors, strict=True)}

    def candidates(self, category: str, day: str) -> list[int]:
        return [
            i for i, p in enumerate(self.papers) if self.days[i] == day and category in p.categories
        ]

    def paperbot(self, category: str, interests: str = "") -> Ranker:
        """paperbot's ranking; as in bot/ranking.py, a profile is built when the votes
        change, with the papers shown by then, and kept."""
        topics = [parse_topic(category)]
        profiles: dict[tuple[tuple[int, ...], tuple[int, ...]], Profile] = {}

        def ranked(cands: list[int], liked: list[int], disliked: list[int], seen: list[int]):
            votes = (tuple(liked), tuple(disliked))
            if votes not in profiles:
                waiting = set(cands)
                profiles[votes] = build_profile(
                    self.featurizer,
                    [self.papers[i] for i in liked],
                    [self.papers[i] for i in disliked],
                    interests,
                    self.by_id,
                    [self.papers[i] for i in reversed(seen) if i not in waiting],
                )
            profile = profiles[votes]
            chosen = [self.papers[i] for i in cands]
            return rank(chosen, self.vectors[cands], [Reader(topics, (), profile)]).values[0]

        return ranked


class SanityLite:
    """arxiv-sanity-lite's recommendation (compute.py features, serve.py svm_rank)."""

    def __init__(self, papers: list[Paper]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            input="content",
            encoding="utf-8",
            decode_error="replace",
            strip_accents="unicode",
            lowercase=True,
            analyzer="word",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
            ngram_range=(1, 2),
            max_features=20000,
            norm="l2",
            use_idf=True,
            smooth_idf=True,
            sublinear_tf=True,
            max_df=0.1,
            min_df=5,
        )
        corpus = [" ".join([p.title, p.abstract, " ".join(p.authors)]) for p in papers]
        self.x = vectorizer.fit_transform(corpus).astype(np.float32)

    def rank(self, cands: list[int], liked: list[int], _: list[int], seen: list[int]):
        from sklearn import svm

        if not liked:
            return np.zeros(len(cands))
        y = np.isin(seen, liked).astype(np.float32)
        clf = svm.LinearSVC(
            class_weight="balanced", verbose=False, max_iter=10000, tol=1e-6, C=0.01
        )
        clf.fit(self.x[seen], y)
        return clf.decision_function(self.x[cands])


def announcement_order(cands: list[int], *_: list[int]) -> np.ndarray:
    return np.zeros(len(cands))


def order(ranker: Ranker, cands: list[int], liked, disliked, seen) -> list[int]:
    scores = np.asarray(ranker(cands, liked, disliked, seen))
    return [cands[j] for j in np.argsort(-scores, kind="stable")]


def metrics(relevant: list[bool]) -> tuple[float, float]:
    """precision@10 and nDCG@10 of one ranked day."""
    top = relevant[:CARDS]
    gain = sum(r / np.log2(k + 2) for k, r in enumerate(top))
    ideal = sum(1 / np.log2(k + 2) for k in range(min(CARDS, sum(relevant))))
    return sum(top) / CARDS, gain / ideal if ideal else 0.0


def votes_cast(lab: Lab, reader: HiddenInterest, ranker: Ranker) -> list[tuple[int, bool]]:
    """The votes a reader casts day by day on the digests `ranker` makes for it."""
    rng = random.Random(f"{reader.category}/{reader.name}")
    votes: list[tuple[int, bool]] = []
    seen: list[int] = []
    for day in _days(lab):
        cands = lab.candidates(reader.category, day)
        seen += cands
        liked = [i for i, up in votes if up]
        disliked = [i for i, up in votes if not up]
        ranked = order(ranker, cands, liked, disliked, seen)
        wanted = [i for i in ranked if reader.wants(lab.papers[i])][:LIKES_A_DAY]
        others = [i for i in ranked[:CARDS] if not reader.wants(lab.papers[i])]
        unwanted = rng.sample(others, min(len(others), VOTES_A_DAY - len(wanted)))
        today = [(i, True) for i in wanted] + [(i, False) for i in unwanted]
        rng.shuffle(today)
        votes += today
    return votes


def evaluate(lab: Lab, reader: HiddenInterest, ranker: Ranker, votes_after: int, votes) -> list:
    """(precision@10, nDCG@10) of each day after the reader cast `votes_after` votes."""
    frozen = votes[:votes_after]
    liked = [i for i, up in frozen if up]
    disliked = [i for i, up in frozen if not up]
    days = _days(lab)
    first = -(-votes_after // VOTES_A_DAY)
    seen: list[int] = []
    results = []
    for number, day in enumerate(days):
        cands = lab.candidates(reader.category, day)
        seen += cands
        if (votes_after == 0 and number > 0) or (votes_after and number < first):
            continue
        ranked = order(ranker, cands, liked, disliked, seen)
        results.append(metrics([reader.wants(lab.papers[i]) for i in ranked]))
    return results


def compared(lab: Lab, readers: list[HiddenInterest]) -> dict[str, dict[HiddenInterest, list]]:
    """Each method's (precision@10, nDCG@10) per reader at each checkpoint."""
    sanity = SanityLite(lab.papers)
    methods: dict[str, Callable[[HiddenInterest], Ranker]] = {
        "announcement order": lambda _: announcement_order,
        "arxiv-sanity-lite svm": lambda _: sanity.rank,
        "paperbot": lambda r: lab.paperbot(r.category),
        "ceiling": lambda r: (
            lambda cands, *_: np.array([r.wants(lab.papers[i]) for i in cands], dtype=float)
        ),
    }
    rows: dict[str, dict[HiddenInterest, list]] = {name: {} for name in methods}
    for name, make in methods.items():
        for reader in readers:
            ranker = make(reader)
            votes = votes_cast(lab, reader, ranker)
            rows[name][reader] = [
                np.mean(evaluate(lab, reader, ranker, n, votes), axis=0) for n in CHECKPOINTS
            ]
    rows["paperbot + /interests"] = {
        r: [np.mean(evaluate(lab, r, lab.paperbot(r.category, r.interests), 0, []), axis=0)]
        for r in readers
    }
    return rows


def quality(lab: Lab, held_out: Lab) -> None:
    rows = compared(lab, READERS)
    daily = {r: _wanted_a_day(lab, r) for r in READERS}
    table(lab, rows, READERS, "all readers")
    full = [r for r in READERS if daily[r] >= CARDS]
    table(lab, rows, full, f"readers with at least {CARDS} wanted papers a day (a full digest)")
    readers_line(lab, READERS)
    table(held_out, compared(held_out, HELD_OUT), HELD_OUT, "held-out readers (other categories)")
    readers_line(held_out, HELD_OUT)


def readers_line(lab: Lab, readers: list[HiddenInterest]) -> None:
    print("readers (category / sub-field: wanted papers a day, share):")
    print(
        "  "
        + "; ".join(
            f"{r.category}/{r.name}: {_wanted_a_day(lab, r):.1f}, {_base(lab, [r]):.2f}"
            for r in readers
        )
    )


def table(lab: Lab, rows: dict, readers: list[HiddenInterest], title: str) -> None:
    print(f"\n{title}: {len(readers)}; base rate {_base(lab, readers):.3f}")
    print(f"{'method':<26}" + "".join(f"{_label(n):>22}" for n in CHECKPOINTS))
    print(f"{'':<26}" + "".join(f"{'p@10  nDCG@10':>22}" for _ in CHECKPOINTS))
    for name, by_reader in rows.items():
        cells = np.mean([by_reader[r] for r in readers], axis=0)
        print(f"{name:<26}" + "".join(_cell(c) for c in cells))


def _days(lab: Lab) -> list[str]:
    return sorted(set(lab.days))


def _wanted_a_day(lab: Lab, reader: HiddenInterest) -> float:
    wanted = [
        sum(reader.wants(lab.papers[i]) for i in lab.candidates(reader.category, day))
        for day in _days(lab)
    ]
    return float(np.mean(wanted))


def _base(lab: Lab, readers: list[HiddenInterest]) -> float:
    """The share of a day's papers that a reader wants, averaged over days and readers."""
    shares = [
        np.mean([r.wants(lab.papers[i]) for i in lab.candidates(r.category, day)])
        for r in readers
        for day in _days(lab)
    ]
    return float(np.mean(shares))


def _label(votes: int) -> str:
    return "day 1, no votes" if votes == 0 else f"after {votes} votes"


def _cell(values: Sequence[float]) -> str:
    return f"{values[0]:>14.3f}{values[1]:>8.3f}"


def cost(lab_papers: list[Paper], chats: int = 1000, new: int = 600) -> None:
    """Score `new` papers for `chats` chats, as one delivery run would."""
    rng = random.Random(7)
    featurizer = default_featurizer()
    history, papers = lab_papers[:-new], lab_papers[-new:]
    history_vectors = featurizer.paper_vectors(history)
    by_id = {p.id: row for p, row in zip(history, history_vectors, strict=True)}
    # topics and mutes drawn from pools of 300 keywords (terms of the model's vocabulary),
    # 300 authors and a few categories: about 1,500 distinct ones to match against each paper
    keywords = rng.sample(sorted(featurizer.lexicon.index), 300)
    authors = [f"au:{p.authors[0]}" for p in rng.sample(history, 300)]
    started = time.perf_counter()
    readers = []
    for _ in range(chats):
        examples = rng.sample(history, 20)
        profile = build_profile(
            featurizer,
            examples[:8],
            examples[8:],
            rng.choice(["", "medical imaging and segmentation"]),
            by_id,
            rng.sample(history, SHOWN),
        )
        category = rng.choice(["cs.CV", "cs.CL"])
        topics = [parse_topic(t) for t in (category, rng.choice(keywords), rng.choice(authors))]
        muted = (rng.choice(keywords), rng.choice(authors), rng.choice(["cs.RO", "cs.LG"]))
        readers.append(Reader(topics, [parse_mute(m) for m in muted], profile))
    profiles = time.perf_counter() - started
    started = time.perf_counter()
    vectors = featurizer.paper_vectors(papers)
    featurized = time.perf_counter() - started
    ranking = rank(papers, vectors, readers)
    orders = [ranking.order(chat) for chat in range(chats)]
    scored = time.perf_counter() - started
    started = time.perf_counter()
    stored = [json.dumps(ranking.score(0, paper).to_json()) for paper in orders[0]]
    explained = (time.perf_counter() - started) / new
    peak = peak_mib()
    print(
        f"cost: {chats} chats x {new} papers featurized ({featurized:.2f}s), scored and ordered:"
        f" {scored:.2f}s in all; peak memory {peak:.0f} MiB\n"
        f"  a (chat, paper)'s stored score JSON: {explained * 1e6:.0f} us to make,"
        f" ~{sum(map(len, stored)) / new:.0f} bytes; profiles of {chats} chats (20 votes,"
        f" {SHOWN} shown each),"
        f" built beforehand: {profiles:.2f}s"
    )


def peak_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited at fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cost-only", action="store_true", help="measure only the cost")
    parser.add_argument("--write-model", type=Path, metavar="PAPERS", help=f"refit {MODEL.name}")
    args = parser.parse_args()
    if args.write_model:
        fit_featurizer(load_papers(args.write_model)).save(MODEL)
        print(f"wrote {MODEL}")
        return 0
    papers = load_papers(FIXTURE)
    if args.cost_only:
        cost(papers)
        return 0
    quality(Lab(papers), Lab(load_papers(EVERY_CATEGORY)))
    # the cost in a fresh process, so its peak memory is the bot's, not the benchmark's
    return subprocess.call([sys.executable, __file__, "--cost-only"])


if __name__ == "__main__":
    sys.exit(main())
