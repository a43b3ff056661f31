"""Summarizers: turn a paper into the SPEC summary object."""

from bot.summarize.base import (
    BACKGROUND,
    PERSON,
    PLANNED,
    ModelCall,
    ModelUnavailable,
    Summarizer,
    SummaryError,
    SummaryRun,
)

__all__ = [
    "BACKGROUND",
    "PERSON",
    "PLANNED",
    "ModelCall",
    "ModelUnavailable",
    "Summarizer",
    "SummaryError",
    "SummaryRun",
]
