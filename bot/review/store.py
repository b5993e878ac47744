"""The review store: its database, migrations, conversation keys and deletion.

`REVIEW_DATABASE_URL` selects the database (SQLite under `var/` by default, PostgreSQL in the
scale-out configuration). Conversations are keyed by an HMAC of the sender id with
`REVIEW_HASH_KEY`, so a review-store row cannot be traced back to a phone number or a chat id
without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from bot import db
from bot.envfile import TOKEN_PLACEHOLDER
from bot.review.models import Conversation

if TYPE_CHECKING:
    from bot.settings import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
KEY_FILE_NAME = "review_hash.key"


def store_url() -> str:
    """The configured review store URL."""
    from bot.settings import get_settings

    return get_settings().review_database_url


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A review-store session that commits when the block ends and rolls back if it raises."""
    with db.session_scope(url or store_url()) as session:
        yield session


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the review store to `revision` (default: the newest)."""
    db.migrate(url or store_url(), MIGRATIONS, revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Downgrade the review store to `revision` (default: an empty database)."""
    db.downgrade(url or store_url(), MIGRATIONS, revision)


def is_migrated(url: str | None = None) -> bool:
    """True when the review tables exist."""
    return inspect(db.get_engine(url or store_url())).has_table("review_conversation")


@lru_cache(maxsize=1)
def hash_key() -> bytes:
    """The key of the conversation hash for this process's settings (see `settings_key`)."""
    from bot.settings import get_settings

    return settings_key(get_settings())


def settings_key(settings: Settings) -> bytes:
    """`REVIEW_HASH_KEY`, or else the random key kept under the settings' `var/` folder."""
    if settings.review_hash_key and settings.review_hash_key != TOKEN_PLACEHOLDER:
        return settings.review_hash_key.encode("utf-8")
    return ensure_key_file(settings.var_dir).read_text(encoding="utf-8").strip().encode("utf-8")


def ensure_key_file(var_dir: Path) -> Path:
    """The key file under `var_dir`, created with a random key (readable by its owner only) if missing.

    Several processes may ask at once; exactly one creates it.
    """
    path = var_dir / KEY_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(32))
    return path


def conversation_key(sender_id: str, key: bytes | None = None) -> str:
    """The review store's name for a sender's conversation (an HMAC-SHA256, 32 hex digits)."""
    return hmac.new(key or hash_key(), sender_id.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def value_hash(value: str, key: bytes | None = None) -> str:
    """A keyed hash of a piece of personal data, so placeholders stay consistent without storing it."""
    return hmac.new(key or hash_key(), b"value:" + value.encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def delete_conversation(session: Session, key: str) -> bool:
    """Remove one conversation and everything attached to it (events, escalations, tags, notes).

    Returns:
        Whether there was such a conversation.
    """
    conversation = session.query(Conversation).filter_by(key=key).one_or_none()
    if conversation is None:
        return False
    session.delete(conversation)
    return True
