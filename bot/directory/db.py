"""Engines, sessions and migrations of the directory database.

`DATABASE_URL` selects the database (SQLite under `var/` by default, PostgreSQL in the
scale-out configuration). Engines are made on first use, one per URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def database_url() -> str:
    """The configured directory database URL."""
    from bot.settings import get_settings

    return get_settings().database_url


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: the configured one), created once per URL.

    SQLite files get their folder created, foreign keys switched on and WAL journaling.
    """
    return _engine(url or database_url())


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # type: ignore[no-untyped-def]
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back if it raises."""
    session = sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the database to `revision` (default: the newest)."""
    from alembic import command

    url = url or database_url()
    get_engine(url)  # creates the SQLite folder
    command.upgrade(_alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Downgrade the database to `revision` (default: an empty database)."""
    from alembic import command

    command.downgrade(_alembic_config(url or database_url()), revision)


def is_migrated(url: str | None = None) -> bool:
    """True when the directory tables exist."""
    return inspect(get_engine(url)).has_table("therapist")
