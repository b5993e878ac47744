"""The clinicians' review app: anonymized conversations, the flow diagram and the crisis queue.

Routes (every one but /login, /healthz and /static/ needs a signed-in clinician or admin):
    GET  /healthz                            {"status": "ok"}
    GET  /login, POST /login                 sign in; POST /logout signs out
    GET  /                                   the conversations, filtered and paginated
    GET  /export/conversations.csv           the filtered list as CSV
    GET  /conversations/{key}                the anonymized transcript, tags, notes, review status
    POST /conversations/{key}/tags|notes|status
    GET  /conversations/{key}/story.yml      the conversation as a Rasa test story
    GET  /conversations/{key}.json           the conversation as JSON
    GET  /flow                               the aggregate flow diagram
    GET  /crisis, POST /crisis/{id}          the crisis queue and its review rubric
    GET  /admin/users, POST /admin/users, POST /admin/users/{id}/active   (admin only)
    GET  /admin/audit                        the latest audit entries (admin only)

Anonymous requests get a redirect to /login (pages) or 401 (exports); a signed-in user whose role
does not allow a page gets 403. Every POST needs the session's CSRF token. Every view or export of
a conversation is audited. Wording is in `app.yml`; pages are Jinja2 templates with autoescaping,
served under a Content-Security-Policy that allows no script and no inline style. Nothing here
logs conversation text.

The database is used synchronously from the handlers: the queries are small and the app serves a
handful of clinicians.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from markupsafe import Markup
from sqlalchemy.orm import Session

from bot.review import auth, export, flow, store, views
from bot.review.models import User
from bot.review.texts import error_text, load_texts

logger = logging.getLogger("bot.review.app")

REVIEW_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = REVIEW_DIR / "templates"
STATIC_DIR = REVIEW_DIR / "static"
SESSION_COOKIE = "review_session"
LOGIN_CSRF_COOKIE = "review_login_csrf"
MAX_REQUEST_BYTES = 64 * 1024
STAFF = frozenset(auth.ROLES)
ADMINS = frozenset({"admin"})
SAFE_NEXT = re.compile(r"/(?![/\\])[^\s\\]*")
LOGIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")

SECURITY_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
    }
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Access:
    """Who may use a route: anyone (`public`), or signed-in users with one of `roles`."""

    public: bool = False
    roles: frozenset[str] = STAFF
    export: bool = False  # anonymous requests get 401 instead of a redirect to the sign-in page


PUBLIC = Access(public=True)
PAGE = Access()
EXPORT = Access(export=True)
ADMIN = Access(roles=ADMINS)


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the pages see them (plain values, usable after the session closed)."""

    username: str
    role: str
    csrf: str

    @property
    def is_admin(self) -> bool:
        """Whether the user may use the admin pages."""
        return self.role in ADMINS


STORE_URL_KEY = web.AppKey("store_url", str)
SESSION_MINUTES_KEY = web.AppKey("session_minutes", int)
SECURE_COOKIES_KEY = web.AppKey("secure_cookies", bool)
TEMPLATES_KEY = web.AppKey("templates", jinja2.Environment)
ACCESS_KEY = web.AppKey("access", dict)
DB = "review_db"
VIEWER = "review_viewer"
USER = "review_user"


# ---------------------------------------------------------------- helpers


def _db(request: web.Request) -> Session:
    session: Session = request[DB]
    return session


def _user(request: web.Request) -> User:
    user: User = request[USER]
    return user


