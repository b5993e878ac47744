"""End-to-end tests of the chat page in headless Chromium (Debian's chromium, driven by Playwright).

Two set-ups:

- the whole stack (Rasa, actions, web page) on spare ports, for the real conversations: consent, a
  reflection to its summary, a crisis message, a therapist search to a consultation request, reload,
  clearing the conversation, keyboard-only use, and the accessibility scan;
- the page server in this process with a scripted socket.io server standing in for Rasa, for what
  the real bot cannot be made to do on demand: send script in its text, be down, or come back.

Screenshots of the main states go to tests/artifacts/ (ignored by git).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web
from playwright.sync_api import Browser, BrowserContext, FloatRect, Page, expect, sync_playwright

from bot.settings import PROJECT_ROOT, Settings
from bot.web.server import create_app
from tests.conftest import fetch_tracker, free_port, live_stack
from tests.platform_standins import LoopServer

pytestmark = pytest.mark.live

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"
AXE = PROJECT_ROOT / "bot" / "web" / "node_modules" / "axe-core" / "axe.min.js"
TURN_TIMEOUT_MS = 45_000
XSS_PAYLOADS = [
    "<img src=x onerror=\"window.__xss='img'\">",
    "<script>window.__xss='script'</script>",
    "<svg onload=\"window.__xss='svg'\"></svg>",
]
ANXIOUS_RATINGS = [5, 2, 5, 2, 4, 2, 5, 2]
ANXIOUS_OPEN = "i panic and keep checking my phone, i always think they're going to leave me"


# ---------- browser ----------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "make browser installs Debian's chromium at /usr/bin/chromium"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


class Watched:
    """A page with its console errors and CSP violations recorded."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.page = context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security" in message.text:
            self.errors.append(message.text)

    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security" in e or "pageerror" in e]


@pytest.fixture()
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1000, "height": 900})
    yield ctx
    ctx.close()


def shot(page: Page, name: str, start: str | None = None, end: str | None = None) -> None:
    """Save a screenshot of the view, or of the stretch of the page from ``start`` to the last ``end`` element.

    For a stretch the view is made as tall as the page first, so the sticky header and message box do not cover it.
    """
    path = str(ARTIFACTS / f"{name}.png")
    if not start:
        page.screenshot(path=path, full_page=False)
        return
    viewport = page.viewport_size or {"width": 1000, "height": 900}
    height = int(page.evaluate("() => document.documentElement.scrollHeight"))
    page.set_viewport_size({"width": viewport["width"], "height": height})
    page.evaluate("() => window.scrollTo(0, 0)")
    top = page.locator(start).first.bounding_box()
    bottom = page.locator(end or start).last.bounding_box()
    assert top is not None and bottom is not None
    clip: FloatRect = {
        "x": 0,
        "y": max(0, top["y"] - 12),
        "width": viewport["width"],
        "height": bottom["y"] + bottom["height"] - top["y"] + 24,
    }
    page.screenshot(path=path, clip=clip)
    page.set_viewport_size(viewport)


def bot_count(page: Page) -> int:
    return int(page.locator(".msg-bot").count())


def wait_turn(page: Page, before: int) -> None:
    """Wait until new bot messages have arrived and the typing indicator is gone."""
    page.wait_for_function(
        """(before) => {
            const typing = document.querySelector('.typing');
            const idle = !typing || typing.hidden || typing.offsetParent === null;
            return document.querySelectorAll('.msg-bot').length > before && idle;
        }""",
        arg=before,
        timeout=TURN_TIMEOUT_MS,
    )


def say(page: Page, text: str) -> None:
    before = bot_count(page)
    page.fill("#message-input", text)
    page.press("#message-input", "Enter")
    wait_turn(page, before)


def choose(page: Page, title: str | None = None, index: int | None = None) -> None:
    group = page.locator(".choices:not(.choices-used)").last
    button = group.locator("button.choice", has_text=title) if title else group.locator("button.choice").nth(index or 0)
    before = bot_count(page)
    button.first.click()
    wait_turn(page, before)


