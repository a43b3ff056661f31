"""Figures cropped from a paper's PDF (the card's key figure)."""

from bot.figures.base import FigureSource, NoFigures

__all__ = ["FigureSource", "NoFigures"]
