"""Rasa's SQL event broker with SQLite set up for one small transaction per event.

Rasa's `SQLEventBroker` commits every event on its own. On SQLite in its default journal mode each
commit waits for the disk, which would add milliseconds to every reply; in WAL mode with
`synchronous=NORMAL` (what our tracker store uses) a commit survives an application crash and costs
microseconds. The table and its contents are Rasa's, unchanged: the review service reads them.
"""

from __future__ import annotations

from typing import Any

from rasa.core.brokers.sql import SQLEventBroker
from sqlalchemy import event


class LocalSQLEventBroker(SQLEventBroker):
    """`SQLEventBroker` with WAL journaling and `synchronous=NORMAL` on SQLite."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the broker as Rasa does, then switch SQLite connections to WAL."""
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":

            @event.listens_for(self.engine, "connect")
            def _pragmas(connection, _record):  # type: ignore[no-untyped-def]
                cursor = connection.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

            self.engine.dispose()  # the connection Rasa's create_all opened had no pragmas
