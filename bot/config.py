"""Configuration from the environment and a `.env` file (names fixed by SPEC.md).

Every value is validated once at start, except those that only some commands use
(`poll_interval`: only the commands that poll; `llm_budget`'s reset time: only the
commands that ask the model or show its budget), validated when read, so they never
stops a command that does not use it. A bad value raises `ConfigError` with a
one-line message naming the variable, so the CLI can print it and exit 2.
Secrets (API keys, tokens) are kept out of `repr` so they never reach a log.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values

from bot.i18n import normalize_language
from bot.summarize.budget import GEMINI_RESET, BudgetLimits, QuotaReset

T = TypeVar("T")

LLM_CHOICES = ("auto", "gemini", "openai", "none")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A configuration value is invalid; the message is one line for the user."""


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("paperbot.db")
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_pdf_url: str = "https://arxiv.org/pdf/"
    arxiv_rss_url: str = "https://rss.arxiv.org/rss/"
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    arxiv_delay: float = 3.0
    poll_interval_text: str = ""  # PAPERBOT_POLL_INTERVAL as given; see `poll_interval`
    language: str = "en"
    llm: str = "auto"
    llm_model: str = "gemini-2.5-flash"
    llm_rpm: int | None = None
    llm_rpd: int | None = None
    llm_reset_text: str = ""  # PAPERBOT_LLM_RESET as given; see `llm_budget`
    gemini_api_key: str | None = field(default=None, repr=False)
    gemini_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    telegram_bot_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = "https://api.telegram.org"
    discord_bot_token: str | None = field(default=None, repr=False)
    discord_api_url: str = "https://discord.com/api/v10"
    discord_guild_id: int | None = None
    admin_ids: frozenset[str] = frozenset()
    log_level: str | None = None  # unset: the command's own (bot/logs.py)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
    ) -> Settings:
        """Read settings; the process environment wins over the `.env` file."""
        values: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        return cls._parse(values)

    @classmethod
    def _parse(cls, env: Mapping[str, str]) -> Settings:
        def get(name: str, parse: Callable[[str, str], T], default: T) -> T:
            return _value(name, env.get(name, ""), parse, default)

        d = cls()
        return cls(
            db_path=get("PAPERBOT_DB", _path, d.db_path),
            arxiv_api_url=get("PAPERBOT_ARXIV_API_URL", _url, d.arxiv_api_url),
            arxiv_pdf_url=get("PAPERBOT_ARXIV_PDF_URL", _url, d.arxiv_pdf_url),
            arxiv_rss_url=get("PAPERBOT_ARXIV_RSS_URL", _url, d.arxiv_rss_url),
            arxiv_oai_url=get("PAPERBOT_ARXIV_OAI_URL", _url, d.arxiv_oai_url),
            arxiv_delay=get("PAPERBOT_ARXIV_DELAY", _seconds, d.arxiv_delay),
            poll_interval_text=env.get("PAPERBOT_POLL_INTERVAL", ""),
            language=get("PAPERBOT_LANGUAGE", _language, d.language),
            llm=get("PAPERBOT_LLM", _choice(LLM_CHOICES), d.llm),
            llm_model=get("PAPERBOT_LLM_MODEL", _text, d.llm_model),
            llm_rpm=get("PAPERBOT_LLM_RPM", _count, None),
            llm_rpd=get("PAPERBOT_LLM_RPD", _count, None),
            llm_reset_text=env.get("PAPERBOT_LLM_RESET", ""),
            gemini_api_key=get("GEMINI_API_KEY", _text, None),
            gemini_base_url=get("GEMINI_BASE_URL", _url, None),
            openai_api_key=get("OPENAI_API_KEY", _text, None),
            openai_base_url=get("OPENAI_BASE_URL", _url, None),
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN", _text, None),
            telegram_api_url=get("TELEGRAM_API_URL", _url, d.telegram_api_url),
            discord_bot_token=get("DISCORD_BOT_TOKEN", _text, None),
            discord_api_url=get("DISCORD_API_URL", _url, d.discord_api_url),
            discord_guild_id=get("DISCORD_GUILD_ID", _snowflake, None),
            admin_ids=get("PAPERBOT_ADMIN_IDS", _id_set, d.admin_ids),
            log_level=get("PAPERBOT_LOG_LEVEL", _choice(LOG_LEVELS, upper=True), None),
        )

    @property
    def poll_interval(self) -> float:
        """Seconds between polls (default 3600); read only by the commands that poll, so a
        bad `PAPERBOT_POLL_INTERVAL` raises `ConfigError` there and nowhere else."""
        return _value("PAPERBOT_POLL_INTERVAL", self.poll_interval_text, _positive_seconds, 3600.0)

    @property
    def llm_budget(self) -> BudgetLimits:
        """The model's request budget: `PAPERBOT_LLM_RPM`, `PAPERBOT_LLM_RPD`, and when the
        provider's day resets (`PAPERBOT_LLM_RESET`, default midnight Pacific time as Gemini
        counts it; a bad value raises `ConfigError` here)."""
        reset = _value("PAPERBOT_LLM_RESET", self.llm_reset_text, _reset, GEMINI_RESET)
        return BudgetLimits(self.llm_rpm, self.llm_rpd, reset)

    @property
    def pdf_cache_dir(self) -> Path:
        """Where parsed PDFs (figures, full text) are cached: next to the database,
        `paperbot.db` → `paperbot-pdf-cache/`."""
        return self.db_path.with_name(f"{self.db_path.stem}-pdf-cache")

    @property
    def llm_backend(self) -> str:
        """The summarizer to use: `auto` resolved by which key is set."""
        if self.llm != "auto":
            return self.llm
        if self.gemini_api_key:
            return "gemini"
        if self.openai_api_key or self.openai_base_url:
            return "openai"
        return "none"


def _value(name: str, raw: str, parse: Callable[[str, str], T], default: T) -> T:
    """`raw` parsed, or `default` when it is empty."""
    raw = raw.strip()
    return parse(name, raw) if raw else default


def _text(name: str, raw: str) -> str:
    return raw


def _path(name: str, raw: str) -> Path:
    return Path(raw).expanduser()


def _url(name: str, raw: str) -> str:
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(f"{name}={raw!r} is not an http(s) URL")
    return raw


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
    if not 0 <= value < 86400:
        raise ConfigError(f"{name}={raw!r} must be between 0 and 86400 seconds")
    return value


def _positive_seconds(name: str, raw: str) -> float:
    value = _seconds(name, raw)
    if value < 60:
        raise ConfigError(f"{name}={raw!r} must be at least 60 seconds")
    return value


def _count(name: str, raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name}={raw!r} is not a positive whole number")
    return int(raw)


def _reset(name: str, raw: str) -> QuotaReset:
    try:
        return QuotaReset.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: {exc}") from None


def _language(name: str, raw: str) -> str:
    try:
        return normalize_language(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: {exc}") from None


def _snowflake(name: str, raw: str) -> int:
    if not raw.isdigit():
        raise ConfigError(f"{name}={raw!r} is not a Discord id (digits only)")
    return int(raw)


def _id_set(name: str, raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def _choice(choices: tuple[str, ...], upper: bool = False) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.upper() if upper else raw.lower()
        if value not in choices:
            raise ConfigError(f"{name}={raw!r} must be one of: {', '.join(choices)}")
        return value

    return parse
