"""The queries and form checks behind the review app's pages (no HTTP here).

Filters and forms arrive as text; anything that does not fit raises `InvalidInput`, whose key
names the message in the `errors` section of `app.yml`. Nothing is changed before a form passed
every check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlalchemy.orm import Query, Session, joinedload, selectinload

from bot.review.models import AuditEntry, Conversation, Escalation, Note, Tag, User, utcnow

PAGE_SIZE = 50
AUDIT_LIMIT = 200
CRISIS_LEVELS = ("none", "concern", "high", "imminent")
STATUSES = ("new", "reviewed")
YES_NO = ("yes", "no")
TAG_PATTERN = re.compile(r"[a-z0-9_-][a-z0-9 _-]{0,39}")
KEY_PATTERN = r"[A-Za-z0-9_-]{1,64}"
MAX_NOTE_CHARS = 5000
MAX_COMMENT_CHARS = 2000
MAX_FILTER_CHARS = 80


class InvalidInput(ValueError):
    """A filter or form value that is not acceptable; `key` names its message in `app.yml`."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Filters:
    """The conversation list's filters, as given in the query string ("" = not filtered)."""

    date_from: str = ""
    date_to: str = ""
    channel: str = ""
    crisis: str = ""
    reflection: str = ""
    therapist: str = ""
    fallbacks: str = ""
    tag: str = ""
    status: str = ""

    def query(self) -> dict[str, str]:
        """The filters as query-string parameters (only those that are set)."""
        names = {"date_from": "from", "date_to": "to"}
        return {names.get(field, field): value for field, value in asdict(self).items() if value}

    def date_query(self) -> dict[str, str]:
        """Only the date and channel filters as query-string parameters (what the flow page uses)."""
        return {k: v for k, v in self.query().items() if k in ("from", "to", "channel")}


