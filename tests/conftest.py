"""Shared fixtures: settings on spare ports with a private var/ directory, and directory databases.

PostgreSQL tests create their own database and drop it afterwards. Where no PostgreSQL server
answers they are skipped, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'directory.db'}")
    yield tmp_path


def live_settings(var_dir: Path) -> Settings:
    """Settings for a stack on spare ports, with its own tracker store and token."""
    os.environ.update(
        {
            "BOT_VAR_DIR": str(var_dir),
            "TRACKER_STORE_URL": f"sqlite:///{var_dir / 'tracker.db'}",
            "DATABASE_URL": f"sqlite:///{var_dir / 'directory.db'}",
            "RASA_PORT": str(free_port()),
            "ACTION_PORT": str(free_port()),
            "WEB_PORT": str(free_port()),
            "REVIEW_PORT": str(free_port()),
            "RASA_API_TOKEN": "live-test-token",
        }
    )
    return build_settings()


@contextmanager
def live_stack(factory: pytest.TempPathFactory, name: str, *, with_web: bool = False) -> Iterator[Settings]:
    """The whole stack on spare ports with its own var/ folder; its output goes to stack.log there."""
    from bot import stack

    var_dir = factory.mktemp(name)
    settings = live_settings(var_dir)
    with (var_dir / "stack.log").open("wb") as log, stack.running(settings, log=log, with_web=with_web):
        yield settings


def fetch_tracker(settings: Settings, sender: str) -> dict[str, Any]:
    """A conversation's tracker from the running server's HTTP API (token auth)."""
    response = requests.get(
        f"{settings.rasa_url}/conversations/{sender}/tracker", params={"token": settings.rasa_api_token}, timeout=10
    )
    response.raise_for_status()
    tracker: dict[str, Any] = response.json()
    return tracker

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_database() -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    name = f"directory_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.orig}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        from bot.directory.db import get_engine

        get_engine(url).dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def directory_url(request: Any, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated directory database of each kind."""
    from bot.directory.db import migrate

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'directory.db'}"
        migrate(url)
        yield url
    else:
        for url in _pg_database():
            migrate(url)
            yield url


def profile(**overrides: Any) -> dict[str, Any]:
    """A therapist profile for `insert_profiles`, with sensible defaults."""
    base: dict[str, Any] = {
        "name": "Test Therapist",
        "pronouns": "they/them",
        "gender": "nonbinary",
        "license_type": "lcsw",
        "telehealth": True,
        "in_person": True,
        "fee": 120,
        "sliding_scale": False,
        "sliding_scale_min": None,
        "accepting_new_clients": True,
        "free_consultation": True,
        "bio": "Fictional test profile.",
        "phone": "(555) 555-0100",
        "email": "test@example.com",
        "website": "",
        "is_sample": True,
        "licenses": ["OH"],
        "locations": [{"city": "Columbus", "state": "OH", "zip": "43215"}],
        "populations": ["individuals"],
        "specialties": ["anxiety"],
        "methods": ["attachment_based"],
        "insurances": ["cigna"],
        "languages": ["en"],
    }
    base.update(overrides)
    return base
