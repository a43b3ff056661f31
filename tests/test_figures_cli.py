"""Every figure of a paper on disk: `paperbot summarize ID --figures DIR` saves them all
with `figures.json`, and `paperbot digest … --all-figures` shows them all in the post,
the key figure first."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pymupdf
import pytest

from tests.fake_arxiv import FakeArxiv, make_paper
from tests.pdf_samples import BBOX_TOLERANCE, EXPECTED, fixture_bytes, normalized

REVTEX = "revtex_1609.04957v2_nmr_lafeaso_pressure.pdf"  # five FIG. captions, two columns


def test_summarize_saves_every_figure_and_lists_them_in_figures_json(
    run_cli, fake_arxiv: FakeArxiv, tmp_path: Path
) -> None:
    fake_arxiv.papers = [make_paper(1)]
    fake_arxiv.pdfs["2511.00001v1"] = fixture_bytes(REVTEX)
    folder = tmp_path / "figs"
    result = run_cli("summarize", "2511.00001", "--figures", str(folder))
    assert result.returncode == 0, result.stderr
    listed = json.loads((folder / "figures.json").read_text())
    truth = EXPECTED[REVTEX]["figures"]
    assert [(f["number"], f["page"]) for f in listed] == [
        (int(t["number"]), t["page"]) for t in truth
    ]
    assert [f["key"] for f in listed] == [True, False, False, False, False]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["figures.json", *(f"2511.00001-fig{n}.png" for n in range(1, 6))]
    )
    for figure, want in zip(listed, truth, strict=True):
        assert figure["file"] == f"2511.00001-fig{figure['number']}.png"
        assert normalized(figure["caption"]).startswith(normalized(want["caption_start"]))
        misses = [abs(a - b) for a, b in zip(figure["bbox"], want["bbox_hint"], strict=True)]
        assert max(misses) <= BBOX_TOLERANCE, figure
        assert pymupdf.Pixmap(str(folder / figure["file"])).width >= 600


@pytest.mark.parametrize("every", [True, False])
def test_a_digest_shows_every_figure_on_request_the_key_one_first(
    run_cli, fake_arxiv: FakeArxiv, tmp_path: Path, every: bool
) -> None:
    fake_arxiv.papers = [make_paper(1, title="NeRF under pressure")]
    fake_arxiv.pdfs["2511.00001v1"] = fixture_bytes(REVTEX)
    out = tmp_path / "blog" / "nerf.md"
    args = ["digest", "NeRF", "--days", "3", "--format", "hexo", "--out", str(out)]
    result = run_cli(*args, *(["--all-figures"] if every else []))
    assert result.returncode == 0, result.stderr
    post = out.read_text()
    shown = re.findall(r'<img src="nerf/2511\.00001-fig(\d)\.png"', post)
    assert shown == (["1", "2", "3", "4", "5"] if every else ["1"])
    assert len(list((tmp_path / "blog" / "nerf").iterdir())) == len(shown)
    assert "\ncover: nerf/2511.00001-fig1.png\n" in post
    assert ("FIG. 5: (color online)" in post) == every
