"""The therapist search actions (actions/therapist_search.py) against a small SQLite directory."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.therapist_search import (
    ActionRefineSearch,
    ActionSearchTherapists,
    ActionStartConsultation,
    ActionStartTherapistSearch,
    ActionSubmitReferral,
    ValidateConsultationForm,
    ValidateTherapistSearchForm,
)
from bot.directory import db
from bot.directory.models import Referral
from bot.directory.seed import insert_profiles
from bot.settings import PROJECT_ROOT, get_settings
from tests.conftest import profile

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


@pytest.fixture()
def directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    get_settings.cache_clear()
    db.migrate(url)
    with db.session_scope(url) as session:
        insert_profiles(session, [profile(name=f"Person {i}", fee=100 + i) for i in range(4)])
        insert_profiles(session, [profile(name="Real Person", is_sample=False, licenses=["PA"], locations=[])])
    yield url
    get_settings.cache_clear()


def _tracker(text: str, slots: dict[str, Any] | None = None, intent: str = "inform", entities: Any = None) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}
    all_slots = {name: None for name in DOMAIN["slots"]}
    all_slots.update(slots or {})
    return Tracker("user-1", all_slots, latest, [], False, None, {}, "action_listen")


def _run(action: Any, tracker: Tracker) -> tuple[dict[str, Any], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}, dispatcher


def test_start_fills_what_the_request_says_and_resets_the_rest() -> None:
    slots, _ = _run(
        ActionStartTherapistSearch(),
        _tracker("find me a therapist in Ohio who takes Cigna", {"search_needs": ["grief"]}, "find_therapist"),
    )
    assert slots["search_state"] == "OH" and slots["search_insurance"] == "cigna"
    assert slots["search_needs"] is None and slots["search_method"] == "attachment_based"


def test_form_validation_stores_normalised_answers_and_flags_unclear_ones() -> None:
    validator = ValidateTherapistSearchForm()
    tracker = _tracker("I have BCBS", {"search_state": "TX", "requested_slot": "search_insurance"})
    result = asyncio.run(validator.validate_search_insurance("I have BCBS", CollectingDispatcher(), tracker, DOMAIN))
    assert result["search_insurance"] == "bcbs" and result["search_unclear"] is False
    tracker = _tracker("the one from work", {"search_state": "TX"})
    result = asyncio.run(
        validator.validate_search_insurance("the one from work", CollectingDispatcher(), tracker, DOMAIN)
    )
    assert result["search_insurance"] is None and result["search_unclear"] is True
    prefilled = asyncio.run(validator.validate_search_state("OH", CollectingDispatcher(), _tracker("find..."), DOMAIN))
    assert prefilled == {"search_state": "OH"}


def test_refine_button_inside_the_form_empties_that_answer() -> None:
    validator = ValidateTherapistSearchForm()
    text = '/refine_search{"search_field": "search_state"}'
    tracker = _tracker(
        text, {"search_state": "TX"}, "refine_search", [{"entity": "search_field", "value": "search_state"}]
    )
    dispatcher = CollectingDispatcher()
    result = asyncio.run(validator.validate_search_needs(text, dispatcher, tracker, DOMAIN))
    assert result["search_state"] is None and result["search_needs"] is None
    assert dispatcher.messages[0]["response"] == "utter_search_changing"


def test_search_sends_cards_buttons_and_remembers_what_was_shown(directory: str) -> None:
    slots = {"search_state": "OH", "search_insurance": "cigna", "search_method": "attachment_based", "search_page": 0}
    events, dispatcher = _run(ActionSearchTherapists(), _tracker("no preference", slots))
    custom = [m["custom"] for m in dispatcher.messages if m.get("custom")]
    assert custom[0]["type"] == "therapist_cards" and len(custom[0]["cards"]) == 3
    assert events["search_page"] == 0 and len(events["search_shown"]) == 3
    more, dispatcher = _run(ActionSearchTherapists(), _tracker("/more_results", {**slots, **events}, "more_results"))
    assert more["search_page"] == 3 and len(more["search_shown"]) == 1
    assert not set(more["search_shown"]) & set(events["search_shown"])


def test_search_without_matches_offers_widenings(directory: str) -> None:
    slots = {"search_state": "OH", "search_for": "couples", "search_method": "attachment_based"}
    events, dispatcher = _run(ActionSearchTherapists(), _tracker("none", slots))
    (message,) = dispatcher.messages
    assert "couldn't find anyone" in message["text"]
    assert events["search_shown"] == []


def test_refine_applies_a_widening_or_asks_which_answer() -> None:
    base = {"search_state": "OH", "search_preferences": {"language": "es"}}
    widened, _ = _run(
        ActionRefineSearch(),
        _tracker(
            '/refine_search{"widen": "language"}', base, "refine_search", [{"entity": "widen", "value": "language"}]
        ),
    )
    assert widened["refine_gate"] == "widened" and widened["search_preferences"] == {}
    asked, dispatcher = _run(ActionRefineSearch(), _tracker("refine", base, "refine_search"))
    assert asked == {"refine_gate": "ask"} and dispatcher.messages[0]["response"] == "utter_ask_refine"
    chosen, _ = _run(ActionRefineSearch(), _tracker("i want to change the insurance", base, "refine_search"))
    assert chosen["refine_gate"] == "chosen" and chosen["search_insurance"] is None


def test_consultation_picks_the_therapist_and_stores_a_referral(directory: str) -> None:
    shown = {"search_shown": [2, 3, 4]}
    slots, _ = _run(ActionStartConsultation(), _tracker("the second one", shown, "request_consultation"))
    assert slots["consultation_gate"] == "ready" and slots["referral_therapist"] == 3
    assert slots["referral_name"] == "Person 2"
    form = {
        **slots,
        "referral_consent": True,
        "referral_contact_method": "email",
        "referral_contact": "sam@example.com",
        "referral_times": "evenings",
        "reflection_summary": "A summary.",
        "referral_attach_summary": False,
    }
    _, dispatcher = _run(ActionSubmitReferral(), _tracker("evenings", form))
    assert [m["response"] for m in dispatcher.messages] == ["utter_referral_saved_sample", "utter_referral_next"]
    with db.session_scope(directory) as session:
        (referral,) = session.execute(select(Referral)).scalars()
        assert referral.therapist_id == 3 and referral.status == "new" and referral.summary is None
        assert referral.conversation_ref != "user-1"


def test_real_directory_referral_gets_the_real_next_steps(directory: str) -> None:
    form = {
        "referral_therapist": 5,
        "referral_consent": True,
        "referral_contact_method": "phone",
        "referral_contact": "+16145550100",
        "referral_times": "",
        "referral_name": "Real Person",
    }
    _, dispatcher = _run(ActionSubmitReferral(), _tracker("any time", form))
    assert dispatcher.messages[0]["response"] == "utter_referral_saved"


def test_declined_consent_stores_nothing(directory: str) -> None:
    _, dispatcher = _run(
        ActionSubmitReferral(), _tracker("/deny", {"referral_therapist": 1, "referral_consent": False})
    )
    assert dispatcher.messages[0]["response"] == "utter_referral_declined"
    with db.session_scope(directory) as session:
        assert session.execute(select(Referral)).first() is None


def test_consultation_form_checks_contact_details_and_skips_the_summary_question() -> None:
    validator = ValidateConsultationForm()
    dispatcher = CollectingDispatcher()
    result = asyncio.run(
        validator.validate_referral_contact(
            "not an address", dispatcher, _tracker("x", {"referral_contact_method": "email"}), DOMAIN
        )
    )
    assert result == {"referral_contact": None, "referral_unclear": True}
    result = asyncio.run(
        validator.validate_referral_contact(
            "(614) 555-0100", dispatcher, _tracker("x", {"referral_contact_method": "phone"}), DOMAIN
        )
    )
    assert result == {"referral_contact": "+16145550100", "referral_unclear": False}
    slots = [
        "referral_consent",
        "referral_contact_method",
        "referral_contact",
        "referral_times",
        "referral_attach_summary",
    ]
    required = asyncio.run(validator.required_slots(slots, dispatcher, _tracker("x"), DOMAIN))
    assert "referral_attach_summary" not in required
    required = asyncio.run(
        validator.required_slots(slots, dispatcher, _tracker("x", {"reflection_summary": "s"}), DOMAIN)
    )
    assert required == slots
    assert (
        asyncio.run(validator.required_slots(slots, dispatcher, _tracker("x", {"referral_consent": False}), DOMAIN))
        == []
    )


def test_a_question_in_the_middle_is_answered_and_the_question_asked_again() -> None:
    validator = ValidateTherapistSearchForm()
    text = "what is attachment based therapy?"
    latest_faq = {"faq": {"response": {"utter_action": "utter_faq/what_is_abt"}}}
    tracker = _tracker(text, {"search_state": "TX"}, "faq")
    tracker.latest_message["response_selector"] = latest_faq
    dispatcher = CollectingDispatcher()
    result = asyncio.run(validator.validate_search_needs(text, dispatcher, tracker, DOMAIN))
    assert result == {"search_needs": None, "search_unclear": False}
    assert dispatcher.messages[0]["response"] == "utter_faq/what_is_abt"
    answer = _tracker("anxiety", {"search_state": "TX"}, "faq")
    result = asyncio.run(validator.validate_search_needs("anxiety", CollectingDispatcher(), answer, DOMAIN))
    assert result["search_needs"] == ["anxiety"]


def test_stop_and_start_over_only_when_the_message_is_not_an_answer() -> None:
    validator = ValidateTherapistSearchForm()
    stop = _tracker("let's stop for now", {"search_state": "TX"}, "pause_intake")
    stop.latest_message["intent"]["confidence"] = 0.95
    result = asyncio.run(
        validator.validate_search_insurance("let's stop for now", CollectingDispatcher(), stop, DOMAIN)
    )
    assert result["requested_slot"] is None and result["search_stopped"] is True
    place = _tracker("New York", {}, "start_over")
    place.latest_message["intent"]["confidence"] = 0.95
    result = asyncio.run(validator.validate_search_state("New York", CollectingDispatcher(), place, DOMAIN))
    assert result["search_state"] == "NY" and "requested_slot" not in result
    over = _tracker("start over", {"search_state": "TX", "search_insurance": "aetna"}, "start_over")
    over.latest_message["intent"]["confidence"] = 0.95
    dispatcher = CollectingDispatcher()
    result = asyncio.run(validator.validate_search_needs("start over", dispatcher, over, DOMAIN))
    assert result["search_state"] is None and result["search_insurance"] is None
    assert dispatcher.messages[0]["response"] == "utter_search_start_over"


def test_a_stopped_search_says_so_instead_of_searching() -> None:
    events, dispatcher = _run(
        ActionSearchTherapists(), _tracker("stop", {"search_state": "TX", "search_stopped": True})
    )
    assert dispatcher.messages[0]["response"] == "utter_search_stopped" and events == {"search_stopped": False}


def test_consultation_form_stops_on_bye_and_answers_questions() -> None:
    validator = ValidateConsultationForm()
    bye = _tracker("bye for now", {"referral_contact_method": "email"}, "goodbye")
    bye.latest_message["intent"]["confidence"] = 0.9
    result = asyncio.run(validator.validate_referral_contact("bye for now", CollectingDispatcher(), bye, DOMAIN))
    assert result["requested_slot"] is None and result["referral_consent"] is False
    question = _tracker("are you a real person?", {}, "bot_challenge")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(validator.validate_referral_times("are you a real person?", dispatcher, question, DOMAIN))
    assert result["referral_times"] is None and dispatcher.messages[0]["response"] == "utter_iamabot"
    times = _tracker("weekday evenings", {}, "greet")
    result = asyncio.run(validator.validate_referral_times("weekday evenings", CollectingDispatcher(), times, DOMAIN))
    assert result == {"referral_times": "weekday evenings"}


def test_an_answer_wins_over_the_intent_classifier() -> None:
    validator = ValidateTherapistSearchForm()
    online = _tracker("online", {"search_state": "TX"}, "refine_search")
    online.latest_message["intent"]["confidence"] = 0.9
    dispatcher = CollectingDispatcher()
    result = asyncio.run(validator.validate_search_format("online", dispatcher, online, DOMAIN))
    assert result["search_format"] == "telehealth" and not dispatcher.messages
