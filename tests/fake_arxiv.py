"""A local fake of arXiv's query API, RSS feeds and PDFs, served over real HTTP.

It answers `id_list` lookups and `search_query` searches (the subset of the
query language paperbot sends: ti/abs/au/cat terms, quoted phrases, AND/OR,
parentheses) from a list of papers, sorted newest first and paged like arXiv;
serves category feeds (also archive-level ones like `cs` and several categories
joined with `+`, made from the current listing: `announced`, shown as `listing_day`)
and the PDFs it was given at `/pdf/<versioned id>` (404
for any other, like a withdrawn paper); records every request; and can be
scripted to answer with errors (503 + Retry-After, 429, empty pages, malformed
XML, slow answers, HTML instead of a PDF).
The XML it writes has the shape of the recorded responses in fixtures/.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from tests.fake_http import FakeServer, Scripted

FIXTURES = Path(__file__).parent / "fixtures"
PDFS = FIXTURES / "pdfs"


@dataclass
class FakePaper:
    id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: datetime
    version: int = 1
    updated: datetime | None = None
    comment: str = ""
    journal_ref: str = ""
    doi: str = ""
    announce_type: str = "new"
    announced: date | None = None  # its OAI-PMH datestamp


PDF_HEADERS = {"Content-Type": "application/pdf"}
NOT_FOUND_PAGE = b"<!DOCTYPE html><html><body><h1>Not Found</h1></body></html>"
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>arXiv</title></head>"
    b"<body>No PDF for this paper; see the HTML version.</body></html>"
)


class FakeArxiv(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.papers: list[FakePaper] = []
        self.feeds: dict[str, list[FakePaper]] = {}
        self.announced: list[FakePaper] = []
        self.listing_day: date | None = None
        self.oai_page_size = 1000
        self.raw_ids: dict[str, bytes] = {}
        self.pdfs: dict[str, bytes] = {}
        self.api_script: deque[Scripted] = deque()
        self.rss_script: deque[Scripted] = deque()
        self.pdf_script: deque[Scripted] = deque()
        self.oai_script: deque[Scripted] = deque()
        self.requests: list[tuple[str, dict[str, str]]] = []

    @property
    def env(self) -> dict[str, str]:
        return {
            "PAPERBOT_ARXIV_API_URL": f"{self.base}/api/query",
            "PAPERBOT_ARXIV_RSS_URL": f"{self.base}/rss/",
            "PAPERBOT_ARXIV_PDF_URL": f"{self.base}/pdf/",
            "PAPERBOT_ARXIV_OAI_URL": f"{self.base}/oai",
            "PAPERBOT_ARXIV_DELAY": "0",
        }

    def api_requests(self) -> list[dict[str, str]]:
        return [params for path, params in self.requests if path.startswith("/api/")]

    def oai_requests(self) -> list[dict[str, str]]:
        return [params for path, params in self.requests if path == "/oai"]

    def rss_requests(self) -> list[str]:
        return [path for path, _ in self.requests if path.startswith("/rss/")]

    def pdf_requests(self) -> list[str]:
        return [path[len("/pdf/") :] for path, _ in self.requests if path.startswith("/pdf/")]

    # responses

    def respond(self, path: str, params: dict[str, str]) -> Scripted:
        if path.startswith("/pdf/"):
            return self._pdf(path[len("/pdf/") :])
        if path.startswith("/rss/"):
            if self.rss_script:
                return self.rss_script.popleft()
            return Scripted(body=self._listing(path[len("/rss/") :]))
        if path == "/oai":
            return (
                self.oai_script.popleft()
                if self.oai_script
                else Scripted(body=self._harvest(params))
            )
        if self.api_script:
            return self.api_script.popleft()
        if params.get("id_list"):
            return Scripted(body=self._lookup(params["id_list"].split(",")))
        query = params.get("search_query", "")
        start, size = int(params.get("start", 0)), int(params.get("max_results", 10))
        hits = sorted(
            (p for p in self.papers if evaluate(query, p)), key=lambda p: p.published, reverse=True
        )
        return Scripted(body=atom_feed(hits[start : start + size], len(hits), start))

    def _listing(self, name: str) -> bytes:
        """A feed given as such, or else made from the current listing and the given
        feeds: every paper listed in one of the `+`-joined categories or archives, `new`
        where its primary category is one of them, `cross` otherwise (`replace` and
        `replace-cross` for replacements)."""
        if name in self.feeds:
            return rss_feed(name, self.feeds[name], self.listing_day)
        wanted = name.split("+")
        pool = {p.id: p for feed in self.feeds.values() for p in feed}
        pool.update((p.id, p) for p in self.announced)
        papers = []
        for paper in pool.values():
            if not any(_listed_in(c, wanted) for c in paper.categories):
                continue
            primary = _listed_in(paper.categories[0], wanted)
            kind = "replace" if paper.announce_type.startswith("replace") else "new"
            kind = kind if primary else {"new": "cross", "replace": "replace-cross"}[kind]
            papers.append(replace(paper, announce_type=kind))
        return rss_feed(name, papers, self.listing_day)

    def _harvest(self, params: dict[str, str]) -> bytes:
        """OAI-PMH ListRecords in the arXiv format: the papers with a datestamp on or after
        `from` in the set (`cs`, `physics:quant-ph`), `oai_page_size` a page."""
        token = params.get("resumptionToken", "")
        if token:
            offset, name, since = token.split("|")
        else:
            offset, name, since = "0", params["set"], params["from"]
        archive = name.split(":")[-1]
        matching = [
            p
            for p in self.papers
            if p.announced is not None
            and p.announced >= date.fromisoformat(since)
            and any(_listed_in(c, [archive]) for c in p.categories)
        ]
        start = int(offset)
        page = matching[start : start + self.oai_page_size]
        more = start + len(page) < len(matching)
        following = f"{start + len(page)}|{name}|{since}" if more else ""
        return oai_records(page, following)

    def _pdf(self, versioned_id: str) -> Scripted:
        if self.pdf_script:
            return self.pdf_script.popleft()
        if versioned_id in self.pdfs:
            return Scripted(body=self.pdfs[versioned_id], headers=PDF_HEADERS)
        return Scripted(404, NOT_FOUND_PAGE, {"Content-Type": "text/html"})

    def _lookup(self, ids: list[str]) -> bytes:
        key = ",".join(ids)
        if key in self.raw_ids:
            return self.raw_ids[key]
        found = []
        for wanted in ids:
            base, _, version = (
                wanted.partition("v") if re.match(r"\d", wanted) else (wanted, "", "")
            )
            for paper in self.papers:
                if paper.id == base and (not version or paper.version == int(version)):
                    found.append(paper)
                    break
        return atom_feed(found, len(found), 0)

    def get(self, path: str, params: dict[str, str]) -> Scripted:
        self.requests.append((path, params))
        return self.respond(path, params)


def _listed_in(category: str, names: list[str]) -> bool:
    return any(category == n or category.split(".")[0] == n for n in names)


# the query language subset


def evaluate(query: str, paper: FakePaper) -> bool:
    tokens = re.findall(r'\(|\)|\w+:"[^"]*"|\w+:[^\s()]+|AND|OR|ANDNOT', query)
    position = 0

    def term() -> bool:
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            value = expression()
            position += 1
            return value
        field_name, _, value = token.partition(":")
        value = value.strip('"').lower()
        if field_name == "cat":
            return any(c == value or c.lower() == value.lower() for c in paper.categories)
        texts = {
            "ti": [paper.title],
            "abs": [paper.abstract],
            "au": paper.authors,
            "all": [paper.title, paper.abstract, *paper.authors],
        }.get(field_name, [])
        return any(value in text.lower() for text in texts)

    def expression() -> bool:
        nonlocal position
        value = term()
        while position < len(tokens) and tokens[position] in ("AND", "OR", "ANDNOT"):
            operator = tokens[position]
            position += 1
            right = term()
            value = {"AND": value and right, "OR": value or right}.get(
                operator, value and not right
            )
        return value

    return bool(tokens) and expression()


# XML in the shapes of the recorded responses


def atom_feed(papers: list[FakePaper], total: int, start: int) -> bytes:
    entries = "".join(_atom_entry(p) for p in papers)
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
        "  <id>https://arxiv.org/api/fake</id>\n  <title>arXiv Query</title>\n"
        f"  <updated>{_iso(datetime.now(UTC))}</updated>\n"
        f"  <opensearch:itemsPerPage>{len(papers)}</opensearch:itemsPerPage>\n"
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n{entries}</feed>\n"
    ).encode()


def _atom_entry(p: FakePaper) -> str:
    vid = f"{p.id}v{p.version}"
    optional = "".join(
        f"    <arxiv:{tag}>{escape(value)}</arxiv:{tag}>\n"
        for tag, value in (("comment", p.comment), ("journal_ref", p.journal_ref), ("doi", p.doi))
        if value
    )
    return (
        f"  <entry>\n    <id>http://arxiv.org/abs/{vid}</id>\n"
        f"    <title>{escape(p.title)}</title>\n"
        f"    <updated>{_iso(p.updated or p.published)}</updated>\n"
        f'    <link href="https://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>\n'
        f"    <summary>{escape(p.abstract)}</summary>\n"
        + "".join(
            f'    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>\n'
            for c in p.categories
        )
        + f"    <published>{_iso(p.published)}</published>\n{optional}"
        f'    <arxiv:primary_category term="{p.categories[0]}"/>\n'
        + "".join(
            f"    <author>\n      <name>{escape(a)}</name>\n    </author>\n" for a in p.authors
        )
        + "  </entry>\n"
    )


def rss_feed(category: str, papers: list[FakePaper], day: date | None = None) -> bytes:
    items = "".join(
        "    <item>\n"
        f"      <title>{escape(p.title)}</title>\n"
        f"      <link>https://arxiv.org/abs/{p.id}</link>\n"
        f"      <description>arXiv:{p.id}v{p.version} Announce Type: {p.announce_type} \n"
        f"Abstract: {escape(p.abstract)}</description>\n"
        f'      <guid isPermaLink="false">oai:arXiv.org:{p.id}v{p.version}</guid>\n'
        + "".join(f"      <category>{c}</category>\n" for c in p.categories)
        + f"      <pubDate>{(p.updated or p.published).strftime('%a, %d %b %Y %H:%M:%S +0000')}"
        "</pubDate>\n"
        f"      <arxiv:announce_type>{p.announce_type}</arxiv:announce_type>\n"
        f"      <dc:creator>{escape(', '.join(p.authors))}</dc:creator>\n"
        "    </item>\n"
        for p in papers
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">\n  <channel>\n'
        f"    <title>{category} updates on arXiv.org</title>\n"
        f"    <link>http://rss.arxiv.org/rss/{category}</link>\n"
        f"    <description>{category} updates</description>\n{_pub_date(day)}{items}"
        "  </channel>\n</rss>\n"
    ).encode()


def oai_records(papers: list[FakePaper], token: str) -> bytes:
    if not papers:
        body = '<error code="noRecordsMatch">no records</error>'
    else:
        records = "".join(_oai_record(p) for p in papers)
        body = f"<ListRecords>{records}<resumptionToken>{token}</resumptionToken></ListRecords>"
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        f"<responseDate>{_iso(datetime.now(UTC))}</responseDate>{body}</OAI-PMH>"
    ).encode()


def _oai_record(p: FakePaper) -> str:
    authors = "".join(
        f"<author><keyname>{escape(a.split()[-1])}</keyname>"
        f"<forenames>{escape(' '.join(a.split()[:-1]))}</forenames></author>"
        for a in p.authors
    )
    updated = f"<updated>{(p.updated or p.published):%Y-%m-%d}</updated>" if p.version > 1 else ""
    return (
        f"<record><header><identifier>oai:arXiv.org:{p.id}</identifier>"
        f"<datestamp>{p.announced}</datestamp></header><metadata>"
        '<arXiv xmlns="http://arxiv.org/OAI/arXiv/">'
        f"<id>{p.id}</id><created>{p.published:%Y-%m-%d}</created>{updated}"
        f"<authors>{authors}</authors><title>{escape(p.title)}</title>"
        f"<categories>{' '.join(p.categories)}</categories>"
        f"<abstract>{escape(p.abstract)}</abstract></arXiv></metadata></record>"
    )


def _pub_date(day: date | None) -> str:
    """The channel's `<pubDate>`: midnight US Eastern of the announcement day."""
    if day is None:
        return ""
    midnight = datetime.combine(day, time(0), ZoneInfo("America/New_York"))
    return f"    <pubDate>{midnight.strftime('%a, %d %b %Y %H:%M:%S %z')}</pubDate>\n"


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_paper(
    number: int,
    *,
    title: str = "",
    abstract: str = "",
    categories: list[str] | None = None,
    authors: list[str] | None = None,
    age: timedelta = timedelta(hours=1),
    **extra: object,
) -> FakePaper:
    """A realistic generated paper with a new-style id `2511.<number>`."""
    published = datetime.now(UTC).replace(microsecond=0) - age
    return FakePaper(
        id=f"2511.{number:05d}",
        title=title or f"A Study of Problem {number} with Neural Methods",
        abstract=abstract
        or (
            f"Problem {number} is hard for existing methods. We propose a new method for it. "
            f"Experiments show it outperforms prior work by 3.2 points. Code is released."
        ),
        authors=authors or ["Ada Lovelace", "Alan Turing"],
        categories=categories or ["cs.CV"],
        published=published,
        **extra,  # type: ignore[arg-type]
    )


# arXiv's schedule: what a listing day announces, and when it was submitted

NEW_YORK = ZoneInfo("America/New_York")
DEADLINE = time(14, 0)  # submissions received by 14:00 New York time are in the next listing


def announcement_of(day: date) -> datetime:
    """When the listing dated `day` is announced: 20:00 New York time the evening before."""
    return datetime.combine(day - timedelta(days=1), time(20, 0), NEW_YORK).astimezone(UTC)


def _weekday_before(day: date) -> date:
    day -= timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def submission_window(day: date) -> tuple[datetime, datetime]:
    """When the papers of the listing dated `day` were submitted: between the two
    deadlines before it (Monday's listing: Thursday 14:00 to Friday 14:00; Tuesday's:
    Friday 14:00 to Monday 14:00, the weekend's submissions)."""
    end = _weekday_before(day)
    start = _weekday_before(end)
    return (
        datetime.combine(start, DEADLINE, NEW_YORK).astimezone(UTC),
        datetime.combine(end, DEADLINE, NEW_YORK).astimezone(UTC),
    )
