"""Alembic environment: the URL comes from the caller (bot.review.store), never from a file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from bot.review.models import Base

url = context.config.attributes["url"]
connectable = create_engine(url, future=True)
with connectable.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
