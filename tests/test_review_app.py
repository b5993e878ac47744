"""Tests for the clinicians' review app (bot.review.app): access, sessions, CSRF, audit, pages, exports.

Each test gets its own SQLite review store, migrated and seeded through the models with four
anonymized conversations, three crisis escalations and users of every kind.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from bot import db as bot_db
from bot.review import app as review_app
from bot.review import auth, store, views
from bot.review import texts as texts_module
from bot.review.models import (
    AuditEntry,
    Conversation,
    Escalation,
    Event,
    LoginSession,
    Note,
    Tag,
    User,
    utcnow,
)

PASSWORD = "correct horse battery staple"
K1, K2, K3, K4 = ("1" * 32, "2" * 32, "3" * 32, "4" * 32)
UNKNOWN_KEY = "9" * 32
PSEUDONYM_HASH = "5e3f0c9a1b2d4e6f7a8b9c0d"
CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
USER_TEXT = "hi, I'm <PERSON_1> and I live in <LOCATION_1>"
CRISIS_TEXT = "I can't go on since <PERSON_2> left"
CRISIS_REPLY = "I'm really glad you told me. You can call or text 988 right now."
ALL_TEXTS = (USER_TEXT, CRISIS_TEXT, CRISIS_REPLY, "Hello, I'm a reflection assistant.")
CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
ROW_KEY = re.compile(r'<a class="key" href="/conversations/([0-9a-f]{32})">')

Check = Callable[[TestClient], Awaitable[None]]


# ---------------------------------------------------------------- store and app


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with test-sized costs: the same code path, a fraction of the time."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    dummy = cheap.hash("not anyone's password")
    monkeypatch.setattr(auth, "_hasher", lambda: cheap)
    monkeypatch.setattr(auth, "_dummy_hash", lambda: dummy)


def _event(seq: int, kind: str, **fields: Any) -> Event:
    return Event(seq=seq, at=datetime(2026, 3, 1, 10, 0, seq), kind=kind, **fields)


def seed(url: str) -> None:
    """Users of every kind and four conversations that differ in every filtered fact."""
    with store.session_scope(url) as db:
        auth.add_user(db, "ada", PASSWORD, "admin")
        auth.add_user(db, "cleo", PASSWORD, "clinician")
        hashed = auth._hasher().hash(PASSWORD)
        db.add(User(username="rex", password_hash=hashed, role="researcher", active=True))
        db.add(User(username="old", password_hash=hashed, role="clinician", active=False))
        db.add(
            Conversation(
                key=K1,
                channel="web",
                started_at=datetime(2026, 3, 1, 10, 0),
                last_event_at=datetime(2026, 3, 1, 10, 20),
                user_turns=18,
                max_crisis_level="none",
                reached_reflection=True,
                requested_therapist=False,
                fallbacks=0,
                review_status="new",
                steps='["entry", "consent", "intake_started", "intake_1", "intake_2", "reflection"]',
                slots='{"consent_given": true}',
                pseudonyms=f'{{"{PSEUDONYM_HASH}": "<PERSON_1>"}}',
                tags=[Tag(tag="good-flow")],
                events=[
                    _event(1, "session"),
                    _event(2, "user", text=USER_TEXT, intent="greet", confidence=0.98, crisis_level="none"),
                    _event(3, "action", name="utter_intro"),
                    _event(4, "bot", text="Hello, I'm a reflection assistant."),
                    _event(5, "action", name="consent_form"),
                    _event(6, "form", name="consent_form"),
                    _event(7, "user", text="<script>alert(1)</script>", intent="affirm", confidence=0.91),
                    _event(8, "slot", name="consent_given", value="true"),
                    _event(9, "form", name=""),
                ],
            )
        )
        db.add(
            Conversation(
                key=K2,
                channel="telegram",
                started_at=datetime(2026, 3, 5, 10, 0),
                max_crisis_level="high",
                requested_therapist=True,
                fallbacks=2,
                review_status="reviewed",
                steps='["entry", "consent", "finder", "results"]',
                tags=[Tag(tag="crisis-check")],
                escalations=[
                    Escalation(at=datetime(2026, 3, 5, 10, 1), level="high", message=CRISIS_TEXT, reply=CRISIS_REPLY)
                ],
            )
        )
        db.add(
            Conversation(
                key=K3,
                channel="twilio",
                started_at=datetime(2026, 3, 10, 10, 0),
                max_crisis_level="imminent",
                fallbacks=1,
                steps='["entry"]',
                escalations=[
                    Escalation(
                        at=datetime(2026, 3, 10, 10, 1),
                        level="imminent",
                        message="a message",
                        reply="a reply",
                        recognized=True,
                        respectful=True,
                        right_resource=True,
                        reviewed_by="cleo",
                        reviewed_at=datetime(2026, 3, 10, 12, 0),
                    ),
                ],
            )
        )
        db.flush()
        db.add(
            Escalation(
                conversation_id=db.query(Conversation.id).filter_by(key=K3).scalar(),
                at=datetime(2026, 3, 11, 9, 0),
                level="high",
                message="another message",
                reply="another reply",
            )
        )
        db.add(
            Conversation(
                key=K4,
                channel="web",
                started_at=datetime(2026, 2, 20, 10, 0),
                max_crisis_level="concern",
                steps='["entry", "consent", "intake_started", "intake_1"]',
            )
        )


@pytest.fixture()
def url(tmp_path: Path) -> Iterator[str]:
    """A migrated, seeded review store of its own."""
    store_url = f"sqlite:///{tmp_path}/review.db"
    store.migrate(store_url)
    seed(store_url)
    yield store_url
    bot_db.get_engine(store_url).dispose()


def run(url: str, check: Check, **options: Any) -> None:
    """Run `check` against the review app on an ephemeral port."""

    async def main() -> None:
        client = TestClient(TestServer(review_app.create_app(url, **options), host="127.0.0.1"))
        await client.start_server()
        try:
            await check(client)
        finally:
            await client.close()

    asyncio.run(main())


def ids(url: str) -> dict[str, int]:
    """Escalation ids by message, and user ids by name."""
    with store.session_scope(url) as db:
        found = {x.message: x.id for x in db.query(Escalation)}
        found.update({u.username: u.id for u in db.query(User)})
    return found


def audit_rows(url: str) -> list[tuple[str, str, str]]:
    with store.session_scope(url) as db:
        return [(a.username, a.action, a.target) for a in db.query(AuditEntry).order_by(AuditEntry.id)]


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


async def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token (from a page's logout form)."""
    resp = await client.get("/login")
    token = csrf_of(await resp.text())
    resp = await client.post(
        "/login", data={"username": username, "password": password, "csrf": token}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    resp = await client.get("/flow")
    assert resp.status in (200, 403)
    return csrf_of(await resp.text())


def protected_posts(url: str) -> list[tuple[str, dict[str, str]]]:
    found = ids(url)
    return [
        ("/logout", {}),
        (f"/conversations/{K1}/tags", {"tag": "new-tag"}),
        (f"/conversations/{K1}/notes", {"note": "A note."}),
        (f"/conversations/{K1}/status", {"status": "reviewed"}),
        (f"/crisis/{found[CRISIS_TEXT]}", {"recognized": "yes", "respectful": "yes", "right_resource": "yes"}),
        ("/admin/users", {"username": "newbie", "password": PASSWORD, "role": "clinician"}),
        (f"/admin/users/{found['cleo']}/active", {"active": "no"}),
    ]


PAGES = ["/", f"/conversations/{K1}", "/flow", "/crisis", "/admin/users", "/admin/audit"]
EXPORTS = ["/export/conversations.csv", f"/conversations/{K1}.json", f"/conversations/{K1}/story.yml"]
STAFF_PAGES = ["/", f"/conversations/{K1}", "/flow", "/crisis"]
ADMIN_PAGES = ["/admin/users", "/admin/audit"]


def snapshot(url: str) -> dict[str, Any]:
    """Everything a POST could change."""
    with store.session_scope(url) as db:
        return {
            "tags": sorted((t.conversation_id, t.tag) for t in db.query(Tag)),
            "notes": sorted((n.conversation_id, n.text) for n in db.query(Note)),
            "statuses": sorted((c.key, c.review_status) for c in db.query(Conversation)),
            "escalations": sorted((x.id, x.reviewed_by, x.recognized) for x in db.query(Escalation)),
            "users": sorted((u.username, u.role, u.active) for u in db.query(User)),
            "sessions": db.query(LoginSession).count(),
        }


# ---------------------------------------------------------------- access


def test_every_protected_route_refuses_anonymous_access(url: str) -> None:
    posts = protected_posts(url)

    async def check(client: TestClient) -> None:
        for path in [*PAGES, "/no-such-page"]:
            resp = await client.get(path, allow_redirects=False)
            assert resp.status == 302, path
            assert resp.headers["Location"].startswith("/login"), path
        for path in EXPORTS:
            resp = await client.get(path, allow_redirects=False)
            assert resp.status == 401, path
            assert USER_TEXT not in await resp.text()
        for path, data in posts:
            resp = await client.post(path, data=data, allow_redirects=False)
            assert resp.status == 302, path
            assert resp.headers["Location"] == "/login", path

    before = snapshot(url)
    run(url, check)
    assert snapshot(url) == before
    assert audit_rows(url) == []


def test_anonymous_page_request_comes_back_after_signing_in(url: str) -> None:
    async def check(client: TestClient) -> None:
        resp = await client.get(f"/conversations/{K1}", allow_redirects=False)
        assert resp.headers["Location"] == f"/login?next=%2Fconversations%2F{K1}"
        resp = await client.get(resp.headers["Location"])
        html = await resp.text()
        assert f'name="next" value="/conversations/{K1}"' in html
        resp = await client.post(
            "/login",
            data={"username": "cleo", "password": PASSWORD, "csrf": csrf_of(html), "next": f"/conversations/{K1}"},
            allow_redirects=False,
        )
        assert resp.headers["Location"] == f"/conversations/{K1}"

    run(url, check)


def test_sign_in_never_redirects_off_site(url: str) -> None:
    async def check(client: TestClient) -> None:
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
            resp = await client.get("/login")
            resp = await client.post(
                "/login",
                data={"username": "cleo", "password": PASSWORD, "csrf": csrf_of(await resp.text()), "next": target},
                allow_redirects=False,
            )
            assert resp.headers["Location"] == "/", target

    run(url, check)


def test_an_unknown_role_is_refused_everywhere(url: str) -> None:
    posts = protected_posts(url)

    async def check(client: TestClient) -> None:
        resp = await client.get("/login")
        token = csrf_of(await resp.text())
        resp = await client.post("/login", data={"username": "rex", "password": PASSWORD, "csrf": token})
        assert resp.status == 403
        with store.session_scope(url) as db:
            csrf = db.query(LoginSession).one().csrf_token
        for path in [*PAGES, *EXPORTS]:
            resp = await client.get(path, allow_redirects=False)
            assert resp.status == 403, path
            assert USER_TEXT not in await resp.text()
        for path, data in posts:
            resp = await client.post(path, data={**data, "csrf": csrf}, allow_redirects=False)
            assert resp.status == 403, path

    before = snapshot(url)
    run(url, check)
    assert snapshot(url) == {**before, "sessions": 1}
    assert [row[1] for row in audit_rows(url)] == ["login"]


def test_clinicians_are_refused_the_admin_pages(url: str) -> None:
    found = ids(url)

    async def check(client: TestClient) -> None:
        csrf = await login(client, "cleo")
        for path in ADMIN_PAGES:
            resp = await client.get(path)
            assert resp.status == 403, path
            assert "Your role does not allow this page." in await resp.text()
        data = {"username": "newbie", "password": PASSWORD, "role": "admin", "csrf": csrf}
        assert (await client.post("/admin/users", data=data)).status == 403
        data = {"active": "no", "csrf": csrf}
        assert (await client.post(f"/admin/users/{found['ada']}/active", data=data)).status == 403
        for path in [*STAFF_PAGES, *EXPORTS]:
            assert (await client.get(path)).status == 200, path
        html = await (await client.get("/")).text()
        assert 'href="/admin/users"' not in html

    before = snapshot(url)
    run(url, check)
    assert snapshot(url)["users"] == before["users"]


def test_admins_can_use_every_page(url: str) -> None:
    async def check(client: TestClient) -> None:
        await login(client, "ada")
        for path in [*PAGES, *EXPORTS]:
            resp = await client.get(path)
            assert resp.status == 200, path
            text = await resp.text()
            assert "built-in method" not in text and " object at 0x" not in text, path  # every text was found
        html = await (await client.get("/")).text()
        assert 'href="/admin/users"' in html and 'href="/admin/audit"' in html

    run(url, check)


def test_healthz_and_the_stylesheet_are_public(url: str) -> None:
    async def check(client: TestClient) -> None:
        resp = await client.get("/healthz")
        assert resp.status == 200 and await resp.json() == {"status": "ok"}
        resp = await client.get("/static/review.css")
        assert resp.status == 200 and "flow-box" in await resp.text()
        assert (await client.get("/static/nope.css")).status == 404

    run(url, check)


def test_security_headers_on_every_response(url: str) -> None:
    async def check(client: TestClient) -> None:
        responses = [
            await client.get("/healthz"),
            await client.get("/login"),
            await client.get("/static/review.css"),
            await client.get("/", allow_redirects=False),
            await client.get(EXPORTS[1]),
        ]
        await login(client, "cleo")
        responses += [
            await client.get("/"),
            await client.get(f"/conversations/{UNKNOWN_KEY}"),
            await client.get("/admin/users"),
            await client.get(EXPORTS[0]),
            await client.post(f"/conversations/{K1}/tags", data={"tag": "x"}),
        ]
        assert [r.status for r in responses] == [200, 200, 200, 302, 401, 200, 404, 403, 200, 403]
        for resp in responses:
            assert resp.headers["Content-Security-Policy"] == CSP, resp.url
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Referrer-Policy"] == "no-referrer"
            assert resp.headers["X-Frame-Options"] == "DENY"
            assert resp.headers["Cache-Control"] == "no-store"

    run(url, check)


def test_pages_have_no_inline_script_or_style() -> None:
    for template in review_app.TEMPLATES_DIR.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert "<script" not in text and "style=" not in text and "<style" not in text, template.name
        assert not re.search(r"\son[a-z]+=", text), template.name  # no event-handler attributes


# ---------------------------------------------------------------- sign-in and sessions


def test_a_wrong_password_does_not_sign_in(url: str) -> None:
    async def check(client: TestClient) -> None:
        resp = await client.get("/login")
        token = csrf_of(await resp.text())
        for username, password in (("cleo", "wrong password here"), ("nobody", PASSWORD), ("old", PASSWORD)):
            resp = await client.post(
                "/login", data={"username": username, "password": password, "csrf": token}, allow_redirects=False
            )
            assert resp.status == 401, username
            assert "The username or password is wrong." in await resp.text()
            assert review_app.SESSION_COOKIE not in resp.cookies
            token = csrf_of(await resp.text())
        resp = await client.get("/", allow_redirects=False)
        assert resp.status == 302
        resp = await client.post("/login", data={"username": "cleo", "password": "", "csrf": token})
        assert resp.status == 400

    run(url, check)
    with store.session_scope(url) as db:
        assert db.query(LoginSession).count() == 0
    assert audit_rows(url) == [
        ("cleo", "login_failed", ""),
        ("(unknown)", "login_failed", ""),  # what was typed for an unknown user is not kept
        ("old", "login_failed", ""),
    ]


def test_sign_in_needs_the_forms_own_token(url: str) -> None:
    async def check(client: TestClient) -> None:
        data = {"username": "cleo", "password": PASSWORD, "csrf": "made-up"}
        resp = await client.post("/login", data=data, allow_redirects=False)
        assert resp.status == 403
        await client.get("/login")
        resp = await client.post("/login", data=data, allow_redirects=False)
        assert resp.status == 403

    run(url, check)
    assert snapshot(url)["sessions"] == 0


def test_another_request_for_the_sign_in_page_keeps_the_form_valid(url: str) -> None:
    async def check(client: TestClient) -> None:
        token = csrf_of(await (await client.get("/login")).text())
        resp = await client.get("/favicon.ico")  # the browser's own request, redirected to the sign-in page
        assert csrf_of(await resp.text()) == token
        resp = await client.post(
            "/login", data={"username": "cleo", "password": PASSWORD, "csrf": token}, allow_redirects=False
        )
        assert resp.status == 303

    run(url, check)


def test_the_session_cookie_is_http_only_strict_and_only_its_hash_is_stored(url: str) -> None:
    async def check(client: TestClient) -> None:
        resp = await client.get("/login")
        token = csrf_of(await resp.text())
        resp = await client.post(
            "/login", data={"username": "cleo", "password": PASSWORD, "csrf": token}, allow_redirects=False
        )
        cookie = resp.cookies[review_app.SESSION_COOKIE]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Strict"
        assert cookie["path"] == "/"
        assert not cookie["secure"]
        with store.session_scope(url) as db:
            stored = db.query(LoginSession).one()
            assert stored.token_hash == auth.token_hash(cookie.value) != cookie.value
            assert len(stored.token_hash) == 64

    run(url, check)


def test_secure_cookies_when_asked(url: str) -> None:
    async def check(client: TestClient) -> None:
        resp = await client.get("/login")
        assert resp.cookies[review_app.LOGIN_CSRF_COOKIE]["secure"] is True
        resp = await client.post(
            "/login",
            data={"username": "cleo", "password": PASSWORD, "csrf": csrf_of(await resp.text())},
            cookies={review_app.LOGIN_CSRF_COOKIE: resp.cookies[review_app.LOGIN_CSRF_COOKIE].value},
            allow_redirects=False,
        )
        assert resp.status == 303
        assert resp.cookies[review_app.SESSION_COOKIE]["secure"] is True

    run(url, check, secure_cookies=True)


def test_a_session_expires_and_slides_with_activity(url: str) -> None:
    async def check(client: TestClient) -> None:
        await login(client, "cleo")
        with store.session_scope(url) as db:
            db.query(LoginSession).one().expires_at = utcnow() + timedelta(minutes=1)
        assert (await client.get("/")).status == 200
        with store.session_scope(url) as db:
            left = db.query(LoginSession).one().expires_at - utcnow()
            assert timedelta(minutes=29) < left <= timedelta(minutes=30)
            db.query(LoginSession).one().expires_at = utcnow() - timedelta(seconds=1)
        resp = await client.get("/", allow_redirects=False)
        assert resp.status == 302 and resp.headers["Location"] == "/login"
        assert (await client.get(EXPORTS[0])).status == 401

    run(url, check)
    assert snapshot(url)["sessions"] == 0


def test_session_minutes_are_configurable(url: str) -> None:
    async def check(client: TestClient) -> None:
        await login(client, "cleo")
        with store.session_scope(url) as db:
            left = db.query(LoginSession).one().expires_at - utcnow()
            assert timedelta(minutes=4) < left <= timedelta(minutes=5)

    run(url, check, session_minutes=5)
    with pytest.raises(ValueError, match="session_minutes"):
        review_app.create_app(url, session_minutes=0)


def test_sign_out_deletes_the_session(url: str) -> None:
    async def check(client: TestClient) -> None:
        csrf = await login(client, "cleo")
        assert (await client.post("/logout", allow_redirects=False)).status == 403
        assert snapshot(url)["sessions"] == 1
        resp = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == "/login"
        assert snapshot(url)["sessions"] == 0
        assert (await client.get("/", allow_redirects=False)).status == 302

    run(url, check)
    assert [row[:2] for row in audit_rows(url)] == [("cleo", "login"), ("cleo", "logout")]


# ---------------------------------------------------------------- CSRF


def test_posts_without_or_with_a_wrong_csrf_token_change_nothing(url: str) -> None:
    posts = protected_posts(url)

    async def check(client: TestClient) -> None:
        await login(client, "ada")
        before = snapshot(url)
        for path, data in posts:
            for token in (None, "wrong-token", ""):
                form = dict(data) if token is None else {**data, "csrf": token}
                resp = await client.post(path, data=form, allow_redirects=False)
                assert resp.status == 403, (path, token)
                assert "nothing was changed" in await resp.text()
        assert snapshot(url) == before

    run(url, check)
    assert [row[1] for row in audit_rows(url)] == ["login"]


def test_posts_with_the_right_token_change_and_are_audited(url: str) -> None:
    posts = protected_posts(url)

    async def check(client: TestClient) -> None:
        csrf = await login(client, "ada")
        for path, data in posts[1:]:  # signing out last
            resp = await client.post(path, data={**data, "csrf": csrf}, allow_redirects=False)
            assert resp.status == 303, (path, await resp.text())

    run(url, check)
    after = snapshot(url)
    with store.session_scope(url) as db:
        k1 = db.query(Conversation).filter_by(key=K1).one()
        assert sorted(t.tag for t in k1.tags) == ["good-flow", "new-tag"]
        assert [(n.author, n.text) for n in k1.notes] == [("ada", "A note.")]
        assert k1.review_status == "reviewed"
        escalation = db.query(Escalation).filter_by(message=CRISIS_TEXT).one()
        assert escalation.reviewed_by == "ada" and escalation.reviewed_at is not None
        assert escalation.recognized is escalation.respectful is escalation.right_resource is True
    assert ("newbie", "clinician", True) in after["users"] and ("cleo", "clinician", False) in after["users"]
    actions = [(action, target) for _, action, target in audit_rows(url)]
    assert actions == [
        ("login", ""),
        ("add_tag", K1),
        ("add_note", K1),
        ("set_status", K1),
        ("review_escalation", K2),
        ("add_user", ""),
        ("set_user_active", ""),
    ]


# ---------------------------------------------------------------- audit of views and exports


def test_every_view_and_export_of_a_conversation_is_audited(url: str) -> None:
    async def check(client: TestClient) -> None:
        await login(client, "cleo")
        assert (await client.get(f"/conversations/{K1}")).status == 200
        assert (await client.get(f"/conversations/{K1}/story.yml")).status == 200
        assert (await client.get(f"/conversations/{K2}.json")).status == 200
        assert (await client.get("/export/conversations.csv?channel=web")).status == 200
        assert (await client.get("/crisis")).status == 200
        assert (await client.get(f"/conversations/{UNKNOWN_KEY}")).status == 404

    run(url, check)
    assert audit_rows(url) == [
        ("cleo", "login", ""),
        ("cleo", "view_conversation", K1),
        ("cleo", "export_story", K1),
        ("cleo", "export_json", K2),
        ("cleo", "export_csv", ""),
        ("cleo", "view_crisis_queue", ""),
    ]
    with store.session_scope(url) as db:
        assert db.query(AuditEntry).filter_by(action="export_csv").one().detail == "channel=web"


def test_the_audit_page_shows_the_latest_entries(url: str) -> None:
    async def check(client: TestClient) -> None:
        await login(client, "ada")
        await client.get(f"/conversations/{K3}")
        html = await (await client.get("/admin/audit")).text()
        assert "view_conversation" in html and f'href="/conversations/{K3}"' in html
        assert html.index("view_conversation") < html.index(">login<")  # newest first

    run(url, check)


# ---------------------------------------------------------------- the conversation page


def test_the_transcript_shows_every_event_anonymized_and_escaped(url: str) -> None:
    async def check(client: TestClient) -> None:
        await login(client, "cleo")
        resp = await client.get(f"/conversations/{K1}")
        html = await resp.text()
        assert "hi, I&#39;m &lt;PERSON_1&gt; and I live in &lt;LOCATION_1&gt;" in html
        assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "<code>greet</code>, confidence: 0.98, crisis level:" in html
        assert "Hello, I&#39;m a reflection assistant." in html
        assert "Action: <code>utter_intro</code>" in html
        assert "Slot set: <code>consent_given</code> = <code>true</code>" in html
        assert "Form: <code>consent_form</code>" in html and "Form: form ended" in html
        assert "New session" in html
        assert "good-flow" in html
        assert html.index("utter_intro") < html.index("consent_given")  # in seq order
        assert PSEUDONYM_HASH not in html
        assert f'href="/conversations/{K1}/story.yml"' in html and f'href="/conversations/{K1}.json"' in html
        for path in (f"/conversations/{K1}.json", f"/conversations/{K1}/story.yml"):
            assert PSEUDONYM_HASH not in await (await client.get(path)).text()

    run(url, check)


def test_unknown_conversations_and_pages_are_404(url: str) -> None:
    async def check(client: TestClient) -> None:
        csrf = await login(client, "cleo")
        for path in (f"/conversations/{UNKNOWN_KEY}", f"/conversations/{UNKNOWN_KEY}.json", "/nope"):
            resp = await client.get(path)
            assert resp.status == 404, path
            assert "text/html" in resp.headers["Content-Type"]
        resp = await client.get(f"/conversations/{UNKNOWN_KEY}/story.yml")
        assert resp.status == 404
        assert "There is no conversation with this key." in await resp.text()
        resp = await client.post(f"/conversations/{UNKNOWN_KEY}/tags", data={"tag": "x", "csrf": csrf})
        assert resp.status == 404
        resp = await client.post("/crisis/999", data={"recognized": "yes", "csrf": csrf})
        assert resp.status == 404

    run(url, check)


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        (f"/conversations/{K1}/tags", {"tag": "<b>bold</b>"}, "A tag must be 1 to 40 characters"),
        (f"/conversations/{K1}/tags", {"tag": "x" * 41}, "A tag must be 1 to 40 characters"),
        (f"/conversations/{K1}/tags", {}, "The form was not sent correctly."),
        (f"/conversations/{K1}/notes", {"note": "   "}, "The note is empty."),
        (f"/conversations/{K1}/notes", {"note": "x" * 5001}, "keep it to 5000 characters"),
        (f"/conversations/{K1}/status", {"status": "maybe"}, "must be new or reviewed"),
        ("/crisis/{escalation}", {"recognized": "yes", "respectful": "yes"}, "Answer all three questions"),
        ("/crisis/{escalation}", {"recognized": "yes", "respectful": "yes", "right_resource": "sure"}, "Answer all"),
        (
            "/crisis/{escalation}",
            {"recognized": "yes", "respectful": "no", "right_resource": "no", "comment": "x" * 2001},
            "keep it to 2000 characters",
        ),
        ("/admin/users", {"username": "newbie", "password": "short", "role": "clinician"}, "at least 12 characters"),
        ("/admin/users", {"username": "cleo", "password": PASSWORD, "role": "clinician"}, "already a user"),
        ("/admin/users", {"username": "new user!", "password": PASSWORD, "role": "clinician"}, "A username must be"),
        ("/admin/users", {"username": "newbie", "password": PASSWORD, "role": "owner"}, "clinician or admin"),
        ("/admin/users/{ada}/active", {"active": "no"}, "cannot deactivate your own account"),
        ("/admin/users/{cleo}/active", {"active": "perhaps"}, "The form was not sent correctly."),
    ],
)
def test_bad_form_input_is_400_and_changes_nothing(url: str, path: str, data: dict[str, str], message: str) -> None:
    found = ids(url)
    path = path.format(escalation=found[CRISIS_TEXT], ada=found["ada"], cleo=found["cleo"])

    async def check(client: TestClient) -> None:
        csrf = await login(client, "ada")
        before = snapshot(url)
        resp = await client.post(path, data={**data, "csrf": csrf}, allow_redirects=False)
        assert resp.status == 400
        assert message in await resp.text()
        assert snapshot(url) == before

    run(url, check)
    assert [row[1] for row in audit_rows(url)] == ["login"]


