"""Directory queries: hard filters, ranking, and the nearest widenings when nothing matches.

Hard filters: where (in person in the state, or online and licensed in the state), who the sessions
are for, the treatment method (attachment-based unless widened), a self-pay budget and the optional
preferences (language, therapist gender, license type). Ranking, in this order: attachment-based,
accepting new clients, in network with the user's insurance, how many of the user's needs the
therapist lists, an office in the user's city or ZIP area; then id, so results are stable.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, case, exists, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.directory.models import Insurance, Language, License, Location, Method, Population, Specialty, Therapist

ATTACHMENT = "attachment_based"
ANY_METHOD = "any"
FORMATS = ("telehealth", "in_person", "either")


@dataclass(frozen=True)
class Criteria:
    """What the user asked for. `state` is a postal code; the rest is optional."""

    state: str
    format: str = "either"
    population: str | None = None
    needs: tuple[str, ...] = ()
    insurance: str | None = None
    budget: int | None = None
    method: str = ATTACHMENT
    language: str | None = None
    gender: str | None = None
    license_type: str | None = None
    city: str | None = None
    zip: str | None = None
    office_states: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Reject values that would silently match nothing; make text storable (no lone surrogates)."""
        for name in ("state", "population", "insurance", "language", "gender", "license_type", "city", "zip"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, value.encode("utf-8", "replace").decode("utf-8"))
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {self.format!r}")
        if len(self.state) != 2:
            raise ValueError(f"state must be a two-letter postal code, not {self.state!r}")

    @property
    def in_person_states(self) -> tuple[str, ...]:
        """States whose offices count for in-person sessions."""
        return self.office_states or (self.state,)


@dataclass
class Match:
    """One therapist in the results, with why it ranks where it does."""

    therapist: Therapist
    attachment_based: bool
    in_network: bool
    needs_matched: list[str]
    local: bool


@dataclass
class Page:
    """One page of results."""

    matches: list[Match]
    total: int
    offset: int


@dataclass
class Widening:
    """A relaxed search that does find someone."""

    key: str
    criteria: Criteria
    count: int
    detail: dict[str, Any] = field(default_factory=dict)


def _has(model: Any, column: str, value: Any) -> ColumnElement[bool]:
    return exists().where(model.therapist_id == Therapist.id, getattr(model, column) == value)


def _filters(criteria: Criteria) -> list[ColumnElement[bool]]:
    licensed = exists().where(License.therapist_id == Therapist.id, License.state == criteria.state)
    office = exists().where(Location.therapist_id == Therapist.id, Location.state.in_(criteria.in_person_states))
    online = and_(Therapist.telehealth.is_(True), licensed)
    in_person = and_(Therapist.in_person.is_(True), office)
    # Candidates first, through the state indexes, so the database never scans every therapist.
    near = select(License.therapist_id).where(License.state == criteria.state)
    if criteria.format != "telehealth":
        near = near.union(select(Location.therapist_id).where(Location.state.in_(criteria.in_person_states)))
    where: list[ColumnElement[bool]] = [
        Therapist.id.in_(near),
        {"telehealth": online, "in_person": in_person}.get(criteria.format, or_(online, in_person)),
    ]
    if criteria.population:
        where.append(_has(Population, "population", criteria.population))
    if criteria.method != ANY_METHOD:
        where.append(_has(Method, "method", criteria.method))
    if criteria.budget is not None:
        where.append(
            or_(
                Therapist.fee <= criteria.budget,
                and_(Therapist.sliding_scale.is_(True), Therapist.sliding_scale_min <= criteria.budget),
            )
        )
    if criteria.language:
        where.append(_has(Language, "language", criteria.language))
    if criteria.gender:
        where.append(Therapist.gender == criteria.gender)
    if criteria.license_type:
        where.append(Therapist.license_type == criteria.license_type)
    return where


