"""Discord's failures as the delivery contract (`bot.delivery`), for the bot and the
webhooks alike.

The bot talks to Discord through discord.py, which waits out 429s itself and
raises an `HTTPException` (`Forbidden`, `NotFound`, `DiscordServerError`) for
what is left; the webhooks talk through httpx and read the answers themselves.
Both ask `delivery_error` what a failure means.
"""

from __future__ import annotations

import aiohttp
import discord
import httpx

from bot.delivery import ChatUnavailable, DeliveryFailed, MessageRejected

# The answers that mean the chat is gone. A webhook's token is part of its chat, so a 401
# means it was revoked; the bot's 401 is its own token refused, every channel's problem.
BOT_GONE = {403: "the bot may not post there", 404: "channel deleted or not visible"}
WEBHOOK_GONE = dict.fromkeys((401, 403, 404), "webhook deleted or revoked")
NOT_THE_MESSAGE = (401, 429)  # 4xx answers that are the platform's trouble

Failure = discord.HTTPException | httpx.Response | aiohttp.ClientError | TimeoutError


def delivery_error(failure: Failure) -> DeliveryFailed:
    """What a failed send means for its delivery: the one place Discord's failures are
    read. `failure` is discord.py's exception (the bot), a webhook's error answer, or a
    request that got no answer (network error, timeout).

    A channel or webhook that is gone, or closed to the bot, is unavailable (`BOT_GONE`,
    `WEBHOOK_GONE`); any other 4xx (invalid form body, too long, payload too large) is
    the message's; the rest is the platform's: 5xx, 429s that outlasted the waits, the
    bot's 401 (its token refused), no answer at all.
    """
    if isinstance(failure, discord.HTTPException):
        status, gone = failure.status, BOT_GONE
        answer = f"{status} {failure.text} ({failure.code})"
    elif isinstance(failure, httpx.Response):
        status, gone, answer = failure.status_code, WEBHOOK_GONE, answer_text(failure)
    else:
        return DeliveryFailed(f"Discord: {str(failure) or type(failure).__name__}")
    if status in gone:
        return ChatUnavailable(f"{gone[status]} ({answer})")
    if 400 <= status < 500 and status not in NOT_THE_MESSAGE:
        return MessageRejected(f"Discord refused the message: {answer}")
    return DeliveryFailed(f"Discord answered {answer}")


def answer_text(response: httpx.Response) -> str:
    """`404 Unknown Webhook (10015)`: status and Discord's message, never the URL."""
    try:
        body = response.json()
        return f"{response.status_code} {body.get('message', '')} ({body.get('code', '?')})"
    except ValueError:
        return str(response.status_code)
