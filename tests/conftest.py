"""Shared fixtures: settings on spare ports with a private var/ directory."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.settings import Settings, build_settings


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point the var/ directory and tracker store at a temporary folder."""
    monkeypatch.setenv("BOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("TRACKER_STORE_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    yield tmp_path


def live_settings(var_dir: Path) -> Settings:
    """Settings for a stack on spare ports, with its own tracker store and token."""
    os.environ.update(
        {
            "BOT_VAR_DIR": str(var_dir),
            "TRACKER_STORE_URL": f"sqlite:///{var_dir / 'tracker.db'}",
            "RASA_PORT": str(free_port()),
            "ACTION_PORT": str(free_port()),
            "WEB_PORT": str(free_port()),
            "RASA_API_TOKEN": "live-test-token",
        }
    )
    return build_settings()


def fetch_tracker(settings: Settings, sender: str) -> dict[str, Any]:
    """A conversation's tracker from the running server's HTTP API (token auth)."""
    response = requests.get(
        f"{settings.rasa_url}/conversations/{sender}/tracker", params={"token": settings.rasa_api_token}, timeout=10
    )
    response.raise_for_status()
    tracker: dict[str, Any] = response.json()
    return tracker
