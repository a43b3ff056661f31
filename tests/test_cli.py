"""The `paperbot` command end to end, in a subprocess, against the local fake arXiv."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import spawn_cli
from tests.fake_arxiv import FakeArxiv, Scripted, make_paper
from tests.fake_llm import GEMINI_KEY, FakeGemini
from tests.pdf_samples import fixture_bytes

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """What `paperbot ARGS` shows on a terminal (stderr on a pseudo-terminal, 100 columns),
    ANSI control sequences removed."""
    screen, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        env={**env, "COLUMNS": "100", "TERM": "xterm"},
        cwd=cwd,
    )
    os.close(terminal)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(screen, 4096)  # until the process closes the terminal
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait(timeout=60) == 0
    os.close(screen)
    return ANSI.sub("", shown.decode())


ASTRO = "arxiv_api/id_list_astro-ph_0601001_oldstyle_id_affiliation_journalref_2026.xml"


def test_summarize_every_id_form(run_cli, fake_arxiv: FakeArxiv, fixtures: Path) -> None:
    fake_arxiv.raw_ids["astro-ph/0601001"] = (fixtures / ASTRO).read_bytes()
    fake_arxiv.papers = [make_paper(409, title="Talking heads")]
    result = run_cli("summarize", "https://arxiv.org/abs/astro-ph/0601001")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Frequency of Hot Jupiters and Very Hot Jupiters")
    assert "Andrew Gould, Susan Dorsher, B. Scott Gaudi, Andrzej Udalski" in result.stdout
    assert "Venue: ActaAstron.56:1-50,2006" in result.stdout
    for form in (
        "2511.00409",
        "2511.00409v1",
        "arXiv:2511.00409",
        "https://arxiv.org/pdf/2511.00409",
    ):
        result = run_cli("summarize", form, "--format", "json")
        assert result.returncode == 0, result.stderr
        card = json.loads(result.stdout)
        assert card["paper"]["title"] == "Talking heads"
        assert card["summary"]["source"] == "extractive"
    assert fake_arxiv.pdf_requests() == [], "the extractive summarizer needs no PDF"


def test_summarize_markdown_and_zh_labels(run_cli, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.papers = [make_paper(1, title="A *bold* [claim](x)")]
    result = run_cli("summarize", "2511.00001", "--format", "markdown", "--lang", "zh")
    assert result.returncode == 0, result.stderr
    assert "A \\*bold\\* \\[claim\\](x)" in result.stdout
    assert "作者" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["summarize", "2404.99999"], 2, "no arXiv paper 2404.99999"),
        (["summarize", "not-an-id"], 2, "not an arXiv id or URL"),
        (["summarize", "2404.00409", "--format", "pdf"], 2, "Invalid value"),
        (["summarize", "2404.00409", "--lang", "12"], 2, "--lang '12'"),
        (["digest", "cs.CVV"], 2, "did you mean cs.CV"),
        (["digest", "cs.CV", "--since", "yesterday"], 2, "is not a date"),
        (["digest", "cs.CV", "--days", "2", "--since", "2024-01-01"], 2, "not both"),
    ],
)
def test_bad_input_exits_2_with_one_line(run_cli, args, code, message) -> None:
    result = run_cli(*args)
    assert result.returncode == code
    assert message in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr


def test_bad_configuration_exits_2(run_cli) -> None:
    result = run_cli("summarize", "2404.00409", extra_env={"PAPERBOT_ARXIV_DELAY": "abc"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "paperbot: PAPERBOT_ARXIV_DELAY='abc' is not a number of seconds"
    )


def test_a_bad_poll_interval_stops_only_the_commands_that_poll(
    run_cli, fake_arxiv: FakeArxiv, tmp_path: Path
) -> None:
    fake_arxiv.papers = [make_paper(1, title="Talking heads")]
    bad = {"PAPERBOT_POLL_INTERVAL": "5"}
    one_off = [
        ["summarize", "2511.00001"],
        ["digest", "cs.CV"],
        ["shell"],
        ["stats"],
        ["backup", str(tmp_path / "copy.db")],
    ]
    for args in one_off:
        result = run_cli(*args, extra_env=bad)
        assert result.returncode == 0, (args, result.stderr)
        assert "POLL_INTERVAL" not in result.stderr
    assert "Talking heads" in run_cli("summarize", "2511.00001", extra_env=bad).stdout
    told = run_cli("health", "--max-age", "3600", extra_env=bad)
    assert told.stderr == "paperbot: unhealthy: no poll has succeeded yet\n"
    for args in (["poll", "--once"], ["poll"], ["run"], ["health"]):
        result = run_cli(*args, extra_env=bad)
        assert result.returncode == 2, args
        assert result.stderr == "paperbot: PAPERBOT_POLL_INTERVAL='5' must be at least 60 seconds\n"


def test_arxiv_down_exits_1_with_reason(run_cli, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.api_script.extend([Scripted(503, headers={"Retry-After": "0"})] * 10)
    result = run_cli("summarize", "2404.00409")
    assert result.returncode == 1
    assert "HTTP 503 (after 4 attempts)" in result.stderr.splitlines()[-1]


def test_digest_formats(run_cli, fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    fake_arxiv.papers = [
        make_paper(i, title=f"NeRF paper {i}", categories=["cs.CV"]) for i in range(1, 6)
    ] + [make_paper(9, title="Old NeRF", age=__import__("datetime").timedelta(days=30))]
    result = run_cli("digest", "NeRF", "cs.CV", "--days", "3", "--max", "3", "--format", "json")
    assert result.returncode == 0, result.stderr
    digest = json.loads(result.stdout)
    assert [c["paper"]["id"] for c in digest["cards"]] == ["2511.00001", "2511.00002", "2511.00003"]
    out = tmp_path / "post.md"
    result = run_cli("digest", "NeRF", "--days", "7", "--format", "hexo", "--out", str(out))
    assert result.returncode == 0, result.stderr
    post = out.read_text()
    assert post.startswith("---\ntitle: nerf\n")
    assert post.count("\n## ") == 5 and "Old NeRF" not in post


def test_summarize_saves_the_key_figure(run_cli, fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    fake_arxiv.papers = [make_paper(1, title="Literature graph")]
    fake_arxiv.pdfs["2511.00001v1"] = fixture_bytes()
    result = run_cli("summarize", "2511.00001", "--figures", str(tmp_path / "figs"))
    assert result.returncode == 0, result.stderr
    assert "Figure 1: Part of the literature graph." in result.stdout
    saved = tmp_path / "figs" / "2511.00001-fig1.png"
    assert saved.read_bytes().startswith(b"\x89PNG")
    again = run_cli("summarize", "2511.00001", "--format", "json", "--figures", str(tmp_path))
    card = json.loads(again.stdout)
    assert card["figure"] == {
        "number": 1,
        "page": 1,
        "caption": "Figure 1: Part of the literature graph.",
    }
    assert fake_arxiv.pdf_requests() == ["2511.00001v1"], "parsed once, then from the cache"


def test_summarize_without_a_pdf_says_why_and_still_works(
    run_cli, fake_arxiv: FakeArxiv, tmp_path: Path
) -> None:
    fake_arxiv.papers = [make_paper(1)]
    result = run_cli("summarize", "2511.00001", "--figures", str(tmp_path / "figs"))
    assert result.returncode == 0, result.stderr
    assert "no figures for 2511.00001v1: no PDF (HTTP 404)" in result.stderr
    assert [p.name for p in (tmp_path / "figs").iterdir()] == ["figures.json"]
    assert json.loads((tmp_path / "figs" / "figures.json").read_text()) == []


@pytest.mark.parametrize("format", ["hexo", "markdown"])
def test_digest_writes_figures_next_to_the_post(
    run_cli, fake_arxiv: FakeArxiv, tmp_path: Path, format: str
) -> None:
    fake_arxiv.papers = [
        make_paper(1, title="NeRF graphs"),
        make_paper(2, title="NeRF without a PDF"),
    ]
    fake_arxiv.pdfs["2511.00001v1"] = fixture_bytes()
    out = tmp_path / "blog" / "nerf.md"
    result = run_cli("digest", "NeRF", "--days", "3", "--format", format, "--out", str(out))
    assert result.returncode == 0, result.stderr
    post = out.read_text()
    assert (tmp_path / "blog" / "nerf" / "2511.00001-fig1.png").read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in (tmp_path / "blog" / "nerf").iterdir()] == ["2511.00001-fig1.png"]
    assert post.count('<img src="nerf/2511.00001-fig1.png"') == 1
    assert "Figure 1: Part of the literature graph." in post
    if format == "hexo":
        assert "\ncover: nerf/2511.00001-fig1.png\n" in post


def test_shell_then_poll_prints_cards(run_cli, fake_arxiv: FakeArxiv) -> None:
    session = run_cli("shell", stdin="/subscribe cs.CV; gaussian splatting\n/list\nhello\n/nope\n")
    assert session.returncode == 0, session.stderr
    assert "Following cs.CV" in session.stdout and "Following gaussian splatting" in session.stdout
    assert "• gaussian splatting" in session.stdout
    assert "Send /help" in session.stdout and "Unknown command /nope" in session.stdout

    fake_arxiv.feeds["cs.CV"] = [make_paper(1, title="Sharper splats")]
    fake_arxiv.papers = [make_paper(2, abstract="Fast Gaussian splatting. We propose X.")]
    first = run_cli("poll", "--once")
    assert first.returncode == 0, first.stderr
    assert "Sharper splats" in first.stdout and "2511.00002" in first.stdout
    second = run_cli("poll", "--once")
    assert second.returncode == 0 and second.stdout == ""


def test_shell_digest_lists_the_papers_past_max_with_scores_and_ids(
    run_cli, fake_arxiv: FakeArxiv
) -> None:
    assert run_cli("shell", stdin="/subscribe cs.CV\n/set max 1\n").returncode == 0
    titles = ["Alpha", "Beta", "Gamma"]
    fake_arxiv.feeds["cs.CV"] = [make_paper(n, title=t) for n, t in enumerate(titles, 1)]
    poll = run_cli("poll", "--once")
    assert poll.returncode == 0, poll.stderr
    cards, listing = poll.stdout.split(
        "More papers, best first; /summarize ID opens one, /why ID says why.\n\n"
    )
    assert "3 new papers" in cards and "Alpha\nAuthors: Ada Lovelace, Alan Turing" in cards
    assert "Beta" not in cards and "Gamma" not in cards
    entries = [entry.splitlines() for entry in listing.strip().split("\n\n")]
    assert [entry[:2] for entry in entries] == [
        ["2. Beta · 0.30 · 2511.00002", "    Ada Lovelace, Alan Turing"],
        ["3. Gamma · 0.30 · 2511.00003", "    Ada Lovelace, Alan Turing"],
    ]
    fake_arxiv.papers = fake_arxiv.feeds["cs.CV"]
    opened = run_cli("shell", stdin="/summarize 2511.00003\n/why 2511.00002\n").stdout
    assert opened.startswith("Gamma\nAuthors: ") and "TL;DR: " in opened
    assert "Sent here." in opened.split("Why 2511.00002 (Beta)")[1]


def test_poll_with_arxiv_down_exits_1(run_cli, fake_arxiv: FakeArxiv) -> None:
    assert run_cli("shell", stdin="/subscribe cs.CV\n").returncode == 0
    fake_arxiv.rss_script.extend([Scripted(503, headers={"Retry-After": "0"})] * 10)
    result = run_cli("poll", "--once")
    assert result.returncode == 1
    assert "RSS cs.CV" in result.stderr


def test_stats_after_a_poll(run_cli, fake_arxiv: FakeArxiv) -> None:
    before = dict(line.split(None, 1) for line in run_cli("stats").stdout.splitlines())
    assert (before["last_poll"], before["last_audit"]) == ("never", "never")
    assert run_cli("shell", stdin="/subscribe cs.CV; nerf\n").returncode == 0
    fake_arxiv.feeds["cs.CV"] = [make_paper(1), make_paper(2)]
    assert run_cli("poll", "--once").returncode == 0
    result = run_cli("stats")
    assert result.returncode == 0, result.stderr
    figures = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert figures["chats_active"] == "1" and figures["subscriptions"] == "2"
    assert figures["papers"] == "2" and figures["deliveries_sent"] == "2"
    assert figures["last_poll_result"].startswith("2 papers seen, 2 new, 2 deliveries queued")


def test_summaries_by_gemini_are_cached_and_counted(
    run_cli, fake_arxiv: FakeArxiv, fake_gemini: FakeGemini
) -> None:
    fake_arxiv.papers = [make_paper(1)]
    for _ in range(2):
        result = run_cli("summarize", "2511.00001", extra_env=fake_gemini.env)
        assert result.returncode == 0, result.stderr
        assert "Summary source: language model, abstract only" in result.stdout
        assert "TL;DR: We propose a new method for it." in result.stdout
    assert len(fake_gemini.requests) == 1
    stats = dict(line.split(None, 1) for line in run_cli("stats").stdout.splitlines())
    assert (stats["model_calls"], stats["summary_cache_hits"], stats["tokens_in"]) == (
        "1",
        "1",
        str(len(fake_gemini.prompts(fake_gemini.requests[0])[0]) // 4),
    )
    assert stats["summaries_fallback"] == "0"


def test_a_model_error_degrades_to_extractive_and_never_shows_the_key(
    run_cli, fake_arxiv: FakeArxiv, fake_gemini: FakeGemini
) -> None:
    fake_arxiv.papers = [make_paper(1)]
    fake_gemini.then(fake_gemini.error(400, "INVALID_ARGUMENT", f"API key {GEMINI_KEY} invalid"))
    env = {**fake_gemini.env, "PAPERBOT_LOG_LEVEL": "DEBUG"}
    result = run_cli("summarize", "2511.00001", extra_env=env)
    assert result.returncode == 0, result.stderr
    assert "sentences extracted from the abstract (no language model)" in result.stdout
    assert "400 INVALID_ARGUMENT" in result.stderr
    assert GEMINI_KEY not in result.stderr + result.stdout
    stats = dict(line.split(None, 1) for line in run_cli("stats").stdout.splitlines())
    assert (stats["summaries_fallback"], stats["summaries_to_upgrade"]) == ("1", "1")


def test_one_off_commands_log_warnings_only_unless_told(
    run_cli, fake_arxiv: FakeArxiv, fake_gemini: FakeGemini
) -> None:
    fake_arxiv.papers = [make_paper(1), make_paper(2)]
    quiet = run_cli("summarize", "2511.00001", "--figures", "figs", extra_env=fake_gemini.env)
    assert quiet.returncode == 0, quiet.stderr
    (line,) = quiet.stderr.splitlines()
    assert " WARNING bot.figures.source: no figures for 2511.00001v1: no PDF (HTTP 404)" in line
    told = {**fake_gemini.env, "PAPERBOT_LOG_LEVEL": "info"}
    result = run_cli("summarize", "2511.00002", extra_env=told)
    assert "INFO bot.summarize.llm: summary of 2511.00002v1 (en): passed" in result.stderr


def test_digest_shows_its_stages_on_a_terminal_with_logs_above(
    cli_env: dict[str, str], fake_arxiv: FakeArxiv, tmp_path: Path
) -> None:
    fake_arxiv.papers = [make_paper(i, title=f"Paper {i}") for i in range(1, 4)]
    out = tmp_path / "digest.md"
    screen = on_a_terminal(["digest", "cs.CV", "--out", str(out)], cli_env, tmp_path)
    assert out.read_text().count("\n## ") == 3
    for stage in ("✓ searching arXiv", "✓ 3 papers found", "summaries and figures", "2/3"):
        assert stage in screen
    assert "WARNING  bot.figures.source: no figures for 2511.00003v1" in screen
    assert "INFO" not in screen


def test_no_progress_when_piped(run_cli, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.papers = [make_paper(1)]
    result = run_cli("digest", "cs.CV", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "papers found" not in result.stderr and "\x1b" not in result.stderr


def test_run_without_a_platform_is_a_usage_error(run_cli) -> None:
    result = run_cli("run")
    assert result.returncode == 2
    assert "no platform configured" in result.stderr


def test_poll_loop_stops_cleanly_on_sigterm(fake_arxiv: FakeArxiv, tmp_path: Path) -> None:
    import signal
    import time

    env = {**os.environ, **fake_arxiv.env, "PAPERBOT_DB": str(tmp_path / "loop.db")}
    process = spawn_cli("poll", env=env, cwd=tmp_path)
    assert process.stderr is not None
    logged = []
    for line in process.stderr:  # running once it logged its start (imports take a while)
        logged.append(line)
        if " start: " in line:
            break
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, "".join(logged) + err
    assert "stopping" in err


def test_shell_feedback_mutes_and_why(run_cli, fake_arxiv: FakeArxiv) -> None:
    fake_arxiv.papers = [make_paper(9, title="NeRF in the Wild")]
    commands = "/subscribe cs.CV; video\n/like 2511.00009\n/mute diffusion\n/set mode daily\n"
    session = run_cli("shell", stdin=commands)
    assert session.returncode == 0, session.stderr
    assert "👍 Noted: NeRF in the Wild." in session.stdout
    assert "Muted diffusion" in session.stdout
    fake_arxiv.feeds["cs.CV"] = [
        make_paper(1, title="Diffusion for Video"),
        make_paper(2, title="Video Depth"),
        make_paper(3, title="Plain Segmentation"),
    ]
    assert run_cli("poll", "--once").returncode == 0
    digest = run_cli("shell", stdin="/digest\n/why 2511.00001\n").stdout
    assert digest.index("Video Depth") < digest.index("Plain Segmentation")
    assert "matched: cs.CV, video" in digest
    assert "Diffusion for Video" not in digest.split("Why 2511.00001")[0]
    assert "Muted by: diffusion (diffusion)" in digest