def last_bot_text(page: Page, last: int = 6) -> str:
    texts = page.locator(".msg-bot .msg-text").all_inner_texts()
    return "\n".join(texts[-last:])


def open_chat(watched: Watched, url: str) -> Page:
    page = watched.page
    page.goto(url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "online", timeout=TURN_TIMEOUT_MS)
    wait_turn(page, 0)
    return page


def session_id(page: Page) -> str:
    found = page.evaluate(
        """() => { for (let i = 0; i < sessionStorage.length; i++) {
                 const k = sessionStorage.key(i); const v = sessionStorage.getItem(k);
                 if (/session/i.test(k) && /^[A-Za-z0-9_-]{16,64}$/.test(v)) return v; }
               return null; }"""
    )
    assert isinstance(found, str), "the session id is kept in sessionStorage"
    return found


def user_turns(settings: Settings, sender: str) -> list[str]:
    return [str(e.get("text")) for e in fetch_tracker(settings, sender)["events"] if e["event"] == "user"]


def axe_serious(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ['violations']});
            return result.violations
              .filter(v => v.impact === 'serious' || v.impact === 'critical')
              .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return found


# ---------- the whole stack ----------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with live_stack(tmp_path_factory, "widget-live", with_web=True) as settings:
        yield settings


def consent(page: Page) -> None:
    assert "not a therapist" in last_bot_text(page)
    choose(page, "Yes, that's okay")
    assert "What would you like to do?" in last_bot_text(page)


def test_consent_then_menu_and_used_buttons_are_disabled(stack: Settings, context: BrowserContext) -> None:
    watched = Watched(context)
    page = open_chat(watched, stack.web_url)
    shot(page, "01-first-contact")
    intro = last_bot_text(page)
    assert "911" in intro and "988" in intro and "not an emergency service" in intro
    consent_group = page.locator(".choices").nth(page.locator(".choices").count() - 1)
    consent(page)
    expect(consent_group.locator("button.choice").first).to_be_disabled()
    expect(page.locator(".msg-user .msg-text").last).to_have_text("Yes, that's okay")
    for title in ("Reflect on my patterns", "Find a therapist", "I need help now"):
        expect(page.locator(".choices:not(.choices-used) button.choice", has_text=title)).to_be_visible()
    assert watched.csp_violations() == []


def test_reflection_path_to_its_reflection_and_summary_download(stack: Settings, context: BrowserContext) -> None:
    watched = Watched(context)
    page = open_chat(watched, stack.web_url)
    consent(page)
    choose(page, "Reflect on my patterns")
    ratings = iter(ANXIOUS_RATINGS)
    for _ in range(14):
        # A rating statement comes with its five buttons; an open question with none.
        if page.locator(".choices:not(.choices-used) button.choice").count() == 5:
            choose(page, index=next(ratings) - 1)
        else:
            say(page, ANXIOUS_OPEN)
    reflection = last_bot_text(page, 8)
    assert "patterns often described as anxious" in reflection
    assert "not a therapist" in reflection
    shot(page, "02-reflection", ".msg-user >> nth=-1", ".choices")
    choose(page, "summary")
    link = page.locator("a.download").last
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    content = Path(info.value.path()).read_text(encoding="utf-8")
    assert "Practices to try" in content
    assert watched.csp_violations() == []


def test_crisis_message_shows_emergency_guidance(stack: Settings, context: BrowserContext) -> None:
    watched = Watched(context)
    page = open_chat(watched, stack.web_url)
    consent(page)
    before = bot_count(page)
    say(page, "i want to kill myself tonight")
    first_reply = page.locator(".msg-bot .msg-text").nth(before).inner_text()
    assert "911" in first_reply and "988" in first_reply
    assert watched.csp_violations() == []
    shot(page, "03-crisis")