def _format_datetime(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _fill(text: str, **values: object) -> str:
    return str(text).format(**values)


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = _format_datetime
    env.filters["fill"] = _fill
    env.filters["step_label"] = lambda name: flow.step_label(name, load_texts()["flow"]["steps"])
    env.filters["percent"] = flow.percent
    return env


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render a page.

    Args:
        request: The request (its app has the templates; the signed-in user, if any, goes in the nav).
        template: The template's file name.
        status: The HTTP status.
        **context: The template's variables.

    Returns:
        The HTML response.
    """
    page = request.app[TEMPLATES_KEY].get_template(template)
    html = page.render(t=load_texts(), viewer=request.get(VIEWER), path=request.path, **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def error_page(
    request: web.Request, status: int, key: str, *, back: str = "/", values: Mapping[str, object] | None = None
) -> web.Response:
    """A page that says what went wrong, with the text `errors.<key>` of `app.yml`.

    Args:
        request: The request.
        status: The HTTP status (400, 401, 403, 404, ...).
        key: The message key.
        back: Where the "back" link goes.
        values: Values for the message's placeholders.

    Returns:
        The HTML response.
    """
    return render(request, "error.html", status=status, message=error_text(key, **(values or {})), back=back)


def redirect(location: str, status: int = 303) -> web.Response:
    """A redirect (303 after a form, so the browser follows with GET)."""
    return web.Response(status=status, headers={"Location": location})


def _query_url(path: str, query: Mapping[str, object]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


def _safe_next(raw: object) -> str:
    return raw if isinstance(raw, str) and SAFE_NEXT.fullmatch(raw) and not raw.startswith("/login") else "/"


async def _form(request: web.Request) -> Mapping[str, object]:
    return await request.post()


# ---------------------------------------------------------------- middlewares and signals


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add the CSP and related headers to every response, including errors and static files."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value


def _access(request: web.Request) -> Access:
    name = request.match_info.route.name
    return request.app[ACCESS_KEY].get(name, PAGE) if name else PAGE


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn unknown pages and unexpected failures into pages, and log failures without their data."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return error_page(request, 404, "not_found")
    except web.HTTPMethodNotAllowed:
        return error_page(request, 405, "method_not_allowed")
    except web.HTTPException:
        raise
    except Exception as exc:
        # The exception's message can quote data (SQL parameters); log where it happened, not what.
        logger.error(
            "Unexpected %s on %s %s\n%s",
            type(exc).__name__,
            request.method,
            request.match_info.route.name or "?",
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return error_page(request, 500, "server_error")


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sign-in, role and CSRF checks, and one review-store session per request."""
    access = _access(request)
    if access.public:
        return await handler(request)
    app = request.app
    with store.session_scope(app[STORE_URL_KEY]) as db:
        found = auth.current_session(db, request.cookies.get(SESSION_COOKIE), app[SESSION_MINUTES_KEY])
        if found is None:
            if access.export:
                return error_page(request, 401, "login_required", back="/login")
            target = request.path_qs if request.method == "GET" else "/"
            return redirect(_query_url("/login", {"next": target} if target != "/" else {}), status=302)
        login, user = found
        request[DB] = db
        request[USER] = user
        request[VIEWER] = Viewer(username=user.username, role=user.role, csrf=login.csrf_token)
        if user.role not in access.roles:
            return error_page(request, 403, "forbidden")
        if request.method == "POST":
            form = await _form(request)
            if not auth.csrf_matches(login, form.get("csrf")):
                return error_page(request, 403, "csrf")
        return await handler(request)


# ---------------------------------------------------------------- sign-in


async def handle_healthz(request: web.Request) -> web.Response:
    """Report that the review app is up.

    Args:
        request: The incoming request.

    Returns:
        `{"status": "ok"}`.
    """
    return web.json_response({"status": "ok"})


def _login_page(request: web.Request, status: int = 200, message: str = "", next_url: str = "/") -> web.Response:
    # Keep the browser's token if it has one: another request for the page (a second tab, the
    # browser's favicon request redirected here) must not invalidate the form already shown.
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if LOGIN_TOKEN.fullmatch(token) is None:
        token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status=status, csrf=token, message=message, next_url=next_url)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        path="/login",
        httponly=True,
        samesite="Strict",
        secure=request.app[SECURE_COOKIES_KEY],
    )
    return response


async def handle_login_form(request: web.Request) -> web.Response:
    """Show the sign-in form.

    Args:
        request: The incoming request (`next`: where to go after signing in).

    Returns:
        The form, with a sign-in CSRF token in the form and in a cookie.
    """
    return _login_page(request, next_url=_safe_next(request.query.get("next")))


