"""PDFs for the failure cases, made from the fixture PDFs or written byte by byte."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pymupdf

from tests.fake_arxiv import PDFS

EXPECTED = json.loads((PDFS / "EXPECTED.json").read_text(encoding="utf-8"))
PAPERS = [name for name in EXPECTED if name != "_meta"]
SMALL = "naacl2018_literature_graph_N18-3011.pdf"  # 1 figure, 8 pages, 175 KB


def fixture_bytes(name: str = SMALL) -> bytes:
    return (PDFS / name).read_bytes()


def truncated(name: str = SMALL) -> bytes:
    """The first half of a fixture, as a broken download leaves it."""
    data = fixture_bytes(name)
    return data[: len(data) // 2]


def encrypted(tmp_path: Path, name: str = SMALL) -> bytes:
    """A fixture saved with a user password (AES-256)."""
    target = tmp_path / "encrypted.pdf"
    with pymupdf.open(PDFS / name) as document:
        document.save(
            target, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner"
        )
    return target.read_bytes()


def span_flood(pairs: int) -> bytes:
    """A tiny valid PDF whose one page holds `pairs` × 2 text runs in alternating sizes:
    a few KB on disk, hundreds of MB and seconds for a parser (a memory and time bomb)."""
    content = b"BT 50 700 Td " + b"/F1 6 Tf (ab) Tj /F1 7 Tf (cd) Tj " * pairs + b"ET"
    data = zlib.compress(content, 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
