"""The values that flow through paperbot: papers, summaries, figures, cards, chats.

A `Paper` is built only from arXiv records (API or RSS); nothing a model
writes ever lands in it. Links and venue are derived from the paper's own
comment, abstract and journal reference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

ABS_URL = "https://arxiv.org/abs/"
MAX_AUTHORS_SHOWN = 6

_URL = re.compile(r"https?://[^\s<>\"'()\[\]{}]+[^\s<>\"'()\[\]{}.,;:!?]")
_CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "huggingface.co", "codeberg.org")
_VENUE = re.compile(
    r"\b(?:accepted|to appear|published|appears?)\s+(?:at|in|to|by|for)\s+(?:the\s+)?"
    r"(?P<venue>[^.;,()]{2,80}?\d{4})"
    r"|\b(?P<short>(?:CVPR|ICCV|ECCV|NeurIPS|NIPS|ICLR|ICML|ACL|EMNLP|NAACL|EACL|COLING|AAAI|"
    r"IJCAI|KDD|WWW|SIGIR|SIGGRAPH(?: Asia)?|3DV|WACV|BMVC|CHI|UIST|ICRA|IROS|RSS|CoRL|MICCAI|"
    r"AISTATS|UAI|COLT|STOC|FOCS|SODA|ICASSP|Interspeech|TPAMI|IJCV)(?:\s*'?\s*\d{2,4}))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Paper:
    id: str
    version: int
    title: str
    authors: tuple[str, ...]
    abstract: str
    categories: tuple[str, ...]
    primary_category: str
    published: datetime
    updated: datetime
    comment: str = ""
    journal_ref: str = ""
    doi: str = ""

    @property
    def versioned_id(self) -> str:
        return f"{self.id}v{self.version}"

    @property
    def abs_url(self) -> str:
        return ABS_URL + self.id

    @property
    def first_version_date(self) -> date:
        return self.published.date()

    @property
    def shown_authors(self) -> tuple[list[str], bool]:
        """The first authors to show and whether there are more ("et al.")."""
        return list(self.authors[:MAX_AUTHORS_SHOWN]), len(self.authors) > MAX_AUTHORS_SHOWN

    @property
    def links(self) -> dict[str, str]:
        """Code and project-page links that the paper itself gives (comment, abstract)."""
        found: dict[str, str] = {}
        for url in _URL.findall(f"{self.comment} {self.abstract}"):
            kind = "code" if any(host in url for host in _CODE_HOSTS) else "project"
            found.setdefault(kind, url)
        return found

    @property
    def venue(self) -> str:
        """Where the paper appeared or will appear, from journal ref or comment."""
        if self.journal_ref:
            return " ".join(self.journal_ref.split())
        match = _VENUE.search(self.comment)
        if match is None:
            return ""
        return " ".join((match.group("venue") or match.group("short")).split())

    def pdf_url(self, base: str) -> str:
        return base + self.versioned_id

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "title": self.title,
            "authors": json.dumps(list(self.authors), ensure_ascii=False),
            "abstract": self.abstract,
            "categories": json.dumps(list(self.categories)),
            "primary_category": self.primary_category,
            "published": self.published.isoformat(),
            "updated": self.updated.isoformat(),
            "comment": self.comment,
            "journal_ref": self.journal_ref,
            "doi": self.doi,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Paper:
        return cls(
            id=row["id"],
            version=row["version"],
            title=row["title"],
            authors=tuple(json.loads(row["authors"])),
            abstract=row["abstract"],
            categories=tuple(json.loads(row["categories"])),
            primary_category=row["primary_category"],
            published=datetime.fromisoformat(row["published"]),
            updated=datetime.fromisoformat(row["updated"]),
            comment=row["comment"] or "",
            journal_ref=row["journal_ref"] or "",
            doi=row["doi"] or "",
        )


SummarySource = Literal["fulltext", "abstract", "extractive"]


class Summary(BaseModel):
    """The summary object of SPEC.md: one per paper version and language."""

    tldr: str = Field(min_length=1)
    takeaways: list[str] = Field(min_length=1, max_length=5)
    background: str = ""
    prior_work: str = ""
    method: str = ""
    results: str = ""
    significance: str = ""
    novelty: str = ""
    limitations: str = ""
    keywords: list[str] = Field(default_factory=list)
    language: str
    model: str
    source: SummarySource


@dataclass(frozen=True)
class Figure:
    """A figure cropped from the paper's PDF."""

    number: int
    page: int
    caption: str
    image: bytes = field(repr=False)
    mime_type: str = "image/png"
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    @property
    def extension(self) -> str:
        return "jpg" if self.mime_type == "image/jpeg" else "png"

    def filename(self, paper: Paper) -> str:
        """The figure's file name wherever it is saved or uploaded: `<id>-fig<n>.png|jpg`
        (an old-style id's slash made safe)."""
        return f"{paper.id.replace('/', '_')}-fig{self.number}.{self.extension}"