def test_a_tag_is_normalised_and_kept_once(url: str) -> None:
    async def check(client: TestClient) -> None:
        csrf = await login(client, "cleo")
        for tag in ("  Needs   Follow-up ", "needs follow-up"):
            resp = await client.post(f"/conversations/{K4}/tags", data={"tag": tag, "csrf": csrf})
            assert resp.status == 200  # followed the redirect to the conversation
        html = await (await client.get("/?tag=needs+follow-up")).text()
        assert ROW_KEY.findall(html) == [K4]

    run(url, check)
    with store.session_scope(url) as db:
        assert [t.tag for t in db.query(Conversation).filter_by(key=K4).one().tags] == ["needs follow-up"]


# ---------------------------------------------------------------- the list and its filters


@pytest.fixture()
def filter_cases() -> list[tuple[str, list[str]]]:
    # Newest first: K3 (03-10), K2 (03-05), K1 (03-01), K4 (02-20).
    return [
        ("", [K3, K2, K1, K4]),
        ("from=2026-03-01", [K3, K2, K1]),
        ("to=2026-03-05", [K2, K1, K4]),
        ("from=2026-03-01&to=2026-03-01", [K1]),
        ("channel=web", [K1, K4]),
        ("channel=sms", []),
        ("crisis=none", [K3, K2, K1, K4]),
        ("crisis=concern", [K3, K2, K4]),
        ("crisis=high", [K3, K2]),
        ("crisis=imminent", [K3]),
        ("reflection=yes", [K1]),
        ("reflection=no", [K3, K2, K4]),
        ("therapist=yes", [K2]),
        ("fallbacks=yes", [K3, K2]),
        ("fallbacks=no", [K1, K4]),
        ("tag=crisis-check", [K2]),
        ("tag=good-flow", [K1]),
        ("status=reviewed", [K2]),
        ("status=new", [K3, K1, K4]),
        ("channel=web&crisis=concern", [K4]),
        ("crisis=imminent&fallbacks=yes&status=new", [K3]),
    ]