@dataclass(frozen=True)
class Page:
    """One page of a list."""

    items: list[Any]
    total: int
    number: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        """How many pages there are (at least 1)."""
        return max(1, -(-self.total // self.size))


def _parse_date(raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("bad_date") from None


def _choice(raw: str, allowed: tuple[str, ...]) -> str:
    if raw and raw not in allowed:
        raise InvalidInput("bad_choice")
    return raw


def parse_filters(query: Mapping[str, str]) -> Filters:
    """Read and check the list filters of a query string.

    Args:
        query: The query parameters (`from`, `to`, `channel`, `crisis`, `reflection`, `therapist`,
            `fallbacks`, `tag`, `status`; others are ignored).

    Returns:
        The filters.

    Raises:
        InvalidInput: If a date is not YYYY-MM-DD, the dates are in the wrong order, or a choice is
            not one of its values.
    """

    def get(name: str) -> str:
        value = str(query.get(name, "")).strip()
        if len(value) > MAX_FILTER_CHARS:
            raise InvalidInput("bad_choice")
        return value

    start, end = _parse_date(get("from")), _parse_date(get("to"))
    if start and end and start > end:
        raise InvalidInput("date_order")
    return Filters(
        date_from=start.isoformat() if start else "",
        date_to=end.isoformat() if end else "",
        channel=get("channel"),
        crisis=_choice(get("crisis"), CRISIS_LEVELS),
        reflection=_choice(get("reflection"), YES_NO),
        therapist=_choice(get("therapist"), YES_NO),
        fallbacks=_choice(get("fallbacks"), YES_NO),
        tag=get("tag").lower(),
        status=_choice(get("status"), STATUSES),
    )


def parse_page(raw: str | None) -> int:
    """The page number of a query string (1 when absent).

    Raises:
        InvalidInput: If it is not a whole number from 1.
    """
    if raw is None or raw == "":
        return 1
    if not raw.isdigit() or int(raw) < 1 or len(raw) > 6:
        raise InvalidInput("bad_page")
    return int(raw)


def _date_filters(query: Query, filters: Filters) -> Query:
    if filters.date_from:
        query = query.filter(Conversation.started_at >= datetime.combine(date.fromisoformat(filters.date_from), time()))
    if filters.date_to:
        end = datetime.combine(date.fromisoformat(filters.date_to) + timedelta(days=1), time())
        query = query.filter(Conversation.started_at < end)
    if filters.channel:
        query = query.filter(Conversation.channel == filters.channel)
    return query


def filter_conversations(session: Session, filters: Filters) -> Query:
    """The conversations matching the filters, newest first.

    Args:
        session: A review-store session.
        filters: Checked filters (see `parse_filters`).

    Returns:
        A query of `Conversation`.
    """
    query = _date_filters(session.query(Conversation), filters)
    if filters.crisis:
        levels = CRISIS_LEVELS[CRISIS_LEVELS.index(filters.crisis) :]
        if len(levels) < len(CRISIS_LEVELS):
            query = query.filter(Conversation.max_crisis_level.in_(levels))
    if filters.reflection:
        query = query.filter(Conversation.reached_reflection.is_(filters.reflection == "yes"))
    if filters.therapist:
        query = query.filter(Conversation.requested_therapist.is_(filters.therapist == "yes"))
    if filters.fallbacks == "yes":
        query = query.filter(Conversation.fallbacks > 0)
    elif filters.fallbacks == "no":
        query = query.filter(Conversation.fallbacks == 0)
    if filters.tag:
        query = query.filter(Conversation.tags.any(Tag.tag == filters.tag))
    if filters.status:
        query = query.filter(Conversation.review_status == filters.status)
    return query.order_by(Conversation.started_at.desc(), Conversation.id.desc())


def list_conversations(session: Session, filters: Filters, page: int = 1) -> Page:
    """One page of the conversations matching the filters.

    Args:
        session: A review-store session.
        filters: Checked filters.
        page: The page number, from 1.

    Returns:
        The page of `Conversation` rows and how many match in all.
    """
    query = filter_conversations(session, filters)
    total = query.order_by(None).count()
    items = query.options(selectinload(Conversation.tags)).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE).all()
    return Page(items=items, total=total, number=page)


def flow_steps(session: Session, filters: Filters) -> list[str]:
    """The `steps` JSON of every conversation matching the date and channel filters.

    Args:
        session: A review-store session.
        filters: Checked filters (only dates and channel are used).

    Returns:
        One JSON text per conversation.
    """
    return [row[0] for row in _date_filters(session.query(Conversation.steps), filters).all()]


def channels(session: Session) -> list[str]:
    """Every channel some conversation came from, for the filter's choices."""
    return [row[0] for row in session.query(Conversation.channel).distinct().order_by(Conversation.channel) if row[0]]


def tags(session: Session) -> list[str]:
    """Every tag in use, for the filter's choices."""
    return [row[0] for row in session.query(Tag.tag).distinct().order_by(Tag.tag)]


def get_conversation(session: Session, key: str) -> Conversation | None:
    """One conversation by its key, or None."""
    result: Conversation | None = session.query(Conversation).filter_by(key=key).one_or_none()
    return result


def parse_tag(raw: object) -> str:
    """A tag from a form: trimmed, lower case, single spaces.

    Raises:
        InvalidInput: If it is empty, too long or has other characters than letters, digits,
            spaces, "-" and "_".
    """
    if not isinstance(raw, str):
        raise InvalidInput("bad_form")
    tag = " ".join(raw.split()).lower()
    if TAG_PATTERN.fullmatch(tag) is None:
        raise InvalidInput("tag_invalid")
    return tag


def add_tag(session: Session, conversation: Conversation, tag: str) -> bool:
    """Tag a conversation (a tag it already has is left alone).

    Returns:
        Whether the tag was new.
    """
    if any(existing.tag == tag for existing in conversation.tags):
        return False
    conversation.tags.append(Tag(tag=tag))
    return True


def parse_note(raw: object) -> str:
    """A note from a form, trimmed.

    Raises:
        InvalidInput: If it is empty or longer than 5,000 characters.
    """
    if not isinstance(raw, str):
        raise InvalidInput("bad_form")
    text = raw.strip().replace("\r\n", "\n")
    if not text:
        raise InvalidInput("note_empty")
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidInput("note_too_long", limit=MAX_NOTE_CHARS)
    return text


def add_note(session: Session, conversation: Conversation, author: str, text: str) -> Note:
    """Add a clinician's note to a conversation.

    Returns:
        The new note (flushed, so it has an id).
    """
    note = Note(author=author, text=text, created_at=utcnow())
    conversation.notes.append(note)
    session.flush()
    return note


def parse_status(raw: object) -> str:
    """A review status from a form.

    Raises:
        InvalidInput: If it is not "new" or "reviewed".
    """
    if raw not in STATUSES:
        raise InvalidInput("status_invalid")
    return str(raw)


@dataclass(frozen=True)
class Rubric:
    """A clinician's review of one crisis escalation."""

    recognized: bool
    respectful: bool
    right_resource: bool
    comment: str


def parse_rubric(form: Mapping[str, object]) -> Rubric:
    """The crisis review form.

    Raises:
        InvalidInput: If one of the three questions is not answered yes or no, or the comment is
            too long.
    """
    answers = [form.get(name) for name in ("recognized", "respectful", "right_resource")]
    if any(answer not in YES_NO for answer in answers):
        raise InvalidInput("rubric_missing")
    comment = form.get("comment", "")
    if not isinstance(comment, str):
        raise InvalidInput("bad_form")
    comment = comment.strip().replace("\r\n", "\n")
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInput("comment_too_long", limit=MAX_COMMENT_CHARS)
    recognized, respectful, right_resource = (answer == "yes" for answer in answers)
    return Rubric(recognized, respectful, right_resource, comment)


def review_escalation(escalation: Escalation, rubric: Rubric, username: str) -> None:
    """Save a review of an escalation, with who reviewed it and when."""
    escalation.recognized = rubric.recognized
    escalation.respectful = rubric.respectful
    escalation.right_resource = rubric.right_resource
    escalation.comment = rubric.comment
    escalation.reviewed_by = username
    escalation.reviewed_at = utcnow()


def crisis_queue(session: Session, page: int = 1) -> Page:
    """One page of the escalations, those not reviewed yet first, newest first."""
    pending_first = case((Escalation.reviewed_at.is_(None), 0), else_=1)
    query = (
        session.query(Escalation)
        .options(joinedload(Escalation.conversation))
        .order_by(pending_first, Escalation.at.desc(), Escalation.id.desc())
    )
    total = session.query(func.count(Escalation.id)).scalar() or 0
    items = query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE).all()
    return Page(items=items, total=total, number=page)


def pending_escalations(session: Session) -> int:
    """How many escalations are not reviewed yet."""
    return int(session.query(func.count(Escalation.id)).filter(Escalation.reviewed_at.is_(None)).scalar() or 0)


def get_escalation(session: Session, escalation_id: int) -> Escalation | None:
    """One escalation by id, or None."""
    result: Escalation | None = session.get(Escalation, escalation_id)
    return result


def users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.query(User).order_by(User.username).all())


def latest_audit(session: Session, limit: int = AUDIT_LIMIT) -> list[AuditEntry]:
    """The latest audit entries, newest first."""
    return list(session.query(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).all())