def _rank_columns(criteria: Criteria) -> dict[str, ColumnElement[Any]]:
    def flag(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return case((condition, 1), else_=0)

    in_network = _has(Insurance, "insurance", criteria.insurance) if criteria.insurance else false()
    overlap: ColumnElement[Any]
    if criteria.needs:
        overlap = (
            select(func.count())
            .where(Specialty.therapist_id == Therapist.id, Specialty.specialty.in_(criteria.needs))
            .scalar_subquery()
        )
    else:
        overlap = flag(false())
    local_terms = [Location.zip == criteria.zip] if criteria.zip else []
    if criteria.city:
        local_terms.append(and_(Location.city == criteria.city, Location.state == criteria.state))
    local = exists().where(Location.therapist_id == Therapist.id, or_(*local_terms)) if local_terms else false()
    return {
        "attachment": flag(_has(Method, "method", ATTACHMENT)),
        "accepting": flag(Therapist.accepting_new_clients.is_(True)),
        "in_network": flag(in_network),
        "overlap": overlap,
        "local": flag(local),
    }


def count(session: Session, *, criteria: Criteria) -> int:
    """Number of therapists passing the hard filters."""
    return int(session.execute(select(func.count(Therapist.id)).where(*_filters(criteria))).scalar_one())


def search(session: Session, *, criteria: Criteria, limit: int = 3, offset: int = 0) -> Page:
    """One page of ranked results.

    Args:
        session: Directory session.
        criteria: The user's filters.
        limit: Results per page.
        offset: Results to skip (for "more results").

    Returns:
        The page, with the total number of matches.
    """
    ranks = _rank_columns(criteria)
    query = (
        select(
            Therapist.id,
            *[column.label(name) for name, column in ranks.items()],
            func.count().over().label("total"),  # all matches, counted in the same pass
        )
        .where(*_filters(criteria))
        .order_by(*[column.desc() for column in ranks.values()], Therapist.id)
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(query).all()
    by_id = {
        t.id: t for t in session.execute(select(Therapist).where(Therapist.id.in_([r.id for r in rows]))).scalars()
    }
    wanted = set(criteria.needs)
    matches = [
        Match(
            therapist=by_id[row.id],
            attachment_based=bool(row.attachment),
            in_network=bool(row.in_network),
            needs_matched=[s.specialty for s in by_id[row.id].specialties if s.specialty in wanted],
            local=bool(row.local),
        )
        for row in rows
    ]
    total = int(rows[0].total) if rows else (count(session, criteria=criteria) if offset else 0)
    return Page(matches=matches, total=total, offset=offset)


def widenings(session: Session, *, criteria: Criteria, neighbours: list[str]) -> list[Widening]:
    """The nearest relaxed searches that find someone, nearest first.

    Args:
        session: Directory session.
        criteria: The search that found nobody.
        neighbours: States bordering the user's state (for in-person sessions across the line).

    Returns:
        Each relaxation that finds at least one therapist, with its count.
    """
    options: list[tuple[str, Criteria, dict[str, Any]]] = []
    if criteria.format == "in_person":
        options.append(("online", replace(criteria, format="either"), {}))
    if criteria.budget is not None:
        options.append(("budget", replace(criteria, budget=None), {}))
    if criteria.language:
        options.append(("language", replace(criteria, language=None), {}))
    if criteria.gender:
        options.append(("gender", replace(criteria, gender=None), {}))
    if criteria.license_type:
        options.append(("license_type", replace(criteria, license_type=None), {}))
    if criteria.method != ANY_METHOD:
        options.append(("method", replace(criteria, method=ANY_METHOD), {}))
    if criteria.format != "telehealth" and neighbours and not criteria.office_states:
        options.append(
            ("neighbours", replace(criteria, office_states=(criteria.state, *neighbours)), {"states": neighbours})
        )
    found = []
    for key, relaxed, detail in options:
        total = count(session, criteria=relaxed)
        if total:
            found.append(Widening(key=key, criteria=relaxed, count=total, detail=detail))
    if found or len(options) < 2:
        return found
    # No single change helps: relax one more filter at a time, in the same order, until one does.
    combined = criteria
    keys: list[str] = []
    merged: dict[str, Any] = {}
    for key, relaxed, detail in options:
        combined = _relax(combined, relaxed, criteria)
        keys.append(key)
        merged.update(detail)
        total = count(session, criteria=combined)
        if total:
            return [Widening(key="+".join(keys), criteria=combined, count=total, detail=merged)]
    return []


def _relax(current: Criteria, relaxed: Criteria, original: Criteria) -> Criteria:
    """Apply to `current` the one field on which `relaxed` differs from `original`."""
    changes = {
        name: getattr(relaxed, name)
        for name in Criteria.__dataclass_fields__
        if getattr(relaxed, name) != getattr(original, name)
    }
    return replace(current, **changes)
