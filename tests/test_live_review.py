"""Live: conversations over REST reach the review app anonymized, through Rasa's event broker.

The whole stack runs with the review service (the app and the ingest). Personal data typed into a
conversation must appear in no response of the review app; deleting the conversation removes it
from the review store as well.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot import stack
from bot.review import store
from bot.review.models import Conversation, Escalation
from bot.settings import PROJECT_ROOT, Settings
from tests.conftest import live_settings

pytestmark = pytest.mark.live

PASSWORD = "correct horse battery staple"
PERSONAL = ["Maya Lindqvist", "Lindqvist", "maya.lindqvist@example.com", "614-555-0177", "Dayton", "+15550100777"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    var_dir = tmp_path_factory.mktemp("live-review")
    settings = live_settings(var_dir)
    with (var_dir / "stack.log").open("wb") as log, stack.running(settings, log=log, with_web=False, with_review=True):
        subprocess.run(
            [sys.executable, "-m", "bot", "review", "add-user", "dr-reviewer", "--role", "admin", "--password-stdin"],
            input=PASSWORD + "\n",
            cwd=PROJECT_ROOT,
            env=stack.child_environment(settings),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        yield settings


def key_of(settings: Settings, sender: str) -> str:
    """The review store's key of a sender, with the hash key this stack's review service uses."""
    return store.conversation_key(sender, store.settings_key(settings))


def say(settings: Settings, sender: str, text: str) -> list[dict[str, Any]]:
    response = requests.post(
        f"{settings.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30
    )
    response.raise_for_status()
    replies: list[dict[str, Any]] = response.json()
    return replies


def wait_for(settings: Settings, key: str, *, present: bool, escalations: int = 0, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with store.session_scope(settings.review_database_url) as session:
            conversation = session.query(Conversation).filter_by(key=key).one_or_none()
            if not present and conversation is None:
                return
            if present and conversation is not None:
                if session.query(Escalation).filter_by(conversation_id=conversation.id).count() >= escalations:
                    return
        time.sleep(0.5)
    raise AssertionError(f"the review store did not {'receive' if present else 'drop'} the conversation in time")


def signed_in(settings: Settings) -> requests.Session:
    browser = requests.Session()
    form = browser.get(f"{settings.review_url}/login", timeout=10)
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    response = browser.post(
        f"{settings.review_url}/login",
        data={"username": "dr-reviewer", "password": PASSWORD, "csrf": token.group(1), "next": "/"},
        timeout=10,
    )
    assert response.status_code == 200 and "dr-reviewer" in response.text
    return browser


def test_personal_data_never_reaches_the_review_app(live: Settings) -> None:
    sender = "+15550100777"
    say(live, sender, "hello")
    say(live, sender, "yes")
    say(live, sender, "my sister Maya Lindqvist lives in Dayton and never calls back, is that avoidant?")
    say(live, sender, "you can reach me at maya.lindqvist@example.com or 614-555-0177")
    replies = say(live, sender, "i want to kill myself")
    assert any("988" in reply.get("text", "") for reply in replies)
    key = key_of(live, sender)
    wait_for(live, key, present=True, escalations=1)

    browser = signed_in(live)
    pages = [
        "/",
        f"/conversations/{key}",
        f"/conversations/{key}.json",
        f"/conversations/{key}/story.yml",
        "/crisis",
        "/flow",
        "/export/conversations.csv",
        "/admin/audit",
    ]
    bodies = {}
    for page in pages:
        response = browser.get(f"{live.review_url}{page}", timeout=10)
        assert response.status_code == 200, page
        bodies[page] = response.text
    for page, body in bodies.items():
        for secret in PERSONAL:
            assert secret not in body, f"{secret!r} shown on {page}"
    assert "PERSON_1" in bodies[f"/conversations/{key}"]
    assert "i want to kill myself" in bodies["/crisis"]
    assert "988" in bodies["/crisis"]
    assert "view_conversation" in bodies["/admin/audit"]


def test_anonymous_visitors_see_nothing(live: Settings) -> None:
    response = requests.get(f"{live.review_url}/", timeout=10, allow_redirects=False)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert requests.get(f"{live.review_url}/export/conversations.csv", timeout=10).status_code == 401


def test_deleting_a_conversation_removes_it_from_the_review_store(live: Settings) -> None:
    sender = f"live-{uuid.uuid4().hex[:10]}"
    say(live, sender, "hello")
    say(live, sender, "what is anxious attachment")
    key = key_of(live, sender)
    wait_for(live, key, present=True)
    say(live, sender, "delete my conversation")
    say(live, sender, "yes")
    wait_for(live, key, present=False)
