from __future__ import annotations

import shutil
from pathlib import Path

from bot.envfile import ensure_env_file
from bot.settings import PROJECT_ROOT


def test_creates_env_with_random_token_once(tmp_path: Path) -> None:
    shutil.copy(PROJECT_ROOT / ".env.example", tmp_path / ".env.example")
    assert ensure_env_file(tmp_path) is True
    first = (tmp_path / ".env").read_text()
    token = next(line.split("=", 1)[1] for line in first.splitlines() if line.startswith("RASA_API_TOKEN="))
    assert token != "change-me" and len(token) >= 32
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0
    assert ensure_env_file(tmp_path) is False
    assert (tmp_path / ".env").read_text() == first


def test_two_env_files_get_different_tokens(tmp_path: Path) -> None:
    tokens = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(PROJECT_ROOT / ".env.example", folder / ".env.example")
        ensure_env_file(folder)
        tokens.append((folder / ".env").read_text())
    assert tokens[0] != tokens[1]
