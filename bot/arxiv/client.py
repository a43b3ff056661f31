"""HTTP access to arXiv: the query API, OAI-PMH and PDFs (rate-limited) and category RSS
feeds.

Every request goes through the shared retry policy: 429/5xx (with
`Retry-After`), timeouts, malformed XML and arXiv's spurious empty pages are
retried; an error entry (bad id or query) is not. The API and the RSS feeds
and OAI-PMH each have a circuit breaker: when one keeps failing, further requests fail at
once until it is probed again. Parsing runs in a thread.
A PDF is streamed with a size limit and a deadline; a missing (withdrawn) or
HTML-only paper is `PdfUnavailable` at once, not retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import httpx

from bot.arxiv.parse import (
    ApiPage,
    Harvest,
    Listing,
    MalformedFeed,
    parse_api_response,
    parse_oai,
    parse_rss,
)
from bot.config import Settings
from bot.models import Paper
from bot.retry import (
    CircuitBreaker,
    RetryPolicy,
    Sleep,
    Transient,
    parse_retry_after,
    with_retries,
)

log = logging.getLogger(__name__)

USER_AGENT = "paperbot/0.1 (+https://github.com/paperbot; arXiv-following chat bot)"
PAGE_SIZE = 100
ID_BATCH = 50
PDF_MAX_BYTES = 50 * 1024 * 1024
PDF_DEADLINE = 120.0  # seconds for one whole download, however slowly the bytes come
PDF_HEAD = 1024  # a PDF's `%PDF-` header is within its first bytes
MAX_HARVEST_PAGES = 10  # OAI-PMH pages (about 1000 records each) per harvest
# the OAI-PMH set of each archive: physics archives are subsets of `physics`
OAI_TOP_SETS = frozenset({"cs", "econ", "eess", "math", "nlin", "q-bio", "q-fin", "stat"})


class PdfUnavailable(Exception):
    """arXiv has no usable PDF for this version (withdrawn, HTML only, too big); the
    message says which. Retrying will not help."""


# a service counts as down after 3 requests in a row failed every retry; probed after
# 5 minutes, then 10, 20, ... at most an hour apart
CIRCUIT_THRESHOLD = 3
CIRCUIT_COOLDOWN = 300.0
CIRCUIT_MAX_COOLDOWN = 3600.0


@dataclass
class RequestCounts:
    api: int = 0
    rss: int = 0
    pdf: int = 0
    oai: int = 0


class ArxivClient:
    def __init__(
        self,
        settings: Settings,
        http: httpx.AsyncClient | None = None,
        *,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_url = settings.arxiv_api_url
        self.rss_url = settings.arxiv_rss_url
        self.oai_url = settings.arxiv_oai_url
        self.pdf_url = settings.arxiv_pdf_url
        self.delay = settings.arxiv_delay
        self.policy = policy or RetryPolicy(base_delay=max(settings.arxiv_delay, 0.5))
        self.counts = RequestCounts()
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=10.0),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=True,
        )
        self._sleep = sleep
        self._clock = clock
        self._api_lock = asyncio.Lock()
        self._last_api: float | None = None
        self.api_circuit = self._circuit("arXiv API")
        self.rss_circuit = self._circuit("arXiv RSS")
        self.oai_circuit = self._circuit("arXiv OAI-PMH")

    def _circuit(self, name: str) -> CircuitBreaker:
        return CircuitBreaker(
            name, CIRCUIT_THRESHOLD, CIRCUIT_COOLDOWN, CIRCUIT_MAX_COOLDOWN, self._clock
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def search(self, query: str, start: int = 0, size: int = PAGE_SIZE) -> ApiPage:
        """One page of a search sorted by submission date, newest first."""
        params = {
            "search_query": query,
            "start": str(start),
            "max_results": str(size),
            "sortBy": "submittedDate",
            "sortOrder": "descending",
        }
        return await self._api(params, f"arXiv search {query[:60]!r}")

    async def papers(self, ids: Sequence[str]) -> list[Paper]:
        """Papers by id (versioned or not); ids arXiv does not have are simply absent."""
        found: list[Paper] = []
        for i in range(0, len(ids), ID_BATCH):
            batch = list(ids[i : i + ID_BATCH])
            params = {"id_list": ",".join(batch), "start": "0", "max_results": str(len(batch))}
            page = await self._api(params, f"arXiv lookup {','.join(batch)[:60]}")
            found.extend(page.papers)
        return found

    async def feed(self, category: str) -> Listing:
        """The category's RSS feed: what was announced in the latest mailing. `category`
        may be an archive (`cs`) or several joined with `+`."""

        async def once() -> Listing:
            self.counts.rss += 1
            body = await self._get(self.rss_url + category, None)
            try:
                return await asyncio.to_thread(parse_rss, body)
            except MalformedFeed as exc:
                raise Transient(str(exc)) from exc

        return await with_retries(
            once,
            policy=self.policy,
            what=f"arXiv RSS {category}",
            sleep=self._sleep,
            circuit=self.rss_circuit,
        )

    async def harvest(self, archive: str, since: date) -> list[tuple[Paper, date]]:
        """Every record of the archive that arXiv changed on or after `since` (new papers,
        replacements, corrections), with its datestamp: an OAI-PMH `ListRecords` harvest,
        following resumption tokens for at most `MAX_HARVEST_PAGES` pages."""
        name = archive if archive in OAI_TOP_SETS else f"physics:{archive}"
        params = {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": name}
        params["from"] = since.isoformat()
        records: list[tuple[Paper, date]] = []
        for _ in range(MAX_HARVEST_PAGES):
            page = await self._harvest_page(params, f"arXiv OAI-PMH {name} from {since}")
            records.extend(page.records)
            if not page.token:
                return records
            params = {"verb": "ListRecords", "resumptionToken": page.token}
        log.warning("OAI-PMH harvest of %s stopped after %d pages", name, MAX_HARVEST_PAGES)
        return records

    async def _harvest_page(self, params: dict[str, str], what: str) -> Harvest:
        async def once() -> Harvest:
            await self._wait_turn()
            self.counts.oai += 1
            body = await self._get(self.oai_url, params)
            try:
                return await asyncio.to_thread(parse_oai, body)
            except MalformedFeed as exc:
                raise Transient(str(exc)) from exc

        return await with_retries(
            once, policy=self.policy, what=what, sleep=self._sleep, circuit=self.oai_circuit
        )

    async def pdf(self, versioned_id: str, max_bytes: int = PDF_MAX_BYTES) -> bytes:
        """The PDF of one paper version (`2404.00409v2`), at most `max_bytes` long."""
        url = self.pdf_url + versioned_id

        async def once() -> bytes:
            await self._wait_turn()
            self.counts.pdf += 1
            with _transport_errors():
                try:
                    async with asyncio.timeout(PDF_DEADLINE):
                        return await self._download(url, max_bytes)
                except TimeoutError:
                    raise Transient(f"download took longer than {PDF_DEADLINE:g}s") from None

        return await with_retries(
            once, policy=self.policy, what=f"arXiv PDF {versioned_id}", sleep=self._sleep
        )

    async def _download(self, url: str, max_bytes: int) -> bytes:
        async with self._http.stream("GET", url) as response:
            status = response.status_code
            if status in (404, 410):
                raise PdfUnavailable(f"no PDF (HTTP {status}): withdrawn or never available")
            _raise_for_retry(response)
            if status >= 400:
                raise PdfUnavailable(f"no PDF (HTTP {status})")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise PdfUnavailable(f"PDF of {int(declared) // 2**20} MB is over the limit")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                checked = len(body) >= PDF_HEAD
                body += chunk
                if len(body) > max_bytes:
                    raise PdfUnavailable(f"PDF is over the {max_bytes // 2**20} MB limit")
                if not checked and len(body) >= PDF_HEAD:
                    _check_pdf(body, response)
            _check_pdf(body, response)
            return bytes(body)

    async def _api(self, params: dict[str, str], what: str) -> ApiPage:
        async def once() -> ApiPage:
            await self._wait_turn()
            self.counts.api += 1
            body = await self._get(self.api_url, params)
            try:
                page = await asyncio.to_thread(parse_api_response, body)
            except MalformedFeed as exc:
                raise Transient(str(exc)) from exc
            if not page.papers and page.total > int(params.get("start", "0")):
                raise Transient(f"empty page at start={params.get('start')} of {page.total}")
            return page

        return await with_retries(
            once, policy=self.policy, what=what, sleep=self._sleep, circuit=self.api_circuit
        )

    async def _wait_turn(self) -> None:
        """At most one API request per `delay` seconds, across all callers."""
        async with self._api_lock:
            if self._last_api is not None:
                wait = self._last_api + self.delay - self._clock()
                if wait > 0:
                    await self._sleep(wait)
            self._last_api = self._clock()

    async def _get(self, url: str, params: dict[str, str] | None) -> bytes:
        with _transport_errors():
            response = await self._http.get(url, params=params)
        status = response.status_code
        _raise_for_retry(response)
        if status == 400:
            return response.content
        if status >= 400:
            raise Transient(f"HTTP {status}")
        return response.content


@contextmanager
def _transport_errors() -> Iterator[None]:
    """Timeouts and network errors as `Transient` (worth a retry)."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise Transient(f"timeout ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise Transient(f"network error ({type(exc).__name__}: {exc})") from exc


def _raise_for_retry(response: httpx.Response) -> None:
    """429 and 5xx answers as `Transient`, with the server's `Retry-After`."""
    status = response.status_code
    if status == 429 or status >= 500:
        raise Transient(f"HTTP {status}", parse_retry_after(response.headers.get("Retry-After")))


def _check_pdf(head: bytearray, response: httpx.Response) -> None:
    if b"%PDF-" not in head[:PDF_HEAD]:
        kind = response.headers.get("Content-Type", "unknown type").split(";")[0]
        raise PdfUnavailable(f"not a PDF ({kind}): an HTML-only paper or an error page")