def test_therapist_search_to_a_consultation_request(stack: Settings, context: BrowserContext) -> None:
    watched = Watched(context)
    page = open_chat(watched, stack.web_url)
    consent(page)
    choose(page, "Find a therapist")
    for answer in ("Texas", "aetna", "anxiety and relationships", "online", "just me", "no preference"):
        say(page, answer)
    cards = page.locator(".therapist-card")
    expect(cards).to_have_count(3)
    first = cards.first
    expect(first).to_contain_text("Online (licensed in Texas)")
    expect(first).to_contain_text("Attachment-based")
    expect(first).to_contain_text("ictional")  # the sample's "fictional" note
    bubbles = page.locator(".msg-bot .msg-text").all_inner_texts()
    assert not any("Online (licensed in Texas)" in bubble for bubble in bubbles), "cards are not shown twice"
    shot(page, "04-therapist-cards", ".msg-bot:has-text('I found')", ".therapist-card")
    say(page, "i'd like a consultation with the first one")
    choose(page, index=0)  # consent to pass the details on
    say(page, "email")
    say(page, "jane.doe@example.com")
    say(page, "weekday evenings")
    assert "saved your request" in last_bot_text(page)
    assert watched.csp_violations() == []


def test_reload_keeps_history_and_session(stack: Settings, context: BrowserContext) -> None:
    watched = Watched(context)
    page = open_chat(watched, stack.web_url)
    consent(page)
    say(page, "what can you do")
    sender = session_id(page)
    before_user = page.locator(".msg-user .msg-text").all_inner_texts()
    before_bot = page.locator(".msg-bot .msg-text").all_inner_texts()
    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-state", "online", timeout=TURN_TIMEOUT_MS)
    assert page.locator(".msg-user .msg-text").all_inner_texts() == before_user
    assert page.locator(".msg-bot .msg-text").all_inner_texts() == before_bot
    assert session_id(page) == sender
    say(page, "are you a bot?")
    assert user_turns(stack, sender) == ["/greet", "/affirm", "what can you do", "are you a bot?"]


def test_clear_conversation_deletes_it_on_the_server_and_in_the_browser(
    stack: Settings, context: BrowserContext
) -> None:
    watched = Watched(context)
    page = open_chat(watched, stack.web_url)
    consent(page)
    say(page, "my name is Alex and my mum was distant")
    old = session_id(page)
    assert "my name is Alex and my mum was distant" in user_turns(stack, old)
    page.click("#clear-conversation")
    page.click("#clear-confirm")
    expect(page.locator(".msg-user")).to_have_count(0)
    page.wait_for_function(
        """(old) => { for (let i = 0; i < sessionStorage.length; i++) {
                 const v = sessionStorage.getItem(sessionStorage.key(i));
                 if (/^[A-Za-z0-9_-]{16,64}$/.test(v) && v !== old) return true; } return false; }""",
        arg=old,
        timeout=TURN_TIMEOUT_MS,
    )
    wait_turn(page, 0)  # a fresh greeting in the new session
    assert "my name is Alex" not in page.content()
    new = session_id(page)
    assert new != old
    assert user_turns(stack, old) == []
    stored = json.dumps(page.evaluate("() => Object.assign({}, sessionStorage)"))
    assert "Alex" not in stored and old not in stored


def test_clear_can_be_cancelled(stack: Settings, context: BrowserContext) -> None:
    watched = Watched(context)
    page = open_chat(watched, stack.web_url)
    sender = session_id(page)
    page.click("#clear-conversation")
    page.click("#clear-cancel")
    assert session_id(page) == sender
    assert user_turns(stack, sender) == ["/greet"]


