"""Engines, sessions and Alembic migrations for our own databases (directory, review store).

Each database has its URL (SQLite under `var/` by default, PostgreSQL in the scale-out
configuration) and its migrations folder. Engines are made on first use, one per URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    """The engine for `url`, created once per URL.

    SQLite files get their folder created, foreign keys switched on and WAL journaling.
    """
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
def session_scope(url: str) -> Iterator[Session]:
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


def _alembic_config(url: str, migrations: Path):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["url"] = url
    return config


def migrate(url: str, migrations: Path, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (default: the newest) of `migrations`."""
    from alembic import command

    get_engine(url)  # creates the SQLite folder
    command.upgrade(_alembic_config(url, migrations), revision)


def downgrade(url: str, migrations: Path, revision: str = "base") -> None:
    """Downgrade the database at `url` to `revision` (default: an empty database)."""
    from alembic import command

    command.downgrade(_alembic_config(url, migrations), revision)