async def handle_login(request: web.Request) -> web.Response:
    """Sign in: check the form's CSRF token, the username and the password.

    Args:
        request: A POST with `username`, `password`, `csrf` and `next`.

    Returns:
        A redirect with the session cookie; the form again with 400 (fields missing), 401 (wrong
        username or password) or 403 (stale form).
    """
    texts = load_texts()["login"]
    form = await _form(request)
    next_url = _safe_next(form.get("next"))
    submitted, expected = form.get("csrf"), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (isinstance(submitted, str) and expected and hmac.compare_digest(submitted, expected)):
        return _login_page(request, 403, texts["expired_form"], next_url)
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username.strip() or not password:
        return _login_page(request, 400, texts["missing"], next_url)
    username = username.strip()
    app = request.app
    with store.session_scope(app[STORE_URL_KEY]) as db:
        user = auth.verify(db, username, password)
        if user is None:
            known = db.query(User.id).filter_by(username=username).first() is not None
            auth.audit(db, username if known else auth.UNKNOWN_USER, "login_failed")
            logger.info("A sign-in failed.")
            return _login_page(request, 401, texts["failed"], next_url)
        token = auth.start_session(db, user, app[SESSION_MINUTES_KEY])
        auth.audit(db, user.username, "login")
    response = redirect(next_url)
    response.set_cookie(
        SESSION_COOKIE, token, path="/", httponly=True, samesite="Strict", secure=app[SECURE_COOKIES_KEY]
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def handle_logout(request: web.Request) -> web.Response:
    """Sign out: delete the login session and its cookie.

    Args:
        request: A POST with the CSRF token.

    Returns:
        A redirect to the sign-in page.
    """
    db = _db(request)
    auth.end_session(db, request.cookies.get(SESSION_COOKIE))
    auth.audit(db, _user(request).username, "logout")
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- conversations


async def handle_conversations(request: web.Request) -> web.Response:
    """The conversations list with its filters.

    Args:
        request: The incoming request; the query string holds the filters and `page`.

    Returns:
        The list page, or 400 for a filter that cannot be read.
    """
    try:
        filters = views.parse_filters(request.query)
        number = views.parse_page(request.query.get("page"))
    except views.InvalidInput as exc:
        return error_page(request, 400, exc.key, values=exc.values)
    db = _db(request)
    page = views.list_conversations(db, filters, number)
    query = filters.query()
    return render(
        request,
        "conversations.html",
        filters=filters,
        page=page,
        channels=views.channels(db),
        tags=views.tags(db),
        levels=views.CRISIS_LEVELS,
        statuses=views.STATUSES,
        csv_url=_query_url("/export/conversations.csv", query),
        previous_url=_query_url("/", {**query, "page": number - 1}) if number > 1 else "",
        next_url=_query_url("/", {**query, "page": number + 1}) if number < page.pages else "",
    )


async def handle_conversations_csv(request: web.Request) -> web.Response:
    """The filtered conversation list as CSV (audited).

    Args:
        request: The incoming request; the query string holds the filters.

    Returns:
        A CSV download, or 400 for a filter that cannot be read.
    """
    try:
        filters = views.parse_filters(request.query)
    except views.InvalidInput as exc:
        return error_page(request, 400, exc.key, values=exc.values)
    db = _db(request)
    rows = views.filter_conversations(db, filters).all()
    auth.audit(db, _user(request).username, "export_csv", detail=urlencode(filters.query()))
    return web.Response(
        text=export.conversations_csv(rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="conversations.csv"'},
    )


async def handle_conversation(request: web.Request) -> web.Response:
    """One anonymized conversation, with its tags, notes and review forms (audited).

    Args:
        request: The incoming request (`key` in the path).

    Returns:
        The page, or 404.
    """
    db = _db(request)
    key = request.match_info["key"]
    conversation = views.get_conversation(db, key)
    if conversation is None:
        return error_page(request, 404, "conversation_not_found")
    auth.audit(db, _user(request).username, "view_conversation", target=key)
    return render(
        request,
        "conversation.html",
        conversation=conversation,
        steps=sorted(flow.parse_steps(conversation.steps), key=flow.STEPS.index),
        escalations=sorted(conversation.escalations, key=lambda x: (x.at, x.id)),
    )


async def handle_story(request: web.Request) -> web.Response:
    """One conversation as a Rasa test story (audited).

    Args:
        request: The incoming request (`key` in the path).

    Returns:
        A YAML download, or 404.
    """
    return _download(request, "export_story", export.story_yaml, "application/yaml", "story-{key}.yml")


async def handle_conversation_json(request: web.Request) -> web.Response:
    """One conversation as JSON (audited).

    Args:
        request: The incoming request (`key` in the path).

    Returns:
        A JSON download, or 404.
    """
    return _download(request, "export_json", export.conversation_json, "application/json", "conversation-{key}.json")


def _download(
    request: web.Request, action: str, render_export: Callable[[Any], str], content_type: str, filename: str
) -> web.Response:
    db = _db(request)
    key = request.match_info["key"]
    conversation = views.get_conversation(db, key)
    if conversation is None:
        return error_page(request, 404, "conversation_not_found")
    auth.audit(db, _user(request).username, action, target=key)
    return web.Response(
        text=render_export(conversation),
        content_type=content_type,
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename.format(key=key)}"'},
    )


Change = Callable[[Session, Any, Mapping[str, object]], tuple[str, str]]


async def _change_conversation(request: web.Request, change: Change) -> web.Response:
    """Apply one form to a conversation: 404 if unknown, 400 if the form is wrong, else audit and redirect.

    `change` checks the form, changes the conversation and returns the audit action and detail.
    """
    db = _db(request)
    key = request.match_info["key"]
    conversation = views.get_conversation(db, key)
    back = f"/conversations/{key}"
    if conversation is None:
        return error_page(request, 404, "conversation_not_found")
    try:
        action, detail = change(db, conversation, await _form(request))
    except views.InvalidInput as exc:
        return error_page(request, 400, exc.key, back=back, values=exc.values)
    auth.audit(db, _user(request).username, action, target=key, detail=detail)
    return redirect(back)


async def handle_add_tag(request: web.Request) -> web.Response:
    """Tag a conversation.

    Args:
        request: A POST with `tag` and the CSRF token.

    Returns:
        A redirect to the conversation, 400 for a bad tag, or 404.
    """

    def change(db: Session, conversation: Any, form: Mapping[str, object]) -> tuple[str, str]:
        tag = views.parse_tag(form.get("tag"))
        views.add_tag(db, conversation, tag)
        return "add_tag", tag

    return await _change_conversation(request, change)


async def handle_add_note(request: web.Request) -> web.Response:
    """Add a note to a conversation.

    Args:
        request: A POST with `note` and the CSRF token.

    Returns:
        A redirect to the conversation, 400 for an empty or too long note, or 404.
    """

    def change(db: Session, conversation: Any, form: Mapping[str, object]) -> tuple[str, str]:
        note = views.add_note(db, conversation, _user(request).username, views.parse_note(form.get("note")))
        return "add_note", f"note {note.id}"

    return await _change_conversation(request, change)


async def handle_set_status(request: web.Request) -> web.Response:
    """Mark a conversation reviewed (or new again).

    Args:
        request: A POST with `status` ("reviewed" or "new") and the CSRF token.

    Returns:
        A redirect to the conversation, 400 for another status, or 404.
    """

    def change(db: Session, conversation: Any, form: Mapping[str, object]) -> tuple[str, str]:
        conversation.review_status = views.parse_status(form.get("status"))
        return "set_status", conversation.review_status

    return await _change_conversation(request, change)


# ---------------------------------------------------------------- flow and crisis queue


async def handle_flow(request: web.Request) -> web.Response:
    """The aggregate flow diagram, for the date and channel filters.

    Args:
        request: The incoming request (`from`, `to`, `channel` in the query string).

    Returns:
        The page with the SVG diagram and the same numbers as a table, or 400 for a bad filter.
    """
    try:
        filters = views.parse_filters(request.query)
    except views.InvalidInput as exc:
        return error_page(request, 400, exc.key, values=exc.values)
    db = _db(request)
    counts = flow.compute_flow(views.flow_steps(db, filters))
    svg: Markup = flow.render_svg(counts, load_texts()["flow"])
    return render(request, "flow.html", filters=filters, flow=counts, svg=svg, channels=views.channels(db))


async def handle_crisis(request: web.Request) -> web.Response:
    """The crisis queue with a review form per escalation (audited, as it shows conversation text).

    Args:
        request: The incoming request (`page` in the query string).

    Returns:
        The page, or 400 for a bad page number.
    """
    try:
        number = views.parse_page(request.query.get("page"))
    except views.InvalidInput as exc:
        return error_page(request, 400, exc.key, values=exc.values)
    db = _db(request)
    page = views.crisis_queue(db, number)
    auth.audit(db, _user(request).username, "view_crisis_queue", detail=f"page {number}")
    return render(
        request,
        "crisis.html",
        page=page,
        pending=views.pending_escalations(db),
        previous_url=_query_url("/crisis", {"page": number - 1}) if number > 1 else "",
        next_url=_query_url("/crisis", {"page": number + 1}) if number < page.pages else "",
    )


async def handle_review_escalation(request: web.Request) -> web.Response:
    """Save the review of one escalation (audited).

    Args:
        request: A POST with `recognized`, `respectful`, `right_resource` (yes/no), `comment` and
            the CSRF token.

    Returns:
        A redirect to the queue, 400 for an incomplete rubric, or 404.
    """
    db = _db(request)
    escalation = views.get_escalation(db, int(request.match_info["id"]))
    if escalation is None:
        return error_page(request, 404, "escalation_not_found", back="/crisis")
    try:
        rubric = views.parse_rubric(await _form(request))
    except views.InvalidInput as exc:
        return error_page(request, 400, exc.key, back="/crisis", values=exc.values)
    username = _user(request).username
    views.review_escalation(escalation, rubric, username)
    yes_no = {True: "yes", False: "no"}
    detail = (
        f"escalation {escalation.id}: recognized={yes_no[rubric.recognized]} "
        f"respectful={yes_no[rubric.respectful]} right_resource={yes_no[rubric.right_resource]}"
    )
    auth.audit(db, username, "review_escalation", target=escalation.conversation.key, detail=detail)
    return redirect(f"/crisis#escalation-{escalation.id}")


# ---------------------------------------------------------------- admin


def _users_page(request: web.Request, status: int = 200, message: str = "") -> web.Response:
    return render(
        request,
        "users.html",
        status=status,
        users=views.users(_db(request)),
        roles=auth.ROLES,
        min_length=auth.MIN_PASSWORD_LENGTH,
        message=message,
    )


async def handle_users(request: web.Request) -> web.Response:
    """The users and a form to add one (admin only).

    Args:
        request: The incoming request.

    Returns:
        The page.
    """
    return _users_page(request)


async def handle_add_user(request: web.Request) -> web.Response:
    """Add a user (admin only, audited).

    Args:
        request: A POST with `username`, `password`, `role` and the CSRF token.

    Returns:
        A redirect to the users, or the page again with 400 and the reason.
    """
    form = await _form(request)
    username, password, role = (form.get(name) for name in ("username", "password", "role"))
    if not all(isinstance(value, str) for value in (username, password, role)):
        return _users_page(request, 400, error_text("bad_form"))
    db = _db(request)
    try:
        user = auth.add_user(db, str(username).strip(), str(password), str(role))
    except ValueError as exc:
        return _users_page(request, 400, str(exc))
    auth.audit(db, _user(request).username, "add_user", detail=f"{user.username} ({user.role})")
    return redirect("/admin/users")


async def handle_set_user_active(request: web.Request) -> web.Response:
    """Deactivate or reactivate a user (admin only, audited); deactivation ends their sessions.

    Args:
        request: A POST with `active` ("yes" or "no") and the CSRF token.

    Returns:
        A redirect to the users, 400 for a bad form or one's own account, or 404.
    """
    db = _db(request)
    user = db.get(User, int(request.match_info["id"]))
    if user is None:
        return error_page(request, 404, "user_not_found", back="/admin/users")
    active = (await _form(request)).get("active")
    if active not in views.YES_NO:
        return error_page(request, 400, "bad_form", back="/admin/users")
    if user.id == _user(request).id:
        return error_page(request, 400, "self_deactivate", back="/admin/users")
    user.active = active == "yes"
    if not user.active:
        auth.end_user_sessions(db, user)
    auth.audit(db, _user(request).username, "set_user_active", detail=f"{user.username} active={active}")
    return redirect("/admin/users")


async def handle_audit(request: web.Request) -> web.Response:
    """The latest audit entries (admin only).

    Args:
        request: The incoming request.

    Returns:
        The page.
    """
    return render(request, "audit.html", entries=views.latest_audit(_db(request)), limit=views.AUDIT_LIMIT)


# ---------------------------------------------------------------- the application

KEY = views.KEY_PATTERN
ROUTES: tuple[tuple[str, str, Handler, str, Access], ...] = (
    ("GET", "/healthz", handle_healthz, "healthz", PUBLIC),
    ("GET", "/login", handle_login_form, "login", PUBLIC),
    ("POST", "/login", handle_login, "login", PUBLIC),
    ("POST", "/logout", handle_logout, "logout", PAGE),
    ("GET", "/", handle_conversations, "conversations", PAGE),
    ("GET", "/export/conversations.csv", handle_conversations_csv, "conversations_csv", EXPORT),
    ("GET", f"/conversations/{{key:{KEY}}}.json", handle_conversation_json, "conversation_json", EXPORT),
    ("GET", f"/conversations/{{key:{KEY}}}/story.yml", handle_story, "conversation_story", EXPORT),
    ("GET", f"/conversations/{{key:{KEY}}}", handle_conversation, "conversation", PAGE),
    ("POST", f"/conversations/{{key:{KEY}}}/tags", handle_add_tag, "conversation_tags", PAGE),
    ("POST", f"/conversations/{{key:{KEY}}}/notes", handle_add_note, "conversation_notes", PAGE),
    ("POST", f"/conversations/{{key:{KEY}}}/status", handle_set_status, "conversation_status", PAGE),
    ("GET", "/flow", handle_flow, "flow", PAGE),
    ("GET", "/crisis", handle_crisis, "crisis", PAGE),
    ("POST", r"/crisis/{id:\d{1,12}}", handle_review_escalation, "crisis_review", PAGE),
    ("GET", "/admin/users", handle_users, "users", ADMIN),
    ("POST", "/admin/users", handle_add_user, "users", ADMIN),
    ("POST", r"/admin/users/{id:\d{1,12}}/active", handle_set_user_active, "user_active", ADMIN),
    ("GET", "/admin/audit", handle_audit, "audit", ADMIN),
)


def create_app(store_url: str, *, session_minutes: int = 30, secure_cookies: bool = False) -> web.Application:
    """Build the review app.

    Args:
        store_url: The review store's database URL (already migrated).
        session_minutes: Minutes of inactivity after which a login session expires.
        secure_cookies: Mark cookies `Secure` (set it whenever the app is served over HTTPS).

    Returns:
        The configured aiohttp application (not yet running).

    Raises:
        ValueError: If `session_minutes` is below 1.
    """
    if session_minutes < 1:
        raise ValueError(f"session_minutes must be at least 1, got {session_minutes}")
    load_texts()  # fail fast on a broken app.yml
    app = web.Application(client_max_size=MAX_REQUEST_BYTES, middlewares=[_errors, _guard])
    app[STORE_URL_KEY] = store_url
    app[SESSION_MINUTES_KEY] = int(session_minutes)
    app[SECURE_COOKIES_KEY] = bool(secure_cookies)
    app[TEMPLATES_KEY] = _templates()
    access: dict[str, Access] = {"static": PUBLIC}
    for method, path, handler, name, rule in ROUTES:
        app.router.add_route(method, path, handler, name=name)
        access[name] = rule
    app[ACCESS_KEY] = access
    app.router.add_static("/static/", STATIC_DIR, name="static", show_index=False, follow_symlinks=False)
    # aiosignal 1.4's Signal typing does not match aiohttp 3.9's callback annotation.
    app.on_response_prepare.append(_add_security_headers)  # type: ignore[arg-type]
    return app


def run_app(store_url: str, host: str, port: int, session_minutes: int, *, secure_cookies: bool = False) -> None:
    """Serve the review app until interrupted.

    Args:
        store_url: The review store's database URL.
        host: The interface to listen on (keep it 127.0.0.1 unless a TLS proxy is in front).
        port: The TCP port.
        session_minutes: Minutes of inactivity after which a login session expires.
        secure_cookies: Mark cookies `Secure` (behind HTTPS).

    Raises:
        SystemExit: If the review store has no tables yet.
    """
    if not store.is_migrated(store_url):
        raise SystemExit("The review store has no tables yet: run its migrations first (bot.review.store.migrate).")
    with store.session_scope(store_url) as db:
        if db.query(User.id).filter_by(active=True).first() is None:
            logger.warning("The review store has no active user yet: add an admin before signing in.")
    app = create_app(store_url, session_minutes=session_minutes, secure_cookies=secure_cookies)
    logger.info("Review app on http://%s:%d", host, port)
    web.run_app(app, host=host, port=port, print=None)
