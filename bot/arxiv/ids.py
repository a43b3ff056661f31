"""arXiv identifiers: every form a user may paste, reduced to (base id, version).

Accepted: `2404.00409`, `2404.00409v2`, `arXiv:2404.00409`, `0704.0001`,
old style `hep-th/9901001` and `math.GT/0309136`, and abstract, PDF or HTML
URLs of arxiv.org (`https://arxiv.org/abs/…`, `/pdf/…`, `/pdf/….pdf`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NEW = r"(?P<new>\d{4}\.\d{4,5})"
_OLD = r"(?P<old>[a-z]+(?:-[a-z]+)?(?:\.[A-Za-z]{2})?/\d{7})"
_ID = rf"(?:{_NEW}|{_OLD})(?:v(?P<version>\d+))?"
_URL = re.compile(
    rf"https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html|format)/{_ID}(?:\.pdf)?/?(?:[?#].*)?",
    re.IGNORECASE,
)
_BARE = re.compile(rf"(?:arxiv:)?{_ID}", re.IGNORECASE)


class InvalidArxivId(ValueError):
    """The text is not an arXiv identifier or arXiv URL."""


@dataclass(frozen=True, order=True)
class ArxivId:
    base: str
    version: int | None = None

    def __str__(self) -> str:
        return self.base if self.version is None else f"{self.base}v{self.version}"


def parse_arxiv_id(text: str) -> ArxivId:
    """Parse an id or URL; raises `InvalidArxivId` with a message for the user."""
    candidate = text.strip().strip("<>")
    match = _URL.fullmatch(candidate) or _BARE.fullmatch(candidate)
    if match is None:
        shown = candidate if len(candidate) <= 60 else candidate[:57] + "..."
        raise InvalidArxivId(f"not an arXiv id or URL: {shown!r} (try e.g. 2404.00409)")
    base = match.group("new") or _normalize_old(match.group("old"))
    version = match.group("version")
    if version is not None and int(version) == 0:
        raise InvalidArxivId(f"arXiv versions start at v1: {candidate!r}")
    return ArxivId(base, int(version) if version else None)


def split_versioned(entry_id: str) -> ArxivId:
    """The id of an Atom/RSS entry (`http://arxiv.org/abs/2404.00409v2`, `oai:arXiv.org:…`)."""
    tail = entry_id.strip()
    for prefix in ("oai:arXiv.org:", "oai:arxiv.org:"):
        if tail.startswith(prefix):
            tail = tail[len(prefix) :]
    if "/abs/" in tail:
        tail = tail.split("/abs/", 1)[1]
    return parse_arxiv_id(tail)


def _normalize_old(old: str) -> str:
    archive, number = old.split("/")
    if "." in archive:
        name, sub = archive.split(".")
        archive = f"{name.lower()}.{sub.upper()}"
    else:
        archive = archive.lower()
    return f"{archive}/{number}"
