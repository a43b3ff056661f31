"""The figure interface: a paper in, its figures out (key figure first)."""

from __future__ import annotations

from typing import Protocol

from bot.models import Figure, Paper


class FigureSource(Protocol):
    """Finds the figures of a paper. Never raises: a failure means no figures."""

    async def figures(self, paper: Paper) -> list[Figure]:
        """The paper's figures in order of their number; empty when none can be had."""
        ...


class NoFigures:
    """Used until PDF figure extraction is configured: every card goes without a figure."""

    async def figures(self, paper: Paper) -> list[Figure]:
        return []
