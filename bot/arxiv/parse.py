"""Parse arXiv API (Atom), category RSS and OAI-PMH responses into `Paper`s.

Pure and blocking (feedparser, ElementTree): callers run these in a thread.
"""

from __future__ import annotations

import calendar
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import feedparser

from bot.arxiv.ids import InvalidArxivId, split_versioned
from bot.models import Paper

_ANNOUNCED = re.compile(r"Announce Type:\s*(?P<type>[\w-]+)\s*Abstract:\s*", re.S)
_ERROR_ID = "api/errors"
_OAI = "{http://www.openarchives.org/OAI/2.0/}"
_ARXIV = "{http://arxiv.org/OAI/arXiv/}"
# a listing's `<pubDate>` is midnight US Eastern of its announcement day
_LISTING_ZONE = ZoneInfo("America/New_York")


class MalformedFeed(ValueError):
    """The response is not a well-formed Atom or RSS document."""


class ArxivQueryError(ValueError):
    """arXiv answered the query with an error entry (bad id, bad query syntax)."""


@dataclass(frozen=True)
class ApiPage:
    papers: list[Paper]
    total: int
    start: int


@dataclass(frozen=True)
class FeedItem:
    paper: Paper
    announce_type: str

    @property
    def is_new(self) -> bool:
        """First announcement in this category (`new` or `cross`), not a replacement."""
        return self.announce_type in ("new", "cross")


@dataclass(frozen=True)
class Listing:
    """One category listing (RSS feed): the announcement day it shows (its `<pubDate>`,
    when given) and its items."""

    day: date | None
    items: list[FeedItem]


@dataclass(frozen=True)
class Harvest:
    """One OAI-PMH `ListRecords` page: each record's paper (version 1 unless the record
    says it was replaced, then 2) with its datestamp (when arXiv last changed it), and
    the token of the next page (empty on the last)."""

    records: list[tuple[Paper, date]]
    token: str


def parse_api_response(body: bytes) -> ApiPage:
    feed = _parse(body)
    entries = feed.entries
    if entries and _ERROR_ID in entries[0].get("id", ""):
        raise ArxivQueryError(_clean(entries[0].get("summary", "")) or "arXiv rejected the query")
    papers = [_api_paper(entry) for entry in entries]
    total = int(feed.feed.get("opensearch_totalresults", len(papers)) or 0)
    start = int(feed.feed.get("opensearch_startindex", 0) or 0)
    return ApiPage(papers, total, start)


def parse_rss(body: bytes) -> Listing:
    feed = _parse(body)
    if not feed.feed.get("title") and not feed.entries:
        raise MalformedFeed("not an RSS feed")
    items = []
    for entry in feed.entries:
        item = _rss_item(entry)
        if item is not None:
            items.append(item)
    published = feed.feed.get("published_parsed")
    day = _when(published).astimezone(_LISTING_ZONE).date() if published else None
    return Listing(day, items)


def parse_oai(body: bytes) -> Harvest:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise MalformedFeed(f"malformed XML: {exc}") from None
    error = root.find(f"{_OAI}error")
    if error is not None:
        if error.get("code") == "noRecordsMatch":
            return Harvest([], "")
        raise ArxivQueryError(f"OAI-PMH {error.get('code')}: {_clean(error.text or '')}")
    listed = root.find(f"{_OAI}ListRecords")
    if listed is None:
        raise MalformedFeed("not an OAI-PMH ListRecords response")
    records = []
    for record in listed.iter(f"{_OAI}record"):
        header = record.find(f"{_OAI}header")
        meta = record.find(f"{_OAI}metadata/{_ARXIV}arXiv")
        if header is None or meta is None or header.get("status") == "deleted":
            continue
        stamp = date.fromisoformat(header.findtext(f"{_OAI}datestamp", "").strip())
        records.append((_oai_paper(meta), stamp))
    return Harvest(records, (listed.findtext(f"{_OAI}resumptionToken") or "").strip())


def _oai_paper(meta: ElementTree.Element) -> Paper:
    def text(tag: str) -> str:
        return _clean(meta.findtext(f"{_ARXIV}{tag}") or "")

    authors = tuple(
        _clean(f"{a.findtext(f'{_ARXIV}forenames') or ''} {a.findtext(f'{_ARXIV}keyname') or ''}")
        for a in meta.iter(f"{_ARXIV}author")
    )
    categories = tuple(text("categories").split())
    created = datetime.fromisoformat(text("created")).replace(tzinfo=UTC)
    updated = text("updated")
    return Paper(
        id=split_versioned(text("id")).base,
        version=2 if updated else 1,
        title=text("title"),
        authors=authors,
        abstract=text("abstract"),
        categories=categories,
        primary_category=categories[0] if categories else "",
        published=created,
        updated=datetime.fromisoformat(updated).replace(tzinfo=UTC) if updated else created,
        comment=text("comments"),
        journal_ref=text("journal-ref"),
        doi=text("doi"),
    )


def _parse(body: bytes) -> Any:
    feed = feedparser.parse(body)
    if feed.bozo and not isinstance(feed.bozo_exception, feedparser.CharacterEncodingOverride):
        raise MalformedFeed(f"malformed XML: {feed.bozo_exception}")
    return feed


def _api_paper(entry: Any) -> Paper:
    ident = split_versioned(entry["id"])
    categories = tuple(tag["term"] for tag in entry.get("tags", []) if tag.get("term"))
    primary = entry.get("arxiv_primary_category", {}).get("term") or (
        categories[0] if categories else ""
    )
    return Paper(
        id=ident.base,
        version=ident.version or 1,
        title=_clean(entry.get("title", "")),
        authors=tuple(_clean(a.get("name", "")) for a in entry.get("authors", []) if a.get("name")),
        abstract=_clean(entry.get("summary", "")),
        categories=categories or (primary,),
        primary_category=primary,
        published=_when(entry.get("published_parsed")),
        updated=_when(entry.get("updated_parsed") or entry.get("published_parsed")),
        comment=_clean(entry.get("arxiv_comment", "")),
        journal_ref=_clean(entry.get("arxiv_journal_ref", "")),
        doi=_clean(entry.get("arxiv_doi", "")),
    )


def _rss_item(entry: Any) -> FeedItem | None:
    try:
        ident = split_versioned(entry.get("id") or entry.get("link", ""))
    except InvalidArxivId:
        return None
    description = entry.get("summary", "")
    match = _ANNOUNCED.search(description)
    announce = entry.get("arxiv_announce_type") or (match.group("type") if match else "new")
    abstract = description[match.end() :] if match else description
    categories = tuple(tag["term"] for tag in entry.get("tags", []) if tag.get("term"))
    when = _when(entry.get("published_parsed"))
    paper = Paper(
        id=ident.base,
        version=ident.version or 1,
        title=_clean(entry.get("title", "")),
        authors=_split_creators(entry.get("author", "")),
        abstract=_clean(abstract),
        categories=categories,
        primary_category=categories[0] if categories else "",
        published=when,
        updated=when,
    )
    return FeedItem(paper, announce.strip().lower())


def _split_creators(text: str) -> tuple[str, ...]:
    parts = re.split(r",\s*|\s+and\s+", _clean(text))
    return tuple(p for p in (part.strip() for part in parts) if p)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _when(parsed: Any) -> datetime:
    if not parsed:
        return datetime.now(UTC)
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
