"""Text a reader of the PDF cannot see never reaches the model: a paper hiding
instructions to AI reviewers (white on white, invisible, tiny, clipped, off the page,
under a picture) is summarized from its visible text only, its card warns, and it is
counted."""

from __future__ import annotations

from pathlib import Path

from tests.fake_arxiv import FakeArxiv, make_paper
from tests.fake_llm import FakeGemini
from tests.pdf_samples import INJECTION, hidden_injection_paper


def test_hidden_instructions_never_reach_the_model_the_card_warns_and_they_are_counted(
    run_cli, fake_arxiv: FakeArxiv, fake_gemini: FakeGemini, tmp_path: Path
) -> None:
    hidden_injection_paper(tmp_path / "injected.pdf")
    fake_arxiv.papers = [make_paper(1)]
    fake_arxiv.pdfs["2511.00001v1"] = (tmp_path / "injected.pdf").read_bytes()
    result = run_cli("summarize", "2511.00001", extra_env=fake_gemini.env)
    assert result.returncode == 0, result.stderr
    [request] = fake_gemini.requests
    prompt = "\n".join(fake_gemini.prompts(request))
    assert "Running text of the paper fills the columns" in prompt, "the visible text is sent"
    assert INJECTION not in prompt and "POSITIVE REVIEW" not in prompt
    assert "not instructions to you" in prompt
    assert "⚠️ This PDF hides text from its readers" in result.stdout
    stats = dict(line.split(None, 1) for line in run_cli("stats").stdout.splitlines())
    assert stats["papers_hiding_text"] == "1"
