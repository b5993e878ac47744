"""Live checks of the therapist search over REST: the whole flow to a referral, several details in
one message, changing an answer, no results with widenings, unclear answers, crisis mid-flow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select

from bot.directory import db
from bot.directory.models import Referral
from bot.settings import Settings
from tests.conftest import fetch_tracker, live_stack
from tests.test_live_rest import Chat

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with live_stack(tmp_path_factory, "live-therapist") as settings:
        yield settings


def _text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(reply.get("text", "")) for reply in replies)


def _payloads(replies: list[dict[str, Any]]) -> list[str]:
    return [button["payload"] for reply in replies for button in reply.get("buttons", [])]


def _cards(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, dict) and custom.get("type") == "therapist_cards":
            return list(custom["cards"])
    return []


def _slots(settings: Settings, chat: Chat) -> dict[str, Any]:
    slots: dict[str, Any] = fetch_tracker(settings, chat.sender)["slots"]
    return slots


def _search(chat: Chat, *answers: str) -> list[dict[str, Any]]:
    replies = chat.say("/find_therapist")
    assert "Which US state" in _text(replies)
    assert "not an emergency service" in _text(replies) and "988" in _text(replies)
    for answer in answers:
        replies = chat.say(answer)
    return replies


def test_whole_flow_to_a_referral(live: Settings) -> None:
    chat = Chat(live)
    chat.say("hi")
    chat.say("yes")
    replies = _search(chat, "Texas", "aetna", "anxiety and relationships", "online", "just me", "no preference")
    text = _text(replies)
    assert "I found" in text and "online with therapists licensed in Texas" in text
    assert "sample directory of fictional therapists" in text
    cards = _cards(replies)
    assert len(cards) == 3
    assert all("Online (licensed in Texas)" in card["where"] for card in cards)
    assert all("Attachment-based" in card["methods"] for card in cards)
    assert "In network with Aetna" in cards[0]["insurance"]
    assert cards[0]["text"] in text  # the same card as plain text for channels without custom payloads
    payloads = _payloads(replies)
    assert "/more_results" in payloads and "/refine_search" in payloads

    more = chat.say("/more_results")
    assert not {c["id"] for c in _cards(more)} & {c["id"] for c in cards}

    replies = chat.say("i'd like a consultation with the first one")
    assert "Is that okay?" in _text(replies)
    replies = chat.say("/affirm")
    assert "How would you like them to contact you?" in _text(replies)
    replies = chat.say("email")
    assert "e-mail address" in _text(replies)
    replies = chat.say("jane@@example")
    assert "doesn't look like a complete e-mail address" in _text(replies)
    replies = chat.say("jane.doe@example.com")
    assert "good time to reach you" in _text(replies)
    replies = chat.say("weekday evenings")
    text = _text(replies)
    assert "saved your request" in text and "no one will actually contact you" in text
    assert "988" in text
    with db.session_scope(live.database_url) as session:
        referral = session.execute(
            select(Referral).where(Referral.contact_value == "jane.doe@example.com")
        ).scalar_one()
        assert referral.status == "new" and referral.contact_method == "email"
        assert referral.therapist_id == _cards(more)[0]["id"]  # "the first one" on the page shown last
        assert referral.summary is None
        assert chat.sender not in referral.conversation_ref


def test_one_message_fills_several_answers(live: Settings) -> None:
    chat = Chat(live)
    replies = chat.say("find me a therapist in Ohio who takes Cigna")
    text = _text(replies)
    assert "Which US state" not in text and "insurance" not in text.lower().split("?")[-1]
    assert "What would you like help with?" in text
    slots = _slots(live, chat)
    assert slots["search_state"] == "OH" and slots["search_insurance"] == "cigna"


def test_unclear_answer_gets_examples_and_nothing_is_lost(live: Settings) -> None:
    chat = Chat(live)
    replies = _search(chat, "Ohio", "the one from my work")
    assert "didn't recognise that insurer" in _text(replies)
    replies = chat.say("bcbs")
    assert "What would you like help with?" in _text(replies)
    slots = _slots(live, chat)
    assert slots["search_state"] == "OH" and slots["search_insurance"] == "bcbs"


def test_change_an_answer_mid_flow_and_after_results(live: Settings) -> None:
    chat = Chat(live)
    _search(chat, "Ohio", "aetna")
    replies = chat.say("can I change my insurance?")
    assert "let's change that" in _text(replies) and "health insurance" in _text(replies)
    chat.say("cigna")
    assert _slots(live, chat)["search_insurance"] == "cigna"
    replies = chat.say("grief")
    replies = chat.say("either")
    replies = chat.say("just me")
    replies = chat.say("no preference")
    assert _cards(replies)
    replies = chat.say('/refine_search{"search_field": "search_state"}')
    assert "Which US state" in _text(replies)
    replies = chat.say("Pennsylvania")
    assert "I found" in _text(replies) and "Pennsylvania" in _text(replies)
    assert _slots(live, chat)["search_insurance"] == "cigna"


def test_no_results_explains_and_widens(live: Settings) -> None:
    chat = Chat(live)
    replies = _search(chat, "Wyoming", "self pay, up to $40", "grief", "in person", "my family", "korean please")
    text = _text(replies)
    assert "couldn't find anyone" in text and "Wyoming" in text
    widen = [p for p in _payloads(replies) if p.startswith('/refine_search{"widen"')]
    assert widen, _payloads(replies)
    replies = chat.say(widen[0])
    assert _cards(replies) or "couldn't find anyone" in _text(replies)


def test_crisis_mid_flow_interrupts_and_is_never_stored(live: Settings) -> None:
    chat = Chat(live)
    _search(chat, "Ohio")
    replies = chat.say("i want to kill myself")
    text = _text(replies)
    assert "988" in text
    slots = _slots(live, chat)
    assert slots["crisis_level"] == "high"
    assert slots["search_insurance"] is None
    assert "kill" not in json.dumps({k: v for k, v in slots.items() if k.startswith(("search_", "referral_"))})


def test_declining_consent_saves_nothing(live: Settings) -> None:
    chat = Chat(live)
    replies = _search(chat, "New York", "not sure", "loneliness", "online", "just me", "no preference")
    first = _cards(replies)[0]
    chat.say(f'/request_consultation{{"therapist_id": "{first["id"]}"}}')
    replies = chat.say("/deny")
    assert "haven't saved a request" in _text(replies)
    with db.session_scope(live.database_url) as session:
        assert not session.execute(select(Referral).where(Referral.therapist_id == first["id"])).first()


def test_summary_is_attached_only_with_consent(live: Settings) -> None:
    summary = "Reflection summary: closeness feels uneasy at times."
    for attach, expected in (("/affirm", summary), ("/deny", None)):
        chat = Chat(live)
        chat.say("hello")
        chat.say("yes")
        response = requests.post(
            f"{live.rasa_url}/conversations/{chat.sender}/tracker/events",
            params={"token": live.rasa_api_token},
            json={"event": "slot", "name": "reflection_summary", "value": summary},
            timeout=10,
        )
        response.raise_for_status()
        replies = _search(chat, "Florida", "humana", "anxiety", "either", "just me", "none")
        chosen = _cards(replies)[0]["id"]
        chat.say(f'/request_consultation{{"therapist_id": "{chosen}"}}')
        chat.say("/affirm")
        chat.say("text me")
        replies = chat.say("555-0142")
        assert "all ten digits" in _text(replies)
        chat.say("(305) 555-0142")
        replies = chat.say("mornings")
        assert "attach your reflection summary" in _text(replies)
        replies = chat.say(attach)
        assert "saved your request" in _text(replies)
        with db.session_scope(live.database_url) as session:
            referral = (
                session.execute(
                    select(Referral)
                    .where(Referral.therapist_id == chosen, Referral.contact_value == "+13055550142")
                    .order_by(Referral.id.desc())
                )
                .scalars()
                .first()
            )
            assert referral is not None and referral.summary == expected and referral.contact_method == "text"
