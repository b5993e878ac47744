"""Safety mode decisions, without Rasa."""

from __future__ import annotations

from bot.crisis.safety import SAFE_NOW, SUICIDAL_THOUGHTS, decide, owned_responses


def test_crisis_intent_escalates_with_level_category_and_resources() -> None:
    decision = decide("crisis", {"level": "imminent", "category": "suicide"}, {})
    assert decision is not None
    assert decision.response == "utter_crisis_imminent"
    assert decision.end_form
    assert decision.slots["crisis_level"] == "imminent" and decision.slots["crisis_category"] == "suicide"
    assert decision.slots["safety_mode"] is True and decision.slots["safety_question"] == SAFE_NOW
    assert decision.slots["emergency_number"] == "911" and "988" in decision.slots["crisis_line"]


def test_country_changes_the_resources() -> None:
    decision = decide("crisis", {"level": "high", "category": "suicide"}, {}, country="GB")
    assert decision is not None and decision.slots["emergency_number"] == "999"


def test_concern_asks_about_suicidal_thoughts() -> None:
    decision = decide("crisis", {"level": "concern", "category": "suicide"}, {})
    assert decision is not None and decision.slots["safety_question"] == SUICIDAL_THOUGHTS


def test_crisis_intent_without_verdict_is_treated_as_high() -> None:
    decision = decide("crisis", None, {})
    assert decision is not None and decision.response == "utter_crisis_high"


def test_answers_to_the_safety_question() -> None:
    mode = {"safety_mode": True, "safety_question": SAFE_NOW, "crisis_category": "suicide"}
    glad = decide("affirm", None, mode)
    assert glad is not None and glad.response == "utter_safety_glad" and glad.slots["safety_question"] is None
    not_safe = decide("deny", None, mode)
    assert not_safe is not None and not_safe.response == "utter_crisis_imminent"


def test_answers_to_the_suicidal_thoughts_question() -> None:
    mode = {"safety_mode": True, "safety_question": SUICIDAL_THOUGHTS}
    yes = decide("affirm", None, mode)
    assert yes is not None and yes.response == "utter_crisis_high" and yes.slots["safety_question"] == SAFE_NOW
    no = decide("deny", None, mode)
    assert no is not None and no.response == "utter_safety_concern_no"


def test_returns_to_reflection_only_when_user_says_safe() -> None:
    mode = {"safety_mode": True, "safety_question": None}
    first = decide("reflect_start", None, mode)
    assert first is not None and first.response == "utter_safety_first"
    resume = decide("safe_to_continue", None, mode)
    assert resume is not None and resume.slots["safety_mode"] is False
    assert decide("reflect_start", None, {"safety_mode": False}) is None


def test_ordinary_turns_are_left_to_the_dialogue() -> None:
    assert decide("faq", None, {}) is None
    assert decide("affirm", None, {"safety_mode": False}) is None
    assert decide("grounding", None, {"safety_mode": True, "safety_question": None}) is None


def test_every_owned_response_exists_in_domain() -> None:
    import yaml

    from bot.settings import PROJECT_ROOT

    responses = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]
    assert owned_responses() <= set(responses)


def test_imminence_in_safety_mode_escalates() -> None:
    mode = {"safety_mode": True, "safety_question": None, "crisis_category": "suicide"}
    decision = decide("nlu_fallback", None, mode, names_imminence=True)
    assert decision is not None and decision.response == "utter_crisis_imminent"
    assert decide("faq", None, {"safety_mode": False}, names_imminence=True) is None


def test_unclear_messages_in_safety_mode_get_resources() -> None:
    mode = {"safety_mode": True, "safety_question": None}
    decision = decide("nlu_fallback", None, mode)
    assert decision is not None and decision.response == "utter_safety_fallback"
