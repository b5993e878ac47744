"""Live checks: start the whole stack on spare ports and talk to it over REST."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from bot import stack
from bot.settings import Settings
from tests.conftest import live_settings

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    var_dir = tmp_path_factory.mktemp("live-var")
    settings = live_settings(var_dir)
    with (var_dir / "stack.log").open("wb") as log, stack.running(settings, log=log):
        yield settings


class Chat:
    """One conversation over the REST channel."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sender = f"live-{uuid.uuid4().hex[:12]}"

    def say(self, text: str) -> list[dict[str, Any]]:
        response = requests.post(
            f"{self.settings.rasa_url}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text},
            timeout=30,
        )
        response.raise_for_status()
        replies: list[dict[str, Any]] = response.json()
        return replies

    def text(self, message: str) -> str:
        return "\n".join(reply.get("text", "") for reply in self.say(message))


def _buttons(replies: list[dict[str, Any]]) -> list[str]:
    return [button["payload"] for reply in replies for button in reply.get("buttons", [])]


def test_first_contact_states_limits_and_asks_consent(live: Settings) -> None:
    chat = Chat(live)
    replies = chat.say("hello")
    text = " ".join(reply.get("text", "") for reply in replies)
    for needed in ("not a person", "not a therapist", "diagnosis", "not an emergency service", "911", "988", "30 days"):
        assert needed in text, needed
    assert _buttons(replies) == ["/affirm", "/deny"]

    replies = chat.say("yes")
    assert _buttons(replies) == ["/reflect_start", "what are the attachment styles", "/find_therapist", "/help_now"]


def test_declining_consent_still_offers_help(live: Settings) -> None:
    chat = Chat(live)
    chat.say("hi")
    replies = chat.say("no")
    text = " ".join(reply.get("text", "") for reply in replies)
    assert "won't ask you any reflection questions" in text
    assert "/help_now" in _buttons(replies)


def test_help_now_gives_emergency_guidance_at_once(live: Settings) -> None:
    text = Chat(live).text("/help_now")
    assert "911" in text and "988" in text and "741741" in text


def test_help_now_during_consent_step(live: Settings) -> None:
    chat = Chat(live)
    chat.say("hello")
    text = chat.text("i need help right now")
    assert "911" in text and "988" in text


def test_typed_help_now_message(live: Settings) -> None:
    text = Chat(live).text("i need urgent help")
    assert "911" in text and "988" in text


def test_capabilities_and_honest_bot_answer(live: Settings) -> None:
    chat = Chat(live)
    assert "attachment styles" in chat.text("what can you do")
    assert "not a real person" in chat.text("am i talking to a real person?")


def test_psychoeducation_answer_with_next_step(live: Settings) -> None:
    replies = Chat(live).say("what is avoidant attachment")
    assert replies and "avoidant" in replies[0]["text"].lower()
    assert _buttons(replies), "each answer ends with a next step"


def test_out_of_scope_gets_kind_redirect(live: Settings) -> None:
    replies = Chat(live).say("what's the weather going to be tomorrow")
    assert "outside what I can help with" in replies[0]["text"]
    assert "/reflect_start" in _buttons(replies)


VAGUE = ["the thing", "and then", "kinda", "blorp zzkx quvv", "so about that", "the other one", "hmm well"]


def _confidence(settings: Settings, text: str) -> float:
    response = requests.post(
        f"{settings.rasa_url}/model/parse", params={"token": settings.rasa_api_token}, json={"text": text}, timeout=30
    )
    response.raise_for_status()
    ranking = [item for item in response.json()["intent_ranking"] if item["name"] != "nlu_fallback"]
    return float(ranking[0]["confidence"])


def test_low_confidence_gets_two_stage_fallback_with_options(live: Settings) -> None:
    threshold = yaml.safe_load((live.project_root / "config.yml").read_text())["pipeline"][-1]["threshold"]
    vague = [text for text in VAGUE if _confidence(live, text) < threshold]
    assert vague, "none of the vague messages falls below the NLU threshold: the fallback would never run"
    chat = Chat(live)
    replies = chat.say(vague[0])
    assert "Did you mean one of these?" in replies[0]["text"]
    payloads = _buttons(replies)
    assert payloads[-1] == "/out_of_scope" and len(payloads) >= 2
    replies = chat.say("/out_of_scope")
    assert "say that another way" in replies[0]["text"]