def test_the_list_filters_select_the_right_conversations(url: str, filter_cases: list[tuple[str, list[str]]]) -> None:
    async def check(client: TestClient) -> None:
        await login(client, "cleo")
        for query, expected in filter_cases:
            resp = await client.get(f"/?{query}")
            assert resp.status == 200, query
            html = await resp.text()
            assert ROW_KEY.findall(html) == expected, query
            assert f"{len(expected)} conversations match." in html
            assert f'href="/export/conversations.csv{"?" + query if query else ""}"'.replace("&", "&amp;") in html

    run(url, check)


def test_the_csv_has_the_rows_of_the_filters(url: str, filter_cases: list[tuple[str, list[str]]]) -> None:
    async def check(client: TestClient) -> None:
        await login(client, "cleo")
        for query, expected in filter_cases:
            resp = await client.get(f"/export/conversations.csv?{query}")
            assert resp.status == 200, query
            assert resp.headers["Content-Type"].startswith("text/csv")
            assert "attachment" in resp.headers["Content-Disposition"]
            rows = list(csv.reader(io.StringIO(await resp.text())))
            assert rows[0][0] == "key"
            assert [row[0] for row in rows[1:]] == expected, query
        resp = await client.get("/export/conversations.csv?tag=crisis-check")
        [header, row] = list(csv.reader(io.StringIO(await resp.text())))
        assert header[:3] == ["key", "channel", "started_at"] and header[-1] == "tags"
        assert row[:3] == [K2, "telegram", "2026-03-05T10:00:00"]
        assert row[4:] == ["0", "high", "no", "yes", "2", "reviewed", "crisis-check"]

    run(url, check)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-01", "YYYY-MM-DD"),
        ("to=yesterday", "YYYY-MM-DD"),
        ("from=2026-03-02&to=2026-03-01", "must not be after"),
        ("crisis=severe", "a value the app does not know"),
        ("reflection=maybe", "a value the app does not know"),
        ("status=closed", "a value the app does not know"),
        ("page=0", "whole number from 1"),
        ("page=two", "whole number from 1"),
    ],
)
def test_bad_filters_are_400(url: str, query: str, message: str) -> None:
    async def check(client: TestClient) -> None:
        await login(client, "cleo")
        for path in ("/", "/export/conversations.csv", "/flow") if "page" not in query else ("/", "/crisis"):
            resp = await client.get(f"{path}?{query}")
            assert resp.status == 400, path
            assert message in await resp.text(), path

    run(url, check)