def test_keyboard_only_use(stack: Settings, context: BrowserContext) -> None:
    watched = Watched(context)
    page = open_chat(watched, stack.web_url)
    # Tab from the top reaches the help control first-ish, and then the consent button.
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        label = page.evaluate("() => document.activeElement && document.activeElement.textContent.trim()")
        reached.append(str(label))
        if label == "Yes, that's okay":
            break
    assert "Yes, that's okay" in reached, reached
    assert any("Get help now" in item for item in reached), reached
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "focused controls show a visible outline"
    before = bot_count(page)
    page.keyboard.press("Enter")
    wait_turn(page, before)
    assert page.evaluate("() => document.activeElement.id") == "message-input"
    before = bot_count(page)
    page.keyboard.type("what can you do")
    page.keyboard.press("Enter")
    wait_turn(page, before)
    # The help control opens and closes from the keyboard.
    page.focus("#help-now summary")
    page.keyboard.press("Enter")
    expect(page.locator("#help-now")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(page.locator("#help-now")).not_to_have_attribute("open", "")


def test_no_serious_accessibility_violations(stack: Settings, browser: Browser) -> None:
    for width in (1000, 320):
        ctx = browser.new_context(viewport={"width": width, "height": 800}, bypass_csp=True)
        watched = Watched(ctx)
        page = open_chat(watched, stack.web_url)
        consent(page)
        choose(page, "Find a therapist")
        for answer in ("Texas", "aetna", "anxiety", "online", "just me", "no preference"):
            say(page, answer)
        expect(page.locator(".therapist-card")).to_have_count(3)
        if width == 320:
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, "no horizontal scrolling at 320 px"
            shot(page, "05-320px")
        assert axe_serious(page) == []
        page.click("#help-now summary")
        assert axe_serious(page) == []
        ctx.close()


# ---------- a scripted socket.io server instead of Rasa ----------


class FakeRasa(LoopServer):
    """A socket.io server speaking the widget's protocol, answering from a script, on its own thread."""

    def __init__(self, origins: list[str], port: int) -> None:
        super().__init__(port)
        self.origins = origins
        self.received: list[dict[str, Any]] = []
        self.reply: Callable[[str], list[dict[str, Any]]] = lambda text: [{"text": f"You said: {text}"}]
        self.first_delay: dict[str, float] = {}  # text -> seconds to wait the first time it arrives

    def app(self) -> web.Application:
        sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=self.origins)
        app = web.Application()
        sio.attach(app)

        @sio.on("session_request")
        async def session_request(sid: str, data: Any) -> None:
            requested = (data or {}).get("session_id") or uuid.uuid4().hex
            await sio.enter_room(sid, requested)
            await sio.emit("session_confirm", requested, room=sid)

        @sio.on("user_uttered")
        async def user_uttered(sid: str, data: dict[str, Any]) -> dict[str, Any]:
            self.received.append(data)
            text = str(data.get("message"))
            if text in self.first_delay:
                await asyncio.sleep(self.first_delay.pop(text))
            replies = self.reply(text)
            for index, reply in enumerate(replies):
                await sio.emit("bot_uttered", {"message_id": data.get("message_id"), "index": index, **reply}, room=sid)
            return {"ok": True, "replies": len(replies)}

        return app


class PageServer(LoopServer):
    """The real page server (bot.web.server) in this process, pointed at the fake Rasa."""

    def __init__(self, rasa_url: str, port: int) -> None:
        super().__init__(port)
        self.url = self.base_url
        self.rasa_url = rasa_url

    def app(self) -> web.Application:
        return create_app(self.rasa_url, api_token="t", reply_timeout_ms=3000)


@pytest.fixture()
def fake() -> Iterator[tuple[FakeRasa, PageServer]]:
    page_port, rasa_port = free_port(), free_port()
    rasa = FakeRasa([f"http://127.0.0.1:{page_port}"], rasa_port)
    pages = PageServer(f"http://127.0.0.1:{rasa_port}", page_port)
    pages.start()
    yield rasa, pages
    pages.close()
    rasa.close()


