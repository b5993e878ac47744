"""Engines, sessions and migrations of the directory database (over bot.db).

`DATABASE_URL` selects the database (SQLite under `var/` by default, PostgreSQL in the
scale-out configuration).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot import db

MIGRATIONS = Path(__file__).with_name("migrations")


def database_url() -> str:
    """The configured directory database URL."""
    from bot.settings import get_settings

    return get_settings().database_url


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: the configured one), created once per URL."""
    return db.get_engine(url or database_url())


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    with db.session_scope(url or database_url()) as session:
        yield session


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the database to `revision` (default: the newest)."""
    db.migrate(url or database_url(), MIGRATIONS, revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Downgrade the database to `revision` (default: an empty database)."""
    db.downgrade(url or database_url(), MIGRATIONS, revision)


def is_migrated(url: str | None = None) -> bool:
    """True when the directory tables exist."""
    return inspect(get_engine(url)).has_table("therapist")
