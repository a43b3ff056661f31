"""Logging setup: one format, and secrets from the settings never printed."""

from __future__ import annotations

import logging
import re
import sys

from bot.config import Settings

REDACTED = "[redacted]"
_WEBHOOK_TOKEN = re.compile(r"(/webhooks/\d+/)[^/?#\s\"'<>]+")
_FORMATTER = logging.Formatter()


def mask_webhook_urls(text: str) -> str:
    """`text` with the secret token of every webhook URL in it masked."""
    return _WEBHOOK_TOKEN.sub(r"\1****", text)


class RedactSecrets(logging.Filter):
    """Replaces every configured token or key, and the token of any webhook URL, in a
    record's final message and traceback (URLs of the Telegram Bot API contain the token)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return mask_webhook_urls(text)


def setup_logging(
    settings: Settings, default_level: str = "INFO", handler: logging.Handler | None = None
) -> None:
    """Log through `handler` (the CLI's console on a terminal, so log lines print above a
    progress display), else as plain lines on stderr; at `PAPERBOT_LOG_LEVEL`, else at
    `default_level` (long-running commands INFO, one-off ones WARNING)."""
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    secrets = [
        s
        for s in (
            settings.gemini_api_key,
            settings.openai_api_key,
            settings.telegram_bot_token,
            settings.discord_bot_token,
        )
        if s
    ]
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level or default_level)
    for noisy in ("httpx", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
