"""Each adapter's one classifier: the platform's errors as the delivery contract of
bot/delivery.py (the chat is gone, the message was refused, the platform is in trouble)."""

from __future__ import annotations

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
from handlers import telegram


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