def test_the_list_is_paginated_by_50(url: str) -> None:
    with store.session_scope(url) as db:
        for n in range(52):
            db.add(Conversation(key=f"{n:032x}", channel="sms", started_at=datetime(2025, 1, 1) + timedelta(hours=n)))

    async def check(client: TestClient) -> None:
        await login(client, "cleo")
        html = await (await client.get("/?channel=sms")).text()
        first = ROW_KEY.findall(html)
        assert len(first) == views.PAGE_SIZE and first[0] == f"{51:032x}"
        assert "Page 1 of 2" in html and 'href="/?channel=sms&amp;page=2"' in html
        html = await (await client.get("/?channel=sms&page=2")).text()
        assert ROW_KEY.findall(html) == [f"{1:032x}", f"{0:032x}"]
        assert 'href="/?channel=sms&amp;page=1"' in html
        html = await (await client.get("/?channel=sms&page=3")).text()
        assert ROW_KEY.findall(html) == []

    run(url, check)


# ---------------------------------------------------------------- flow, crisis queue, admin


def _flow_row(html: str, label: str) -> list[str]:
    match = re.search(rf'<th scope="row">{label}</th>(.*?)</tr>', html, re.S)
    assert match, label
    return re.findall(r"<td[^>]*>([^<]*)</td>", match.group(1))


