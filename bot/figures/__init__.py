"""Figures cropped from a paper's PDF (the card's key figure) and its full text.

`base` is the interface (`FigureSource`) and its stand-in `NoFigures`;
`source.PdfFigures` is the implementation: download (`bot.arxiv.client`),
disk cache (`cache`), parse in a sandboxed worker process (`sandbox`, `worker`)
with PyMuPDF (`layout` reads a page, `visible` leaves out the text its readers
cannot see, `document` the running text's geometry, `captions` the captions,
`page_view` and `regions` each figure's region, `crops` its image, `fulltext` the
running text; `boxes` are their rectangles).
"""

from bot.figures.base import FigureSource, NoFigures

__all__ = ["FigureSource", "NoFigures"]
