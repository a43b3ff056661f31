"""Discord webhook channels: cards and digests posted to a channel's webhook URL.

For servers that do not want a bot member: a channel is added by its webhook
URL (`paperbot channel add discord-webhook <url> <topic>...`) and stored as a
chat of platform `discord-webhook` whose id is the URL. The URL holds a
secret token, so it is only ever shown or logged masked (`mask_webhook_urls`).

Deliveries use the same outbox as every platform. Requests honour Discord's
rate limits: the per-webhook bucket announced in `X-RateLimit-*` headers, a
global limit of `GLOBAL_REQUESTS_PER_SECOND`, and `retry_after` of a 429. What
an error answer means (a deleted or revoked webhook pauses the channel, a
refused message is the message's) is `handlers.discord_errors`' to say.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from bot.delivery import ChatUnavailable, DeliveryFailed, Sent
from bot.logs import mask_webhook_urls
from bot.models import Card, Chat, Digest
from bot.retry import ServiceUnavailable, Sleep, parse_retry_after
from handlers.discord_errors import answer_text, delivery_error
from handlers.discord_render import (
    GLOBAL_REQUESTS_PER_SECOND,
    Message,
    card_message,
    digest_messages,
    text_messages,
)

log = logging.getLogger(__name__)

PLATFORM = "discord-webhook"
ATTEMPTS = 5  # per message, counting retries after a 429 or a network error
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_PATH = re.compile(r".*/webhooks/(?P<id>\d+)/(?P<token>[A-Za-z0-9_\-]+)/?")
NO_MENTIONS = {"parse": []}

Clock = Callable[[], float]


class BadWebhookUrl(ValueError):
    """Not a Discord webhook URL; the message says what one looks like."""


@dataclass(frozen=True)
class WebhookUrl:
    url: str
    webhook_id: str

    @property
    def masked(self) -> str:
        return mask_webhook_urls(self.url)


def parse_webhook_url(text: str) -> WebhookUrl:
    """A webhook URL in canonical form (a `thread_id` query kept, anything else dropped)."""
    parts = urlsplit(text.strip())
    match = _PATH.fullmatch(parts.path)
    if parts.scheme not in ("http", "https") or not parts.netloc or match is None:
        raise BadWebhookUrl(
            "not a Discord webhook URL; it looks like "
            "https://discord.com/api/webhooks/<id>/<token> (channel settings → Integrations)"
        )
    thread = parse_qs(parts.query).get("thread_id", [""])[0]
    query = f"?thread_id={thread}" if thread.isdigit() else ""
    path = parts.path.rstrip("/")
    return WebhookUrl(f"{parts.scheme}://{parts.netloc}{path}{query}", match["id"])


class _RateLimits:
    """Discord's limits as seen from here: one bucket per webhook and the global limit.

    A request counts against the global window from the moment its answer arrives (Discord
    has counted it by then), and as "now" while it is in flight."""

    def __init__(self, clock: Clock, sleep: Sleep) -> None:
        self.clock, self.sleep = clock, sleep
        self.remaining: dict[str, int] = {}
        self.reset_at: dict[str, float] = {}
        self.paused_until = 0.0
        self.answered: deque[float] = deque()
        self.in_flight = 0

    def _delay(self, bucket: str, now: float) -> float:
        while self.answered and self.answered[0] <= now - 1.0:
            self.answered.popleft()
        waits = [self.paused_until - now]
        if len(self.answered) + self.in_flight >= GLOBAL_REQUESTS_PER_SECOND:
            waits.append(self.answered[0] + 1.0 - now if self.answered else 0.05)
        if self.remaining.get(bucket, 1) <= 0:
            waits.append(self.reset_at.get(bucket, now) - now)
        return max(waits)

    @asynccontextmanager
    async def slot(self, bucket: str) -> AsyncIterator[None]:
        """Wait until a request to `bucket` is within every limit; count it while it runs."""
        while (delay := self._delay(bucket, self.clock())) > 0:
            await self.sleep(delay)
        if bucket in self.remaining:
            self.remaining[bucket] -= 1
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            self.answered.append(self.clock())

    def update(self, bucket: str, headers: httpx.Headers) -> None:
        """Learn the bucket's state from a response's `X-RateLimit-*` headers."""
        try:
            remaining = int(headers["X-RateLimit-Remaining"])
            reset_after = float(headers["X-RateLimit-Reset-After"])
        except (KeyError, ValueError):
            return
        self.remaining[bucket] = remaining
        self.reset_at[bucket] = self.clock() + reset_after

    def limited(self, bucket: str, retry_after: float, is_global: bool) -> None:
        """A 429: nothing more to `bucket` (or anywhere, when global) for `retry_after`."""
        until = self.clock() + retry_after
        if is_global:
            self.paused_until = max(self.paused_until, until)
        else:
            self.remaining[bucket] = 0
            self.reset_at[bucket] = until


class DiscordWebhooks:
    """Posts to webhook channels (the chat id is the webhook URL)."""

    name = PLATFORM

    def __init__(
        self,
        http: httpx.AsyncClient | None = None,
        *,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
    ) -> None:
        self.http = http or httpx.AsyncClient(timeout=TIMEOUT)
        self.limits = _RateLimits(clock, sleep)
        self.sleep = sleep

    async def __aenter__(self) -> DiscordWebhooks:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def check(self, webhook: WebhookUrl) -> str:
        """The webhook's name as Discord knows it. Raises `BadWebhookUrl` when Discord does not
        know the webhook, `ServiceUnavailable` when Discord cannot be asked."""
        try:
            response = await self.http.get(webhook.url.split("?")[0])
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"Discord: {type(exc).__name__}") from None
        if response.status_code in (401, 403, 404):
            raise BadWebhookUrl(f"Discord does not know this webhook ({answer_text(response)})")
        if response.is_error:
            raise ServiceUnavailable(f"Discord answered {answer_text(response)}")
        return str(response.json().get("name") or f"webhook {webhook.webhook_id}")

    async def send_card(self, chat: Chat, card: Card) -> None:
        await self._deliver(chat, [card_message(card)])

    async def send_digest(self, chat: Chat, digest: Digest, sent: Sent) -> None:
        await self._deliver(chat, digest_messages(digest, buttons=False), sent)

    async def send_text(self, chat: Chat, text: str) -> None:
        await self._deliver(chat, [Message(content=part) for part in text_messages(text)])

    async def _deliver(self, chat: Chat, messages: list[Message], sent: Sent | None = None) -> None:
        try:
            webhook = parse_webhook_url(chat.chat_id)
        except BadWebhookUrl:
            raise ChatUnavailable("the stored webhook URL is not valid") from None
        for message in messages:
            await self._post(webhook, message)
            if sent is not None:
                await sent(list(message.papers))

    async def _post(self, webhook: WebhookUrl, message: Message) -> None:
        """Send one message; returns once Discord has stored it. 429s and network errors
        are retried; after the last attempt, `DeliveryFailed` (with Discord's last
        `retry_after`)."""
        url = f"{webhook.url}{'&' if '?' in webhook.url else '?'}wait=true"
        reason = ""
        retry_after: float | None = None
        for _ in range(ATTEMPTS):
            try:
                async with self.limits.slot(webhook.webhook_id):
                    response = await self.http.post(url, **_body(message))
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__} from Discord"
                await self.sleep(1.0)
                continue
            self.limits.update(webhook.webhook_id, response.headers)
            if response.status_code == 429:
                retry_after, is_global = _retry_after(response)
                self.limits.limited(webhook.webhook_id, retry_after, is_global)
                reason = "rate limited"
                log.info("webhook %s: 429, retrying after %.2fs", webhook.masked, retry_after)
                continue
            if response.is_error:
                raise delivery_error(response)
            return
        raise DeliveryFailed(
            f"webhook {webhook.masked}: {reason} after {ATTEMPTS} attempts", retry_after
        )


def _body(message: Message) -> dict[str, object]:
    """The request body: JSON, or multipart with `payload_json` and `files[n]`."""
    payload: dict[str, object] = {"allowed_mentions": NO_MENTIONS}
    if message.content:
        payload["content"] = message.content
    if message.embeds:
        payload["embeds"] = list(message.embeds)
    if not message.files:
        return {"json": payload}
    payload["attachments"] = [
        {"id": index, "filename": upload.filename, "description": upload.description}
        for index, upload in enumerate(message.files)
    ]
    files = [
        (f"files[{index}]", (upload.filename, upload.data, upload.content_type))
        for index, upload in enumerate(message.files)
    ]
    return {"data": {"payload_json": json.dumps(payload, ensure_ascii=False)}, "files": files}


def _retry_after(response: httpx.Response) -> tuple[float, bool]:
    """Seconds to wait after a 429 (the body's `retry_after`, else `Retry-After`), and
    whether the limit is global."""
    try:
        body = response.json()
        return max(float(body["retry_after"]), 0.0), bool(body.get("global"))
    except (ValueError, KeyError, TypeError):
        is_global = response.headers.get("X-RateLimit-Global") == "true"
        return parse_retry_after(response.headers.get("Retry-After")) or 1.0, is_global
