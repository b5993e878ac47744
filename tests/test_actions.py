from __future__ import annotations

import asyncio
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ActionExecutionRejected, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import (
    ActionAskIntakeCurrent,
    ActionCheckIntake,
    ActionDefaultAskAffirmation,
    ActionDeleteConversation,
    ActionExplainPattern,
    ActionReflect,
    ActionReflectionSummary,
    ValidateIntakeForm,
)
from bot.reflection.bank import get_bank
from bot.settings import PROJECT_ROOT

DOMAIN: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


def _tracker(latest: dict[str, Any]) -> Tracker:
    return Tracker("user-1", {}, latest, [], False, None, {}, "action_listen")


def test_delete_action_confirms_with_domain_response() -> None:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionDeleteConversation().run(dispatcher, _tracker({}), DOMAIN))
    assert events == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_conversation_deleted"]


def test_ask_affirmation_offers_likely_options_and_something_else() -> None:
    latest = {
        "text": "i wanna kno abot the thingy",
        "intent": {"name": "nlu_fallback", "confidence": 0.6},
        "intent_ranking": [
            {"name": "faq", "confidence": 0.4},
            {"name": "reflect_start", "confidence": 0.3},
        ],
        "response_selector": {"faq": {"response": {"utter_action": "utter_faq/what_is_abt"}}},
    }
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionDefaultAskAffirmation().run(dispatcher, _tracker(latest), DOMAIN))
    (message,) = dispatcher.messages
    assert message["response"] == "utter_ask_affirmation_options"
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == ["what is attachment based therapy", "/reflect_start", "/out_of_scope"]
    assert message["buttons"][-1]["title"] == DOMAIN["responses"]["utter_affirmation_something_else"][0]["text"]


def _slot_tracker(slots: dict[str, Any], latest: dict[str, Any] | None = None) -> Tracker:
    return Tracker("user-1", slots, latest or {}, [], False, None, {"name": "intake_form"}, "action_listen")


def _complete_answers() -> dict[str, Any]:
    return {q.id: (5 if q.is_rating else "i panic when they go quiet") for q in get_bank().questions}


def test_check_intake_needs_consent_first() -> None:
    latest = {"intent": {"name": "reflect_start", "confidence": 1.0}}
    events = asyncio.run(ActionCheckIntake().run(CollectingDispatcher(), _slot_tracker({}, latest), DOMAIN))
    assert [(e["name"], e["value"]) for e in events] == [("intake_gate", "needs_consent")]


def test_check_intake_start_clears_old_answers() -> None:
    latest = {"intent": {"name": "restart_intake", "confidence": 1.0}}
    slots = {"consent_given": True, "intake_answers": {"caregiver_comfort": "x"}}
    events = asyncio.run(ActionCheckIntake().run(CollectingDispatcher(), _slot_tracker(slots, latest), DOMAIN))
    assert [(e["name"], e["value"]) for e in events] == [
        ("intake_gate", "start"),
        ("intake_answers", {}),
        ("intake_current", None),
    ]


def test_ask_sends_the_next_question_with_rating_buttons() -> None:
    bank = get_bank()
    first_rating = next(q for q in bank.questions if q.is_rating)
    answers = {q.id: "x" for q in bank.questions[: bank.index(first_rating.id)]}
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAskIntakeCurrent().run(dispatcher, _slot_tracker({"intake_answers": answers}), DOMAIN))
    (message,) = dispatcher.messages
    assert first_rating.text in message["text"]
    assert [b["payload"] for b in message["buttons"]] == [f'/rate{{"rating": "{n}"}}' for n in range(1, 6)]


def test_validator_stores_the_answer_and_keeps_asking() -> None:
    latest = {"text": "my dad was often away", "intent": {"name": "out_of_scope", "confidence": 0.5}}
    result = asyncio.run(
        ValidateIntakeForm().validate_intake_current(
            latest["text"], CollectingDispatcher(), _slot_tracker({"intake_answers": {}}, latest), DOMAIN
        )
    )
    assert result == {"intake_answers": {"caregiver_comfort": "my dad was often away"}, "intake_current": None}


def test_validator_never_stores_crisis_text() -> None:
    latest = {"text": "i want to die", "intent": {"name": "crisis", "confidence": 1.0}, "crisis": {"level": "concern"}}
    result = asyncio.run(
        ValidateIntakeForm().validate_intake_current(
            latest["text"], CollectingDispatcher(), _slot_tracker({"intake_answers": {}}, latest), DOMAIN
        )
    )
    assert result["intake_answers"] == {}


def test_validator_rejects_the_form_for_a_request_and_keeps_the_answers() -> None:
    latest = {"text": "let's stop for now", "intent": {"name": "pause_intake", "confidence": 0.95}}
    slots = {"intake_answers": {"caregiver_comfort": "x"}, "intake_current": latest["text"]}
    events = asyncio.run(ValidateIntakeForm().run(CollectingDispatcher(), _slot_tracker(slots, latest), DOMAIN))
    assert events == [SlotSet("intake_current", None), ActionExecutionRejected("intake_form")]


def test_validator_stores_an_answer_the_classifier_misread_as_pause() -> None:
    latest = {"text": "my parents were busy but kind", "intent": {"name": "pause_intake", "confidence": 0.97}}
    slots = {"intake_answers": {}, "intake_current": latest["text"]}
    candidate = [ActionExecuted("intake_form"), SlotSet("intake_current", latest["text"])]
    tracker = Tracker("user-1", slots, latest, candidate, False, None, {"name": "intake_form"}, "action_listen")
    events = asyncio.run(ValidateIntakeForm().run(CollectingDispatcher(), tracker, DOMAIN))
    assert SlotSet("intake_answers", {"caregiver_comfort": latest["text"]}) in events
    assert not [e for e in events if e["event"] == "action_execution_rejected"]


def test_reflect_sends_the_reflection_and_keeps_the_summary() -> None:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        ActionReflect().run(dispatcher, _slot_tracker({"intake_answers": _complete_answers()}), DOMAIN)
    )
    texts = " ".join(m.get("text") or "" for m in dispatcher.messages)
    assert "patterns often described as" in texts
    assert dispatcher.messages[-1]["response"] == "utter_reflection_next_steps"
    assert {"reflection_pattern", "reflection_summary"} <= {e["name"] for e in events}


def test_summary_without_a_reflection_offers_one() -> None:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionReflectionSummary().run(dispatcher, _slot_tracker({"intake_answers": {}}), DOMAIN))
    assert [m["response"] for m in dispatcher.messages] == ["utter_no_reflection_yet"]


def test_explain_pattern_uses_the_wording_file() -> None:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionExplainPattern().run(dispatcher, _slot_tracker({"reflection_pattern": "avoidant"}), DOMAIN))
    assert "avoidant pattern" in dispatcher.messages[0]["text"]