def test_choosing_a_suggested_option_answers_it(live: Settings) -> None:
    chat = Chat(live)
    replies = chat.say("/nlu_fallback")
    assert "Did you mean one of these?" in replies[0]["text"]
    assert "/help" in _buttons(replies)
    assert "Here is what I can do" in chat.text("/help")


def test_unsure_at_consent_explains_and_asks_again(live: Settings) -> None:
    chat = Chat(live)
    chat.say("hello")
    replies = chat.say("idk")
    text = " ".join(reply.get("text", "") for reply in replies)
    assert "take your time" in text and "not a therapist" in text
    assert _buttons(replies) == ["/affirm", "/deny"]


def test_start_over(live: Settings) -> None:
    chat = Chat(live)
    chat.say("hello")
    chat.say("yes")
    assert "starting over" in chat.text("start over")
    assert "not a therapist" in chat.text("hello"), "after a restart the introduction comes again"


def _tracker_text(settings: Settings, sender: str) -> str:
    response = requests.get(
        f"{settings.rasa_url}/conversations/{sender}/tracker",
        params={"token": settings.rasa_api_token},
        timeout=10,
    )
    response.raise_for_status()
    return response.text


def test_delete_my_conversation_really_deletes(live: Settings) -> None:
    chat = Chat(live)
    chat.say("hello")
    chat.say("yes")
    chat.say("my partner Alexandra never texts back, is that anxious attachment?")
    assert "Alexandra" in _tracker_text(live, chat.sender)

    assert "can't be undone" in chat.text("delete my conversation")
    assert "deleted this conversation" in chat.text("yes")

    assert "Alexandra" not in _tracker_text(live, chat.sender)
    db = Path(live.tracker_store_url.removeprefix("sqlite:///"))
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id = ?", (chat.sender,)).fetchall()
    events = [json.loads(row[0]) for row in rows]
    assert events and not any(event["event"] == "user" for event in events)
    assert not any("Alexandra" in row[0] for row in rows)


def test_cancelled_delete_keeps_conversation(live: Settings) -> None:
    chat = Chat(live)
    chat.say("what is secure attachment")
    chat.say("delete my conversation")
    assert "haven't deleted anything" in chat.text("no")
    assert "secure attachment" in _tracker_text(live, chat.sender)


def test_http_api_needs_the_token(live: Settings) -> None:
    response = requests.get(f"{live.rasa_url}/conversations/someone/tracker", timeout=10)
    assert response.status_code == 401


def test_web_page_chats_through_its_proxy(live: Settings) -> None:
    page = requests.get(f"{live.web_url}/", timeout=10)
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    response = requests.post(
        f"{live.web_url}/api/message", json={"sender": f"web{uuid.uuid4().hex}", "message": "/help_now"}, timeout=30
    )
    assert response.status_code == 200
    assert "988" in response.json()[0]["text"]


def test_run_refuses_to_start_without_tracker_store(tmp_path: Path) -> None:
    settings = live_settings(tmp_path)
    env = stack.child_environment(settings)
    env["TRACKER_STORE_URL"] = "postgresql://nobody@127.0.0.1:1/nothing"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--no-train"],
        cwd=settings.project_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Refusing to start" in result.stderr


def test_rasa_server_itself_exits_when_tracker_store_unreachable(tmp_path: Path) -> None:
    """Even started without our launcher, Rasa must not fall back to memory."""
    settings = live_settings(tmp_path)
    env = stack.child_environment(settings)
    env["TRACKER_STORE_URL"] = "postgresql://nobody@127.0.0.1:1/nothing"
    (rasa_service,) = [s for s in stack.services(settings, with_actions=False, with_web=False)]
    result = subprocess.run(
        rasa_service.argv, cwd=settings.project_root, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode != 0
    assert "Refusing to start" in result.stdout + result.stderr