@dataclass(frozen=True)
class Card:
    """Everything shown for one paper; `why` says why it was sent to the chat, `score`
    how relevant it is to the chat (0–1; None outside a chat's deliveries)."""

    paper: Paper
    summary: Summary
    language: str
    pdf_url: str
    figure: Figure | None = None  # the key figure, shown on the card
    figures: tuple[Figure, ...] = ()  # every figure found, the key figure first
    hides_text: bool = False  # the PDF hides text from its readers (the card warns)
    why: str = ""
    score: float | None = None


@dataclass(frozen=True)
class Listed:
    """A paper a chat's digest lists in one compact line after its cards, openable as a
    card: arXiv's metadata and a short TL;DR made without the language model (the cached
    summary's, else sentences of the abstract); `why` and `score` as on a card."""

    paper: Paper
    tldr: str
    language: str
    why: str = ""
    score: float | None = None


@dataclass(frozen=True)
class Digest:
    """Several cards for one chat or one blog post, best first; a chat's digest then lists
    the papers after its `max` first (`listed`, best first too)."""

    cards: list[Card]
    topics: list[str]
    day: date
    language: str
    listed: list[Listed] = field(default_factory=list)


# Long work tells whoever watches (the CLI's progress display) what it is doing:
# `progress(stage, done, total)`, `done` of `total` items of the stage finished (total 0:
# not counted); a new stage means the earlier ones are over.
Progress = Callable[[str, int, int], None]


def unwatched(stage: str, done: int, total: int) -> None:
    """Progress that nobody watches."""


# `group`: many members talk there (a Telegram group, a Discord server channel or thread);
# `channel`: a broadcast channel that only its administrators post to (Telegram channels,
# Discord webhooks)
ChatKind = Literal["private", "group", "channel"]
DeliveryMode = Literal["instant", "daily"]


@dataclass(frozen=True)
class Chat:
    """A chat as stored: where it lives and how it wants papers."""

    id: int
    platform: str
    chat_id: str
    kind: ChatKind
    title: str
    language: str
    timezone: str
    mode: DeliveryMode
    digest_time: str
    figures: bool
    max_papers: int
    active: bool
    created_at: datetime
    last_digest_at: datetime | None = None
    interests: str = ""  # its /interests text
    threshold: float | None = None  # papers scored below it are not sent; None: off
    report_admin: str | None = None  # the operator who gets the daily run report here
    report_sent_at: datetime | None = None  # the last run report, or when it was turned on

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Chat:
        return cls(
            id=row["id"],
            platform=row["platform"],
            chat_id=row["chat_id"],
            kind=row["kind"],
            title=row["title"] or "",
            language=row["language"],
            timezone=row["timezone"],
            mode=row["mode"],
            digest_time=row["digest_time"],
            figures=bool(row["figures"]),
            max_papers=row["max_papers"],
            active=bool(row["active"]),
            created_at=datetime.fromisoformat(row["created_at"]),
            last_digest_at=_moment(row.get("last_digest_at")),
            interests=row.get("interests") or "",
            threshold=row.get("threshold"),
            report_admin=row.get("report_admin"),
            report_sent_at=_moment(row.get("report_sent_at")),
        )


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
