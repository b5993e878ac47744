"""Migrations up and down on SQLite and PostgreSQL, and that they match the models."""

from __future__ import annotations

from sqlalchemy import inspect

from bot.directory import db
from bot.directory.models import Base


def test_migration_creates_every_model_table_and_index(directory_url: str) -> None:
    inspector = inspect(db.get_engine(directory_url))
    assert set(Base.metadata.tables) <= set(inspector.get_table_names())
    for table in Base.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
        model_indexes = {i.name for i in table.indexes}
        db_indexes = {i["name"] for i in inspector.get_indexes(table.name)}
        assert model_indexes <= db_indexes, (table.name, model_indexes - db_indexes)


def test_downgrade_removes_everything_and_upgrade_restores_it(directory_url: str) -> None:
    db.downgrade(directory_url, "base")
    remaining = set(inspect(db.get_engine(directory_url)).get_table_names())
    assert not remaining & set(Base.metadata.tables)
    assert not db.is_migrated(directory_url)
    db.migrate(directory_url)
    assert db.is_migrated(directory_url)
    db.migrate(directory_url)  # a second upgrade is a no-op
