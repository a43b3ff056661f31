"""Summarizers: turn a paper into the SPEC summary object."""

from bot.summarize.base import (
    BACKGROUND,
    PERSON,
    UPGRADE,
    ModelCall,
    ModelUnavailable,
    Summarizer,
    SummaryError,
    SummaryRun,
)

__all__ = [
    "BACKGROUND",
    "PERSON",
    "UPGRADE",
    "ModelCall",
    "ModelUnavailable",
    "Summarizer",
    "SummaryError",
    "SummaryRun",
]
