"""The arXiv category taxonomy: every category and archive a topic may name.

`canonical_category` maps any spelling (`cs.cv`, `CS.CV`, the alias
`math.MP`) to the name arXiv lists papers under; unknown names raise with the
closest matches so the user sees what they probably meant.
"""

from __future__ import annotations

import difflib

_SUBJECTS = {
    "astro-ph": "CO EP GA HE IM SR",
    "cond-mat": "dis-nn mes-hall mtrl-sci other quant-gas soft stat-mech str-el supr-con",
    "cs": (
        "AI AR CC CE CG CL CR CV CY DB DC DL DM DS ET FL GL GR GT HC IR IT LG LO MA MM MS "
        "NA NE NI OH OS PF PL RO SC SD SE SI SY"
    ),
    "econ": "EM GN TH",
    "eess": "AS IV SP SY",
    "math": (
        "AC AG AP AT CA CO CT CV DG DS FA GM GN GR GT HO IT KT LO MG MP NA NT OA OC PR QA "
        "RA RT SG SP ST"
    ),
    "nlin": "AO CD CG PS SI",
    "physics": (
        "acc-ph ao-ph app-ph atm-clus atom-ph bio-ph chem-ph class-ph comp-ph data-an ed-ph "
        "flu-dyn gen-ph geo-ph hist-ph ins-det med-ph optics plasm-ph pop-ph soc-ph space-ph"
    ),
    "q-bio": "BM CB GN MN NC OT PE QM SC TO",
    "q-fin": "CP EC GN MF PM PR RM ST TR",
    "stat": "AP CO ME ML OT TH",
}
_STANDALONE = (
    "gr-qc",
    "hep-ex",
    "hep-lat",
    "hep-ph",
    "hep-th",
    "math-ph",
    "nucl-ex",
    "nucl-th",
    "quant-ph",
)
# arXiv lists these pairs as one category under two names; papers carry the first.
ALIASES = {
    "math.MP": "math-ph",
    "math.IT": "cs.IT",
    "cs.NA": "math.NA",
    "stat.TH": "math.ST",
    "cs.SY": "eess.SY",
    "q-fin.EC": "econ.GN",
}

ARCHIVES: frozenset[str] = frozenset(_SUBJECTS) | frozenset(_STANDALONE)
CATEGORIES: frozenset[str] = frozenset(
    f"{archive}.{sub}" for archive, subs in _SUBJECTS.items() for sub in subs.split()
) | frozenset(_STANDALONE)
_BY_LOWER = {name.lower(): name for name in CATEGORIES | ARCHIVES}


class UnknownCategory(ValueError):
    """Not an arXiv category; the message lists close matches."""


def is_category_like(text: str) -> bool:
    """True when `text` looks like an attempt at a category (`cs.XY`, `hep-th`)."""
    lowered = text.lower()
    return lowered in _BY_LOWER or (
        " " not in lowered and "." in lowered and lowered.split(".")[0] in ARCHIVES
    )


def canonical_category(text: str) -> str:
    """`cs.cv` → `cs.CV`; aliases resolved; raises `UnknownCategory` otherwise."""
    name = _BY_LOWER.get(text.strip().lower())
    if name is None:
        close = difflib.get_close_matches(text.strip(), sorted(CATEGORIES | ARCHIVES), n=3)
        close = close or difflib.get_close_matches(
            text.strip().lower(), sorted(_BY_LOWER), n=3, cutoff=0.6
        )
        hint = f"; did you mean {', '.join(_BY_LOWER.get(c, c) for c in close)}?" if close else ""
        raise UnknownCategory(f"unknown arXiv category {text.strip()!r}{hint}")
    return ALIASES.get(name, name)


def in_category(paper_categories: tuple[str, ...], category: str) -> bool:
    """Whether a paper listed under `paper_categories` belongs to `category` or archive."""
    for listed in paper_categories:
        listed = ALIASES.get(listed, listed)
        if listed == category or listed.split(".")[0] == category:
            return True
    return False


def categories_in(name: str) -> list[str]:
    """The categories an archive (`math`) spans, or the category itself."""
    if name in _SUBJECTS:
        return sorted(c for c in CATEGORIES if c.split(".")[0] == name and c not in ALIASES)
    return [name]


def archive_of(category: str) -> str:
    """The archive whose listing contains a category's papers: `cs.CV` → `cs`,
    `quant-ph` → `quant-ph`."""
    return category.split(".")[0]
