"""A local fake of Discord's REST API, gateway and webhooks, served over real HTTP.

Webhooks: `POST /api/webhooks/<id>/<token>` takes JSON or multipart bodies
(`payload_json` + `files[n]`) and records them; it keeps Discord's rate
limits — a bucket per webhook (`X-RateLimit-*` headers) and a global limit —
and answers 429 with `retry_after` once they are exceeded. A deleted webhook
answers 404. Responses can be scripted per webhook.

Bot (token `BOT_TOKEN`, else 401): the REST calls discord.py makes to log in,
sync commands and answer interactions, `GET /gateway/bot` naming this server's
websocket gateway, and a
gateway that says HELLO, answers IDENTIFY with READY and heartbeats with ACK,
and lets a test dispatch events (such as INTERACTION_CREATE) to the bot.

The server runs on its own event loop in a thread, so synchronous tests,
subprocesses and benchmarks can use it alike.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = "4242"
BOT_TOKEN = "fake-bot-token-0123456789"
BOT_USER = {"id": "4242", "username": "paperbot", "discriminator": "0", "avatar": None, "bot": True}
GATEWAY_HELLO, GATEWAY_IDENTIFY, GATEWAY_HEARTBEAT, GATEWAY_ACK, GATEWAY_DISPATCH = 10, 2, 1, 11, 0


@dataclass
class Upload:
    field: str
    filename: str
    data: bytes = field(repr=False)
    content_type: str


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    path: str
    payload: Any = None
    files: list[Upload] = field(default_factory=list)
    status: int = 200


@dataclass
class Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Bucket:
    used: int = 0
    opened: float = 0.0


class FakeDiscord:
    def __init__(
        self,
        bucket_limit: int = 5,
        bucket_window: float = 2.0,
        global_limit: int = 50,
        global_window: float = 1.0,
    ) -> None:
        self.bucket_limit, self.bucket_window = bucket_limit, bucket_window
        self.global_limit, self.global_window = global_limit, global_window
        self.requests: list[Recorded] = []
        self.webhooks: dict[str, str] = {}
        self.deleted: set[str] = set()
        self.scripts: dict[str, deque[Scripted]] = {}
        self.rate_limited: Counter[str] = Counter()
        self.identify: dict[str, Any] | None = None
        self._buckets: dict[str, _Bucket] = {}
        self._recent: deque[float] = deque()
        self._sockets: list[web.WebSocketResponse] = []
        self._ids = itertools.count(1_000_000_000_000_000_000)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # lifecycle

    def start(self) -> FakeDiscord:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/gateway", self._gateway)
        app.router.add_route("*", "/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    # addresses

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v10"

    def webhook(self, webhook_id: str, token: str | None = None) -> str:
        """Create a webhook; returns its URL (which holds its secret token)."""
        self.webhooks[webhook_id] = token or f"secret-token-{webhook_id}-AbC_dEf"
        return f"{self.base}/api/webhooks/{webhook_id}/{self.webhooks[webhook_id]}"

    def script(self, webhook_id: str, *answers: Scripted) -> None:
        self.scripts.setdefault(webhook_id, deque()).extend(answers)

    def posts(self, webhook_id: str | None = None) -> list[Recorded]:
        """Webhook messages accepted (status 200), of one webhook or all."""
        prefix = "/api/webhooks/" + (f"{webhook_id}/" if webhook_id else "")
        return [
            r
            for r in self.requests
            if r.method == "POST" and r.path.startswith(prefix) and r.status == 200
        ]

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event to every connected bot."""
        message = {"op": GATEWAY_DISPATCH, "t": event, "s": next(self._ids) % 1000, "d": data}

        async def send() -> None:
            for socket in self._sockets:
                await socket.send_str(json.dumps(message))

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(timeout=10)

    # REST

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        payload, files = await _read_body(request)
        recorded = Recorded(request.method, request.path, payload, files)
        self.requests.append(recorded)
        parts = request.path.strip("/").split("/")
        if parts[:2] == ["api", "webhooks"] and len(parts) == 4:
            response = self._webhook(request.method, parts[2], parts[3])
        elif request.headers.get("Authorization") != f"Bot {BOT_TOKEN}":
            response = _json({"message": "401: Unauthorized", "code": 0}, status=401)
        else:
            response = self._bot_route(request.method, "/" + "/".join(parts[2:]), payload)
        recorded.status = response.status
        return response

    def _webhook(self, method: str, webhook_id: str, token: str) -> web.Response:
        if webhook_id in self.deleted or webhook_id not in self.webhooks:
            return _json({"message": "Unknown Webhook", "code": 10015}, status=404)
        if self.webhooks[webhook_id] != token:
            return _json({"message": "Invalid Webhook Token", "code": 50027}, status=401)
        if method == "GET":
            return _json(
                {"id": webhook_id, "type": 1, "name": f"papers-{webhook_id}", "channel_id": "77"}
            )
        if self.scripts.get(webhook_id):
            answer = self.scripts[webhook_id].popleft()
            return _json(answer.body, status=answer.status, headers=answer.headers)
        limited = self._global_limit() or self._bucket_limit(webhook_id)
        if limited is not None:
            return limited
        bucket = self._buckets[webhook_id]
        reset_after = bucket.opened + self.bucket_window - time.monotonic()
        headers = {
            "X-RateLimit-Limit": str(self.bucket_limit),
            "X-RateLimit-Remaining": str(self.bucket_limit - bucket.used),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Bucket": f"bucket-{webhook_id}",
        }
        return _json({"id": str(next(self._ids)), "webhook_id": webhook_id}, headers=headers)

    def _global_limit(self) -> web.Response | None:
        now = time.monotonic()
        while self._recent and self._recent[0] <= now - self.global_window:
            self._recent.popleft()
        if len(self._recent) < self.global_limit:
            self._recent.append(now)
            return None
        retry_after = self._recent[0] + self.global_window - now
        self.rate_limited["global"] += 1
        return _too_many(retry_after, True, {"X-RateLimit-Global": "true"})

    def _bucket_limit(self, webhook_id: str) -> web.Response | None:
        now = time.monotonic()
        bucket = self._buckets.setdefault(webhook_id, _Bucket(opened=now))
        if now >= bucket.opened + self.bucket_window:
            bucket.used, bucket.opened = 0, now
        if bucket.used < self.bucket_limit:
            bucket.used += 1
            return None
        retry_after = bucket.opened + self.bucket_window - now
        self.rate_limited[webhook_id] += 1
        headers = {
            "X-RateLimit-Limit": str(self.bucket_limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": f"bucket-{webhook_id}",
        }
        return _too_many(retry_after, False, headers)

    def _bot_route(self, method: str, path: str, payload: Any) -> web.Response:
        if (method, path) == ("GET", "/users/@me"):
            return _json(BOT_USER)
        if (method, path) == ("GET", "/oauth2/applications/@me"):
            return _json(
                {
                    "id": APP_ID,
                    "name": "paperbot",
                    "description": "",
                    "icon": None,
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": BOT_USER,
                    "verify_key": "00",
                    "flags": 0,
                }
            )
        if (method, path) == ("GET", "/gateway/bot"):
            return _json(
                {
                    "url": f"ws://127.0.0.1:{self.port}/gateway",
                    "shards": 1,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 999,
                        "reset_after": 0,
                        "max_concurrency": 1,
                    },
                }
            )
        if method == "PUT" and path.startswith(f"/applications/{APP_ID}/"):
            return _json(
                [
                    {**c, "id": str(next(self._ids)), "application_id": APP_ID, "version": "1"}
                    for c in payload or []
                ]
            )
        if method == "POST" and path.startswith("/interactions/"):
            return _json({"interaction": {"id": path.split("/")[2], "type": 2}})
        if method == "POST" and path.startswith("/channels/") and path.endswith("/messages"):
            return _json(_message(path.split("/")[2], payload))
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    # gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._sockets.append(socket)
        await socket.send_json({"op": GATEWAY_HELLO, "d": {"heartbeat_interval": 45_000}})
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                break
            frame = json.loads(message.data)
            if frame["op"] == GATEWAY_HEARTBEAT:
                await socket.send_json({"op": GATEWAY_ACK})
            elif frame["op"] == GATEWAY_IDENTIFY:
                self.identify = frame["d"]
                await socket.send_json(self._ready())
        self._sockets.remove(socket)
        return socket

    def _ready(self) -> dict[str, Any]:
        return {
            "op": GATEWAY_DISPATCH,
            "t": "READY",
            "s": 1,
            "d": {
                "v": 10,
                "user": BOT_USER,
                "guilds": [],
                "session_id": "fake-session",
                "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                "application": {"id": APP_ID, "flags": 0},
            },
        }


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A JSON response typed exactly `application/json`, as Discord sends it (discord.py
    reads any other content type as text)."""
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers=headers,
        content_type="application/json",
    )  # fmt: skip


def _too_many(retry_after: float, is_global: bool, headers: dict[str, str]) -> web.Response:
    body = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": is_global,
    }
    headers = {
        **headers,
        "Retry-After": str(math.ceil(retry_after)),
        "X-RateLimit-Scope": "global" if is_global else "user",
    }
    return _json(body, status=429, headers=headers)


async def _read_body(request: web.Request) -> tuple[Any, list[Upload]]:
    """The JSON payload (also `payload_json` of a multipart body) and the uploaded files."""
    if request.content_type == "multipart/form-data":
        payload: Any = None
        files = []
        async for part in await request.multipart():
            data = await part.read()  # type: ignore[union-attr]
            if part.name == "payload_json":
                payload = json.loads(data)
            else:
                content_type = part.headers.get("Content-Type", "")
                files.append(
                    Upload(part.name or "", part.filename or "", bytes(data), content_type)
                )
        return payload, files
    if request.can_read_body:
        text = await request.text()
        return (json.loads(text) if text else None), []
    return None, []


def _message(channel_id: str, payload: Any) -> dict[str, Any]:
    """The message Discord answers a bot's post with (what discord.py reads of it)."""
    return {
        "id": str(10**17 + len(str(payload))),
        "channel_id": channel_id,
        "author": BOT_USER,
        "content": (payload or {}).get("content", ""),
        "timestamp": "2026-11-23T00:00:00+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": (payload or {}).get("embeds", []),
        "pinned": False,
        "type": 0,
    }
