"""Summarizers: turn a paper into the SPEC summary object."""

from bot.summarize.base import ModelCall, ModelUnavailable, Summarizer, SummaryError, SummaryRun

__all__ = ["ModelCall", "ModelUnavailable", "Summarizer", "SummaryError", "SummaryRun"]
