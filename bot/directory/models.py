"""SQLAlchemy 1.4 models of the therapist directory and of referral requests.

The schema is created and changed only by the Alembic migrations in `migrations/`; tests check
that the migrations and these models agree.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeMeta, declared_attr, registry, relationship

_registry = registry()


class Base(metaclass=DeclarativeMeta):
    """Declarative base (the explicit form, so type checkers see a class)."""

    __abstract__ = True
    registry = _registry
    metadata = _registry.metadata
    __init__ = _registry.constructor


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Therapist(Base):
    """One therapist's profile."""

    __tablename__ = "therapist"

    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    pronouns = Column(String(30), nullable=False, default="")
    gender = Column(String(20), nullable=False, default="")
    license_type = Column(String(20), nullable=False, index=True)
    telehealth = Column(Boolean, nullable=False, default=False)
    in_person = Column(Boolean, nullable=False, default=True)
    fee = Column(Integer, nullable=True)  # self-pay fee per session, whole US dollars
    sliding_scale = Column(Boolean, nullable=False, default=False)
    sliding_scale_min = Column(Integer, nullable=True)
    accepting_new_clients = Column(Boolean, nullable=False, default=True)
    free_consultation = Column(Boolean, nullable=False, default=False)
    bio = Column(Text, nullable=False, default="")
    phone = Column(String(40), nullable=False, default="")
    email = Column(String(200), nullable=False, default="")
    website = Column(String(300), nullable=False, default="")
    is_sample = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=_now)

    licenses = relationship("License", lazy="selectin", cascade="all, delete-orphan")
    locations = relationship("Location", lazy="selectin", cascade="all, delete-orphan")
    populations = relationship("Population", lazy="selectin", cascade="all, delete-orphan")
    specialties = relationship("Specialty", lazy="selectin", cascade="all, delete-orphan")
    methods = relationship("Method", lazy="selectin", cascade="all, delete-orphan")
    insurances = relationship("Insurance", lazy="selectin", cascade="all, delete-orphan")
    languages = relationship("Language", lazy="selectin", cascade="all, delete-orphan")


class License(Base):
    """A state where the therapist is licensed (online sessions are only offered there)."""

    __tablename__ = "therapist_license"
    therapist_id = Column(Integer, ForeignKey("therapist.id", ondelete="CASCADE"), primary_key=True)
    state = Column(String(2), primary_key=True)
    __table_args__ = (Index("ix_license_state", "state", "therapist_id"),)


class Location(Base):
    """An office where the therapist sees people in person."""

    __tablename__ = "therapist_location"
    id = Column(Integer, primary_key=True)
    therapist_id = Column(Integer, ForeignKey("therapist.id", ondelete="CASCADE"), nullable=False)
    city = Column(String(80), nullable=False)
    state = Column(String(2), nullable=False)
    zip = Column(String(5), nullable=False)
    __table_args__ = (
        Index("ix_location_state", "state", "therapist_id"),
        Index("ix_location_therapist", "therapist_id"),
        Index("ix_location_zip", "zip"),
    )


class _Tag:
    """A therapist's tag table: one row per therapist and value, indexed by value."""

    @declared_attr
    def therapist_id(cls) -> Column:  # noqa: N805 (declared_attr receives the class)
        return Column(Integer, ForeignKey("therapist.id", ondelete="CASCADE"), primary_key=True)


class Population(_Tag, Base):
    """Who the therapist sees: individuals, couples, families, groups, children and adolescents."""

    __tablename__ = "therapist_population"
    population = Column(String(30), primary_key=True)
    __table_args__ = (Index("ix_population", "population", "therapist_id"),)


class Specialty(_Tag, Base):
    """What the therapist helps with."""

    __tablename__ = "therapist_specialty"
    specialty = Column(String(30), primary_key=True)
    __table_args__ = (Index("ix_specialty", "specialty", "therapist_id"),)


class Method(_Tag, Base):
    """A treatment method the therapist uses."""

    __tablename__ = "therapist_method"
    method = Column(String(30), primary_key=True)
    __table_args__ = (Index("ix_method", "method", "therapist_id"),)


class Insurance(_Tag, Base):
    """An insurance the therapist is in network with."""

    __tablename__ = "therapist_insurance"
    insurance = Column(String(30), primary_key=True)
    __table_args__ = (Index("ix_insurance", "insurance", "therapist_id"),)


class Language(_Tag, Base):
    """A language the therapist offers sessions in."""

    __tablename__ = "therapist_language"
    language = Column(String(10), primary_key=True)
    __table_args__ = (Index("ix_language", "language", "therapist_id"),)


class Referral(Base):
    """A request for a consultation, passed on by people, never automatically."""

    __tablename__ = "referral"
    id = Column(Integer, primary_key=True)
    therapist_id = Column(Integer, ForeignKey("therapist.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(DateTime, nullable=False, default=_now)
    status = Column(String(20), nullable=False, default="new", index=True)
    conversation_ref = Column(String(64), nullable=False)  # a hash of the sender id, never the id itself
    channel = Column(String(30), nullable=False, default="")
    contact_method = Column(String(10), nullable=False)
    contact_value = Column(String(200), nullable=False)
    contact_times = Column(String(300), nullable=False, default="")
    summary = Column(Text, nullable=True)  # the reflection summary, only with the user's consent
    therapist = relationship(Therapist, lazy="joined")


TAG_TABLES = {
    "populations": (Population, "population"),
    "specialties": (Specialty, "specialty"),
    "methods": (Method, "method"),
    "insurances": (Insurance, "insurance"),
    "languages": (Language, "language"),
}