def test_the_flow_page_counts_the_filtered_conversations(url: str) -> None:
    async def check(client: TestClient) -> None:
        await login(client, "cleo")
        html = await (await client.get("/flow")).text()
        assert "<svg" in html and "4 conversations" in html
        assert _flow_row(html, "Entry") == ["4", "3", "1", "25%"]
        assert _flow_row(html, "Consent") == ["3", "2", "1", "33%"]
        assert _flow_row(html, "Intake answer 1") == ["2", "1", "1", "50%"]
        assert _flow_row(html, "Referral sent") == ["0", "last step"]
        html = await (await client.get("/flow?channel=web")).text()
        assert "2 conversations" in html and _flow_row(html, "Entry") == ["2", "2", "0", "0%"]
        html = await (await client.get("/flow?from=2026-03-02")).text()
        assert _flow_row(html, "Entry") == ["2", "1", "1", "50%"]
        assert _flow_row(html, "Therapist finder") == ["1", "1", "0", "0%"]

    run(url, check)


def test_the_crisis_queue_lists_unreviewed_first_then_newest(url: str) -> None:
    found = ids(url)
    e1, e2, e3 = found[CRISIS_TEXT], found["a message"], found["another message"]

    def order(html: str) -> list[int]:
        return [int(n) for n in re.findall(r'<li id="escalation-(\d+)"', html)]

    async def check(client: TestClient) -> None:
        csrf = await login(client, "cleo")
        html = await (await client.get("/crisis")).text()
        assert order(html) == [e3, e1, e2]
        assert "I can&#39;t go on since &lt;PERSON_2&gt; left" in html
        assert "I&#39;m really glad you told me." in html
        assert "2 of 3 escalations are not reviewed yet." in html
        form = {
            "recognized": "yes",
            "respectful": "no",
            "right_resource": "yes",
            "comment": "Too abrupt.",
            "csrf": csrf,
        }
        resp = await client.post(f"/crisis/{e1}", data=form, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"] == f"/crisis#escalation-{e1}"
        html = await (await client.get("/crisis")).text()
        assert order(html) == [e3, e2, e1]
        assert "Reviewed by cleo on" in html and "Too abrupt." in html

    run(url, check)
    with store.session_scope(url) as db:
        escalation = db.get(Escalation, e1)
        assert (escalation.recognized, escalation.respectful, escalation.right_resource) == (True, False, True)
        assert escalation.comment == "Too abrupt." and escalation.reviewed_by == "cleo"
        assert escalation.reviewed_at is not None
        entry = db.query(AuditEntry).filter_by(action="review_escalation").one()
        assert entry.target == K2 and "respectful=no" in entry.detail


def test_admins_add_and_deactivate_users(url: str) -> None:
    found = ids(url)

    async def check(client: TestClient) -> None:
        csrf = await login(client, "ada")
        data = {"username": "dora", "password": PASSWORD, "role": "clinician", "csrf": csrf}
        resp = await client.post("/admin/users", data=data)
        assert resp.status == 200 and "dora" in await resp.text()

        async with TestClient(TestServer(review_app.create_app(url), host="127.0.0.1")) as other:
            await login(other, "cleo")
            assert (await other.get("/")).status == 200
            resp = await client.post(f"/admin/users/{found['cleo']}/active", data={"active": "no", "csrf": csrf})
            assert resp.status == 200
            assert (await other.get("/", allow_redirects=False)).status == 302  # her session ended

    run(url, check)
    users = snapshot(url)["users"]
    assert ("dora", "clinician", True) in users and ("cleo", "clinician", False) in users


def test_add_user_rules() -> None:
    with pytest.raises(ValueError, match="at least 12 characters"):
        auth.check_password_rules("elevenchars")  # 11
    auth.check_password_rules("twelve chars")
    assert auth.ROLES == ("clinician", "admin")


def test_texts_are_complete_data(tmp_path: Path) -> None:
    texts = review_app.load_texts()
    assert texts["errors"]["password_too_short"].format(min=12) == "The password must be at least 12 characters long."
    data = yaml.safe_load(Path(review_app.REVIEW_DIR / "app.yml").read_text(encoding="utf-8"))
    data["filters"]["items"] = "a key templates could not reach"
    data["nav"]["flow"] = " "
    broken = tmp_path / "app.yml"
    broken.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"filters\.items \(a reserved name\).*nav\.flow|nav\.flow.*filters\.items"):
        texts_module.load_texts.__wrapped__(broken)


# ---------------------------------------------------------------- logging


def test_conversation_text_is_never_logged(url: str, caplog: pytest.LogCaptureFixture, monkeypatch: Any) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.DEBUG, logger="aiohttp")

    async def check(client: TestClient) -> None:
        csrf = await login(client, "cleo")
        for path in [*STAFF_PAGES, *EXPORTS, f"/conversations/{K2}"]:
            assert (await client.get(path)).status == 200
        await client.post(f"/conversations/{K1}/notes", data={"note": "A note.", "csrf": csrf})

        def broken(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError(f"failed on {USER_TEXT}")

        monkeypatch.setattr(views, "list_conversations", broken)
        resp = await client.get("/")
        assert resp.status == 500 and "Something went wrong" in await resp.text()
        assert USER_TEXT not in await resp.text()

    run(url, check)
    assert "Unexpected RuntimeError" in caplog.text
    for text in ALL_TEXTS:
        assert text not in caplog.text
