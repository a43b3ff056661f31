"""Chat settings (`/set <name> <value>`): names, validation and defaults in one place."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.i18n import normalize_language

MAX_PAPERS_LIMIT = 50
_TIME = re.compile(r"(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)")


class SettingError(ValueError):
    """A bad setting name or value; the message is for the user."""


def default_chat_settings(language: str) -> dict[str, Any]:
    return {
        "language": language,
        "timezone": "UTC",
        "mode": "instant",
        "digest_time": "08:00",
        "figures": 1,
        "max_papers": 10,
        "active": 1,
    }


def _language(value: str) -> dict[str, Any]:
    try:
        return {"language": normalize_language(value)}
    except ValueError as exc:
        raise SettingError(str(exc)) from None


def _mode(value: str) -> dict[str, Any]:
    mode = value.lower()
    if mode not in ("instant", "daily"):
        raise SettingError("mode is daily (one digest a day) or instant (cards as they come)")
    return {"mode": mode}


def _time(value: str) -> dict[str, Any]:
    match = _TIME.fullmatch(value)
    if match is None:
        raise SettingError("time is HH:MM in 24-hour form, e.g. 08:30")
    return {"digest_time": f"{int(match['h']):02d}:{match['m']}"}


def _timezone(value: str) -> dict[str, Any]:
    lowered = {name.lower(): name for name in available_timezones()}
    name = lowered.get(value.lower(), value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(
            "timezone is an IANA name such as Europe/Berlin, Asia/Shanghai or UTC"
        ) from None
    return {"timezone": name}


def _figures(value: str) -> dict[str, Any]:
    flag = {"on": 1, "off": 0, "yes": 1, "no": 0, "true": 1, "false": 0}.get(value.lower())
    if flag is None:
        raise SettingError("figures is on or off")
    return {"figures": flag}


def _max(value: str) -> dict[str, Any]:
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAPERS_LIMIT:
        raise SettingError(f"max is a number of papers from 1 to {MAX_PAPERS_LIMIT}")
    return {"max_papers": int(value)}


def _threshold(value: str) -> dict[str, Any]:
    if value.lower() == "off":
        return {"threshold": None}
    try:
        threshold = float(value)
    except ValueError:
        threshold = -1.0
    if not 0 <= threshold <= 1:
        raise SettingError("threshold is a score from 0 to 1, e.g. 0.4, or off")
    return {"threshold": threshold}


SETTINGS: dict[str, Callable[[str], dict[str, Any]]] = {
    "language": _language,
    "mode": _mode,
    "time": _time,
    "timezone": _timezone,
    "figures": _figures,
    "max": _max,
    "threshold": _threshold,
}


def parse_setting(name: str, value: str) -> dict[str, Any]:
    """Column changes for `/set name value`; raises `SettingError`."""
    parse = SETTINGS.get(name.lower())
    if parse is None:
        raise SettingError(f"unknown setting {name!r}; settings: {', '.join(SETTINGS)}")
    if not value.strip():
        raise SettingError(f"give a value: /set {name.lower()} <value>")
    return parse(value.strip())


_EXAMPLES: dict[str, tuple[str, ...]] = {
    "language": ("en", "zh", "de", "es", "fr", "ja", "ko", "ru"),
    "mode": ("instant", "daily"),
    "time": tuple(f"{hour:02d}:00" for hour in range(24)),
    "figures": ("on", "off"),
    "max": ("5", "10", "20", str(MAX_PAPERS_LIMIT)),
    "threshold": ("off", "0.3", "0.4", "0.5", "0.6"),
}


def suggest_values(name: str, typed: str, limit: int = 25) -> list[str]:
    """Values of setting `name` for autocompletion: those starting with what was typed
    (time zones: containing it). Only hints; `parse_setting` decides what is valid."""
    wanted = typed.strip().lower()
    if name.lower() == "timezone":
        return sorted(z for z in available_timezones() if wanted in z.lower())[:limit]
    examples = _EXAMPLES.get(name.lower(), ())
    return [value for value in examples if value.startswith(wanted)][:limit]
