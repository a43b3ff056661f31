from pathlib import Path

import pytest

from bot.config import ConfigError, Settings


def test_defaults_follow_spec() -> None:
    s = Settings.from_env({}, None)
    assert s.db_path == Path("paperbot.db")
    assert s.arxiv_api_url == "https://export.arxiv.org/api/query"
    assert s.arxiv_rss_url == "https://rss.arxiv.org/rss/"
    assert s.arxiv_oai_url == "https://oaipmh.arxiv.org/oai"
    assert s.arxiv_pdf_url == "https://arxiv.org/pdf/"
    assert s.arxiv_delay == 3
    assert s.poll_interval == 3600
    assert s.language == "en"
    assert s.llm_backend == "none"
    assert s.llm_model == "gemini-2.5-flash"
    assert s.telegram_api_url == "https://api.telegram.org"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PAPERBOT_ARXIV_DELAY", "abc", "PAPERBOT_ARXIV_DELAY='abc' is not a number of seconds"),
        ("PAPERBOT_ARXIV_DELAY", "-1", "between 0 and 86400"),
        ("PAPERBOT_LLM", "claude", "must be one of: auto, gemini, openai, none"),
        ("PAPERBOT_ARXIV_API_URL", "ftp://x", "not an http(s) URL"),
        ("PAPERBOT_LANGUAGE", "12", "PAPERBOT_LANGUAGE='12'"),
        ("PAPERBOT_LOG_LEVEL", "LOUD", "must be one of"),
    ],
)
def test_bad_values_give_one_line(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({name: value}, None)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [("5", "PAPERBOT_POLL_INTERVAL='5' must be at least 60"), ("often", "not a number")],
)
def test_poll_interval_is_checked_when_read(value: str, message: str) -> None:
    settings = Settings.from_env({"PAPERBOT_POLL_INTERVAL": value}, None)
    with pytest.raises(ConfigError, match=message):
        settings.poll_interval  # noqa: B018 (reading it is the check)
    assert Settings.from_env({"PAPERBOT_POLL_INTERVAL": "90"}, None).poll_interval == 90


def test_env_file_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PAPERBOT_LANGUAGE=zh\nPAPERBOT_ARXIV_DELAY=5\nGEMINI_API_KEY=secret-key\n")
    s = Settings.from_env({"PAPERBOT_ARXIV_DELAY": "1"}, env_file)
    assert s.language == "zh"
    assert s.arxiv_delay == 1
    assert s.llm_backend == "gemini"
    assert "secret-key" not in repr(s)


def test_llm_auto_choice() -> None:
    assert Settings.from_env({"OPENAI_BASE_URL": "http://localhost:8000/v1"}, None).llm_backend == (
        "openai"
    )
    assert Settings.from_env({"PAPERBOT_LLM": "none", "GEMINI_API_KEY": "k"}, None).llm_backend == (
        "none"
    )


def test_pdf_cache_lives_next_to_the_database() -> None:
    assert Settings.from_env({}, None).pdf_cache_dir == Path("paperbot-pdf-cache")
    docker = Settings.from_env({"PAPERBOT_DB": "/data/paperbot.db"}, None)
    assert docker.pdf_cache_dir == Path("/data/paperbot-pdf-cache")


def test_discord_guild_id() -> None:
    assert Settings.from_env({"DISCORD_GUILD_ID": "123456789012345678"}, None).discord_guild_id == (
        123456789012345678
    )
    with pytest.raises(ConfigError, match="DISCORD_GUILD_ID='my-server' is not a Discord id"):
        Settings.from_env({"DISCORD_GUILD_ID": "my-server"}, None)
