"""Summarizers: turn a paper into the SPEC summary object."""

from bot.summarize.base import Summarizer, SummaryError

__all__ = ["Summarizer", "SummaryError"]
