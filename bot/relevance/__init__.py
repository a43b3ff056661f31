"""Relevance: score each chat's papers from its topics, 👍 / 👎 and /interests; mutes.

Pure and platform-free. Typical use, per delivery run::

    featurizer = default_featurizer()              # once per process
    vectors = featurizer.paper_vectors(papers)     # each paper once
    profile = build_profile(featurizer, liked, disliked, interests, shown=sent)  # on votes
    ranking = rank(papers, vectors, [Reader(topics, mutes, profile), ...])
    ranking.values[chat, paper]; ranking.order(chat); ranking.score(chat, paper).to_json()
"""

from bot.relevance.features import Featurizer, default_featurizer, fit_featurizer, paper_text
from bot.relevance.mutes import parse_mute
from bot.relevance.profile import Liked, Profile, build_profile
from bot.relevance.scoring import Ranking, Reader, Score, rank, score

__all__ = [
    "Featurizer",
    "Liked",
    "Profile",
    "Ranking",
    "Reader",
    "Score",
    "build_profile",
    "default_featurizer",
    "fit_featurizer",
    "paper_text",
    "parse_mute",
    "rank",
    "score",
]