def test_script_in_user_and_bot_text_is_shown_as_text_and_never_runs(
    fake: tuple[FakeRasa, PageServer], context: BrowserContext
) -> None:
    rasa, pages = fake
    rasa.reply = lambda text: [
        {"text": text},
        {"text": "Read [this](javascript:window.__xss='link') or **bold** <b>not bold</b>"},
        {"text": "Choose", "buttons": [{"title": XSS_PAYLOADS[0], "payload": "/x"}]},
        {"image": "javascript:window.__xss='image'"},
    ]
    rasa.start()
    watched = Watched(context)
    page = watched.page
    page.goto(pages.url)
    wait_turn(page, 0)
    for payload in XSS_PAYLOADS:
        say(page, payload)
        expect(page.locator(".msg-user .msg-text").last).to_have_text(payload)
        expect(page.locator(".msg-bot .msg-text", has_text=payload).last).to_be_visible()
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__xss === undefined")
    assert page.locator("#messages img, #messages script, #messages svg, #messages b").count() == 0
    assert page.locator("#messages a[href^='javascript']").count() == 0
    expect(page.locator(".msg-bot strong", has_text="bold").first).to_be_visible()
    shot(page, "06-xss-as-text")


def test_bot_down_says_so_keeps_the_message_and_delivers_it_when_back(
    fake: tuple[FakeRasa, PageServer], context: BrowserContext
) -> None:
    rasa, pages = fake  # not started: the bot is unreachable
    watched = Watched(context)
    page = watched.page
    page.goto(pages.url)
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline", timeout=20_000)
    expect(page.locator("#status")).not_to_be_empty()
    page.fill("#message-input", "are you there?")
    page.press("#message-input", "Enter")
    page.wait_for_timeout(1000)
    kept_in_box = page.input_value("#message-input") == "are you there?"
    kept_as_pending = page.locator(".msg-user .msg-text", has_text="are you there?").count() == 1
    assert kept_in_box or kept_as_pending, "the typed message is kept"
    # The help control works with the bot down.
    page.click("#help-now summary")
    expect(page.locator("#help-now")).to_contain_text("988")
    expect(page.locator("#help-now")).to_contain_text("911")
    shot(page, "07-bot-down")
    page.keyboard.press("Escape")
    rasa.start()
    expect(page.locator("#connection")).to_have_attribute("data-state", "online", timeout=30_000)
    if kept_in_box and not kept_as_pending:
        page.press("#message-input", "Enter")
    expect(page.locator(".msg-bot .msg-text", has_text="You said: are you there?")).to_have_count(1, timeout=30_000)
    said = [item["message"] for item in rasa.received]
    assert said.count("are you there?") == 1
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,64}", rasa.received[-1]["message_id"])


def test_a_slow_reply_is_retried_with_the_same_message_id(
    fake: tuple[FakeRasa, PageServer], context: BrowserContext
) -> None:
    rasa, pages = fake
    rasa.first_delay["hello slow"] = 5.0  # longer than the page's 3 s reply time-out
    rasa.start()
    watched = Watched(context)
    page = watched.page
    page.goto(pages.url)
    wait_turn(page, 0)
    page.fill("#message-input", "hello slow")
    page.press("#message-input", "Enter")
    expect(page.locator(".typing")).to_be_visible()
    expect(page.locator(".typing")).to_contain_text("typing")
    expect(page.locator(".msg-bot .msg-text", has_text="You said: hello slow").first).to_be_visible(timeout=30_000)
    ids = {item["message_id"] for item in rasa.received if item["message"] == "hello slow"}
    assert len(ids) == 1, "a retry re-sends the same message id"
    page.wait_for_timeout(1500)
    expect(page.locator(".msg-bot .msg-text", has_text="You said: hello slow")).to_have_count(1)


def test_page_without_javascript_still_shows_the_help(browser: Browser, stack: Settings) -> None:
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    page.goto(stack.web_url)
    page.click("#help-now summary")
    expect(page.locator("#help-now")).to_contain_text("988")
    expect(page.locator("#help-now")).to_contain_text("741741")
    ctx.close()
