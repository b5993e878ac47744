"""SQLAlchemy 1.4 models of the review store: what clinicians see, anonymized, and who saw it.

Nothing here holds raw conversation text or a sender id: conversations are keyed by a keyed hash
of the sender id, and every text was anonymized at ingest. The schema is created and changed only
by the Alembic migrations in `migrations/`.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeMeta, registry, relationship

_registry = registry()


class Base(metaclass=DeclarativeMeta):
    """Declarative base of the review store."""

    __abstract__ = True
    registry = _registry
    metadata = _registry.metadata
    __init__ = _registry.constructor


def utcnow() -> datetime:
    """The current time in UTC, without a time zone (as stored)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Conversation(Base):
    """One conversation (one sender), with the facts the list filters on."""

    __tablename__ = "review_conversation"

    id = Column(Integer, primary_key=True)
    key = Column(String(64), nullable=False, unique=True)  # keyed hash of the sender id
    channel = Column(String(40), nullable=False, default="")
    started_at = Column(DateTime, nullable=False, default=utcnow, index=True)
    last_event_at = Column(DateTime, nullable=False, default=utcnow)
    user_turns = Column(Integer, nullable=False, default=0)
    max_crisis_level = Column(String(10), nullable=False, default="none", index=True)
    reached_reflection = Column(Boolean, nullable=False, default=False)
    requested_therapist = Column(Boolean, nullable=False, default=False)
    fallbacks = Column(Integer, nullable=False, default=0)
    review_status = Column(String(20), nullable=False, default="new", index=True)
    steps = Column(Text, nullable=False, default="[]")  # JSON list of flow steps reached, in order
    slots = Column(Text, nullable=False, default="{}")  # JSON: the latest value of each slot, redacted
    # JSON: keyed hashes of the personal data met so far -> their placeholders (never the data)
    pseudonyms = Column(Text, nullable=False, default="{}")

    events = relationship("Event", cascade="all, delete-orphan", order_by="Event.seq", back_populates="conversation")
    escalations = relationship("Escalation", cascade="all, delete-orphan", back_populates="conversation")
    tags = relationship("Tag", cascade="all, delete-orphan", back_populates="conversation")
    notes = relationship(
        "Note", cascade="all, delete-orphan", order_by="Note.created_at", back_populates="conversation"
    )


class Event(Base):
    """One event of a conversation, anonymized: a user or bot turn, an action, a slot, a form step."""

    __tablename__ = "review_event"
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("review_conversation.id", ondelete="CASCADE"), nullable=False)
    seq = Column(Integer, nullable=False)
    at = Column(DateTime, nullable=False)
    kind = Column(String(20), nullable=False)  # user, bot, action, slot, form, session
    text = Column(Text, nullable=False, default="")
    intent = Column(String(80), nullable=False, default="")
    confidence = Column(Float, nullable=True)
    crisis_level = Column(String(10), nullable=False, default="")
    crisis_category = Column(String(30), nullable=False, default="")
    name = Column(String(80), nullable=False, default="")  # action, slot or form name
    value = Column(Text, nullable=False, default="")  # a slot's value as JSON, redacted

    conversation = relationship("Conversation", back_populates="events")


class Escalation(Base):
    """A crisis escalation: the user turn that raised it and the reply given, with its review."""

    __tablename__ = "review_escalation"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("review_conversation.id", ondelete="CASCADE"), nullable=False)
    at = Column(DateTime, nullable=False)
    level = Column(String(10), nullable=False, index=True)
    category = Column(String(30), nullable=False, default="")
    message = Column(Text, nullable=False, default="")  # anonymized user text
    reply = Column(Text, nullable=False, default="")  # the assistant's reply, anonymized
    recognized = Column(Boolean, nullable=True)  # rubric: was the crisis recognized?
    respectful = Column(Boolean, nullable=True)  # rubric: was the reply respectful?
    right_resource = Column(Boolean, nullable=True)  # rubric: did it refer to the right resource?
    comment = Column(Text, nullable=False, default="")
    reviewed_by = Column(String(80), nullable=False, default="")
    reviewed_at = Column(DateTime, nullable=True)

    conversation = relationship("Conversation", back_populates="escalations")


class Tag(Base):
    """A clinician's tag on a conversation."""

    __tablename__ = "review_tag"
    __table_args__ = (UniqueConstraint("conversation_id", "tag"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("review_conversation.id", ondelete="CASCADE"), nullable=False)
    tag = Column(String(40), nullable=False, index=True)

    conversation = relationship("Conversation", back_populates="tags")


class Note(Base):
    """A clinician's note on a conversation."""

    __tablename__ = "review_note"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("review_conversation.id", ondelete="CASCADE"), nullable=False)
    author = Column(String(80), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    text = Column(Text, nullable=False)

    conversation = relationship("Conversation", back_populates="notes")


class User(Base):
    """A clinician or administrator of the review app."""

    __tablename__ = "review_user"

    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False, unique=True)
    password_hash = Column(String(200), nullable=False)
    role = Column(String(20), nullable=False)  # clinician or admin
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class LoginSession(Base):
    """A signed-in browser session; the cookie holds a random token, this table its hash."""

    __tablename__ = "review_session"

    token_hash = Column(String(64), primary_key=True)
    user_id = Column(Integer, ForeignKey("review_user.id", ondelete="CASCADE"), nullable=False)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False, index=True)


class AuditEntry(Base):
    """Who did what in the review app (every view of a conversation, exports, reviews, logins)."""

    __tablename__ = "review_audit"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=utcnow, index=True)
    username = Column(String(80), nullable=False)
    action = Column(String(40), nullable=False)
    target = Column(String(64), nullable=False, default="")  # a conversation key, never a sender id
    detail = Column(Text, nullable=False, default="")


class IngestCheckpoint(Base):
    """How far ingest has read a source (the SQL event broker's table)."""

    __tablename__ = "review_ingest_checkpoint"

    source = Column(String(200), primary_key=True)
    last_id = Column(Integer, nullable=False, default=0)


Index("ix_review_escalation_pending", Escalation.reviewed_at)
