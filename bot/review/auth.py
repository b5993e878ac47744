"""Users, login sessions, CSRF tokens and the audit log of the review app.

Passwords are hashed with Argon2id (argon2-cffi). A login session is a random token in an
HttpOnly, SameSite=Strict cookie; the store keeps only its SHA-256, so a copy of the database
does not let anyone sign in. A session expires `session_minutes` after its last use (sliding).
Every session has its own CSRF token, which every POST form must send back.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from bot.review.models import AuditEntry, LoginSession, User, utcnow
from bot.review.texts import error_text

ROLES = ("clinician", "admin")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing megabytes of "password" would be a cheap denial of service
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,80}")
UNKNOWN_USER = "(unknown)"


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so both cases take as long."""
    return _hasher().hash(secrets.token_urlsafe(16))


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a session token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_password_rules(password: str) -> None:
    """Check a new password against the rules.

    Args:
        password: The new password.

    Raises:
        ValueError: With a message for people if it is too short (or absurdly long).
    """
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(error_text("password_too_short", min=MIN_PASSWORD_LENGTH))


def add_user(session: Session, username: str, password: str, role: str) -> User:
    """Create a user of the review app.

    Args:
        session: A review-store session.
        username: 1 to 80 letters, digits, ".", "-" or "_".
        password: At least 12 characters.
        role: "clinician" or "admin".

    Returns:
        The new user (added to the session, flushed).

    Raises:
        ValueError: With a message for people if the username, password or role is not acceptable,
            or the username is taken.
    """
    if USERNAME_PATTERN.fullmatch(username) is None:
        raise ValueError(error_text("username_invalid"))
    if role not in ROLES:
        raise ValueError(error_text("role_invalid"))
    check_password_rules(password)
    if session.query(User).filter_by(username=username).one_or_none() is not None:
        raise ValueError(error_text("username_taken"))
    user = User(username=username, password_hash=_hasher().hash(password), role=role, active=True)
    session.add(user)
    session.flush()
    return user


def verify(session: Session, username: str, password: str) -> User | None:
    """Check a username and password.

    Unknown users take as long as wrong passwords. A hash made with older parameters is
    upgraded on success.

    Args:
        session: A review-store session.
        username: The username typed.
        password: The password typed.

    Returns:
        The active user, or None if the user is unknown, inactive or the password is wrong.
    """
    if len(password) > MAX_PASSWORD_LENGTH:
        return None
    user = session.query(User).filter_by(username=username).one_or_none() if username else None
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash if user is not None else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Give a user a new password (and end their sessions).

    Args:
        session: A review-store session.
        user: The user.
        password: The new password, at least 12 characters.

    Raises:
        ValueError: If the password is too short.
    """
    check_password_rules(password)
    user.password_hash = _hasher().hash(password)
    end_user_sessions(session, user)


def start_session(session: Session, user: User, session_minutes: int) -> str:
    """Sign a user in: store a new login session and return its token for the cookie.

    Expired sessions of every user are removed on the way.

    Args:
        session: A review-store session.
        user: The user who signed in.
        session_minutes: Minutes of inactivity after which the session expires.

    Returns:
        The random token (only its hash is stored).
    """
    now = utcnow()
    session.query(LoginSession).filter(LoginSession.expires_at <= now).delete(synchronize_session=False)
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + timedelta(minutes=session_minutes),
        )
    )
    session.flush()
    return token


def current_session(
    session: Session, token: str | None, session_minutes: int, now: datetime | None = None
) -> tuple[LoginSession, User] | None:
    """The login session and user of a cookie's token, with the expiry moved forward.

    Args:
        session: A review-store session.
        token: The cookie's value (None or empty when there is no cookie).
        session_minutes: Minutes of inactivity after which a session expires.
        now: The current time (UTC, naive); defaults to now.

    Returns:
        `(login_session, user)`, or None when the token is unknown or expired (an expired
        session is deleted) or the user is inactive.
    """
    if not token:
        return None
    now = now or utcnow()
    login = session.get(LoginSession, token_hash(token))
    if login is None:
        return None
    if login.expires_at <= now:
        session.delete(login)
        return None
    user = session.get(User, login.user_id)
    if user is None or not user.active:
        session.delete(login)
        return None
    login.expires_at = now + timedelta(minutes=session_minutes)
    return login, user


def end_session(session: Session, token: str | None) -> None:
    """Sign out: delete the login session of a token (if there is one).

    Args:
        session: A review-store session.
        token: The cookie's value.
    """
    if token:
        session.query(LoginSession).filter_by(token_hash=token_hash(token)).delete(synchronize_session=False)


def end_user_sessions(session: Session, user: User) -> None:
    """Delete every login session of a user (after deactivation or a password change).

    Args:
        session: A review-store session.
        user: The user.
    """
    session.query(LoginSession).filter_by(user_id=user.id).delete(synchronize_session=False)


def csrf_matches(login: LoginSession, submitted: object) -> bool:
    """Whether a form's CSRF token is the session's, compared in constant time.

    Args:
        login: The login session.
        submitted: The form field's value (anything; only a matching string passes).

    Returns:
        True when it matches.
    """
    if not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(submitted.encode("utf-8"), str(login.csrf_token).encode("utf-8"))


def audit(session: Session, username: str, action: str, target: str = "", detail: str = "") -> AuditEntry:
    """Record who did what.

    Args:
        session: A review-store session.
        username: Who (a user's name, or "(unknown)").
        action: What, e.g. "view_conversation", "export_story", "login".
        target: On what: a conversation key, never a sender id or any conversation text.
        detail: Anything else worth keeping (never conversation text).

    Returns:
        The new entry (added to the session).
    """
    entry = AuditEntry(at=utcnow(), username=username[:80], action=action[:40], target=target[:64], detail=detail)
    session.add(entry)
    return entry
