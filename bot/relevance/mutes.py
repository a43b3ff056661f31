"""Mutes: a keyword phrase, `au:Name` or a category a chat never wants papers of.

A mute is written and matched exactly as a topic (bot/topics.py: whole words,
case- and accent-insensitive); a raw query cannot be a mute, since whether a
paper matches it is decided by arXiv only.
"""

from __future__ import annotations

from bot.topics import Topic, TopicError, TopicKind, parse_topic


def parse_mute(text: str) -> Topic:
    """Parse a mute as a user typed it; raises `TopicError` explaining the problem."""
    mute = parse_topic(text)
    if mute.kind is TopicKind.QUERY:
        raise TopicError("a mute is a keyword phrase, au:Name or a category, not a query")
    return mute
