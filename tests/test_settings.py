from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import build_settings


def test_defaults_bind_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RASA_HOST", "ACTION_HOST", "WEB_HOST", "RASA_PORT", "ACTION_PORT", "WEB_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = build_settings()
    assert settings.rasa_host == settings.action_host == settings.web_host == "127.0.0.1"
    assert (settings.rasa_port, settings.action_port, settings.web_port) == (5005, 5055, 8080)
    assert settings.action_url == "http://127.0.0.1:5055/webhook"


def test_tracker_store_defaults_to_sqlite_under_var(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TRACKER_STORE_URL", raising=False)
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    assert build_settings().tracker_store_url == f"sqlite:///{tmp_path / 'tracker.db'}"


def test_the_cache_is_shared_by_stacks_with_their_own_var_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("BOT_CACHE_DIR", raising=False)
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    settings = build_settings()
    assert settings.cache_dir == settings.project_root / "var" / "cache"
    monkeypatch.setenv("BOT_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert build_settings().cache_dir == tmp_path / "elsewhere"


def test_bad_number_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_PORT", "fifty")
    with pytest.raises(ValueError, match="RASA_PORT must be a whole number"):
        build_settings()


def test_retention_in_intro_matches_default_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    days = build_settings().retention_days
    domain = yaml.safe_load((build_settings().project_root / "domain.yml").read_text())
    intro = domain["responses"]["utter_intro"][0]["text"]
    assert f"up to {days} days" in intro
