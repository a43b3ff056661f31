"""Each adapter's one classifier: the platform's errors as the delivery contract of
bot/delivery.py (the chat is gone, the message was refused, the platform is in trouble)."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import discord
import httpx
import pytest
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.delivery import ChatUnavailable, DeliveryFailed, MessageRejected
from bot.retry import ServiceUnavailable
from handlers import discord_errors, telegram


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (Forbidden("Forbidden: bot was blocked by the user"), ChatUnavailable),
        (Forbidden("Forbidden: bot was kicked from the supergroup chat"), ChatUnavailable),
        (BadRequest("Bad Request: chat not found"), ChatUnavailable),
        (BadRequest("Bad Request: not enough rights to send text messages"), ChatUnavailable),
        (BadRequest("Bad Request: can't parse entities: unexpected end tag"), MessageRejected),
        (BadRequest("Bad Request: message is too long"), MessageRejected),
        (BadRequest("Bad Request: IMAGE_PROCESS_FAILED"), MessageRejected),
        (ChatMigrated(-100777), DeliveryFailed),
        (RetryAfter(30), DeliveryFailed),
        (NetworkError("Bad Gateway"), DeliveryFailed),
        (TimedOut(), DeliveryFailed),
        (InvalidToken(), DeliveryFailed),
    ],
)
def test_telegram_errors(error: TelegramError, outcome: type[DeliveryFailed]) -> None:
    failure = telegram.delivery_error(error, 42)
    assert type(failure) is outcome
    assert str(failure) == f"chat 42: {error.message}"


def test_telegram_failure_after_the_retries_keeps_the_wait_asked_for() -> None:
    given_up = ServiceUnavailable(
        "Telegram sendMessage to 42: Too Many Requests (after 4 attempts)", retry_after=30.0
    )
    failure = telegram.delivery_error(given_up, 42)
    assert type(failure) is DeliveryFailed and failure.retry_after == 30.0
    assert str(failure) == "Telegram sendMessage to 42: Too Many Requests (after 4 attempts)"


@dataclass
class Answer:
    """The part of an aiohttp response discord.py's exceptions read."""

    status: int
    reason: str = ""


def discord_error(
    kind: type[discord.HTTPException], status: int, message: str, code: int
) -> discord.HTTPException:
    return kind(Answer(status), {"message": message, "code": code})


@pytest.mark.parametrize(
    ("error", "outcome", "reason"),
    [
        (
            discord_error(discord.Forbidden, 403, "Missing Permissions", 50013),
            ChatUnavailable,
            "the bot may not post there (403 Missing Permissions (50013))",
        ),
        (
            discord_error(discord.NotFound, 404, "Unknown Channel", 10003),
            ChatUnavailable,
            "channel deleted or not visible (404 Unknown Channel (10003))",
        ),
        (
            discord_error(discord.HTTPException, 400, "Invalid Form Body", 50035),
            MessageRejected,
            "Discord refused the message: 400 Invalid Form Body (50035)",
        ),
        (
            discord_error(discord.HTTPException, 413, "Request entity too large", 40005),
            MessageRejected,
            "Discord refused the message: 413 Request entity too large (40005)",
        ),
        (
            discord_error(discord.HTTPException, 401, "401: Unauthorized", 0),
            DeliveryFailed,
            "Discord answered 401 401: Unauthorized (0)",
        ),
        (
            discord_error(discord.HTTPException, 429, "You are being rate limited.", 0),
            DeliveryFailed,
            "Discord answered 429 You are being rate limited. (0)",
        ),
        (
            discord_error(discord.DiscordServerError, 503, "Service Unavailable", 0),
            DeliveryFailed,
            "Discord answered 503 Service Unavailable (0)",
        ),
        (
            aiohttp.ClientConnectionError("Connection reset by peer"),
            DeliveryFailed,
            "Discord: Connection reset by peer",
        ),
        (TimeoutError(), DeliveryFailed, "Discord: TimeoutError"),
    ],
)
def test_discord_bot_errors(
    error: discord_errors.Failure, outcome: type[DeliveryFailed], reason: str
) -> None:
    failure = discord_errors.delivery_error(error)
    assert type(failure) is outcome
    assert str(failure) == reason


@pytest.mark.parametrize(
    ("status", "body", "outcome", "reason"),
    [
        (404, {"message": "Unknown Webhook", "code": 10015}, ChatUnavailable,
         "webhook deleted or revoked (404 Unknown Webhook (10015))"),
        (401, {"message": "Invalid Webhook Token", "code": 50027}, ChatUnavailable,
         "webhook deleted or revoked (401 Invalid Webhook Token (50027))"),
        (403, {"message": "Missing Access", "code": 50001}, ChatUnavailable,
         "webhook deleted or revoked (403 Missing Access (50001))"),
        (400, {"message": "Invalid Form Body", "code": 50035}, MessageRejected,
         "Discord refused the message: 400 Invalid Form Body (50035)"),
        (413, {"message": "Request entity too large", "code": 40005}, MessageRejected,
         "Discord refused the message: 413 Request entity too large (40005)"),
        (429, {"message": "You are being rate limited.", "retry_after": 1.5}, DeliveryFailed,
         "Discord answered 429 You are being rate limited. (?)"),
        (500, {"message": "Internal Server Error", "code": 0}, DeliveryFailed,
         "Discord answered 500 Internal Server Error (0)"),
        (502, None, DeliveryFailed, "Discord answered 502"),
    ],
)  # fmt: skip
def test_discord_webhook_answers(
    status: int, body: dict | None, outcome: type[DeliveryFailed], reason: str
) -> None:
    answer = httpx.Response(status, json=body) if body else httpx.Response(status, text="<html>")
    failure = discord_errors.delivery_error(answer)
    assert type(failure) is outcome
    assert str(failure) == reason
