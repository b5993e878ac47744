"""What the assistant says next in a crisis and in the safety mode that follows it.

Pure logic over plain values, so it is tested without Rasa. The crisis policy
(bot/rasa_addons/crisis_policy.py) calls `decide` before every bot turn and, when it returns a
decision, predicts its response with the highest priority, even inside a form. Every response
named here is a static response in domain.yml, so the reply never depends on the action server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.crisis.helplines import helpline_slots

CRISIS_INTENT = "crisis"
SAFE_NOW = "safe_now"
SUICIDAL_THOUGHTS = "suicidal_thoughts"
# Intents the safety mode handles itself; anything else falls through to the rules.
AFFIRM, DENY, CONTINUE, REFLECT = "affirm", "deny", "safe_to_continue", "reflect_start"
# In safety mode, a message the assistant does not understand gets a check-in with resources.
UNCLEAR = frozenset({"nlu_fallback", "out_of_scope", "unsure"})


@dataclass(frozen=True)
class Decision:
    """A response to give and the slots to set before giving it."""

    response: str
    slots: dict[str, Any] = field(default_factory=dict)
    end_form: bool = False


def crisis_response(level: str) -> str:
    """Name of the static response for a crisis level."""
    return f"utter_crisis_{level}"


def escalate(level: str, category: str, country: str | None) -> Decision:
    """The reply to a message the detector flagged.

    Args:
        level: concern, high or imminent.
        category: The crisis category.
        country: The user's country (code, name or None for the default).

    Returns:
        The crisis response, with the slots that record the escalation and fill in the resources.
    """
    question = SUICIDAL_THOUGHTS if level == "concern" else SAFE_NOW
    slots: dict[str, Any] = {
        "crisis_level": level,
        "crisis_category": category,
        "safety_mode": True,
        "safety_question": question,
        **helpline_slots(country, category),
    }
    return Decision(crisis_response(level), slots, end_form=True)


def decide(
    intent: str | None,
    crisis: dict[str, Any] | None,
    slots: dict[str, Any],
    country: str | None = None,
    *,
    names_imminence: bool = False,
) -> Decision | None:
    """Choose the crisis or safety-mode reply to the latest user message, if any.

    Args:
        intent: The latest message's intent.
        crisis: The detector's verdict attached to that message (level, category), if any.
        slots: Current slot values (safety_mode, safety_question, crisis_category, ...).
        country: The user's country, if known.
        names_imminence: The message names a time, plan or means ("tonight"); in safety mode
            that alone escalates to `imminent`.

    Returns:
        A decision, or None when the ordinary dialogue should answer.
    """
    if intent == CRISIS_INTENT:
        level = (crisis or {}).get("level") or "high"
        if level == "none":
            level = "high"  # the intent was set without a verdict (e.g. a test story): be safe
        category = (crisis or {}).get("category") or "suicide"
        return escalate(level, category, country)
    if not slots.get("safety_mode"):
        return None
    question = slots.get("safety_question")
    category = slots.get("crisis_category") or "suicide"
    if names_imminence:
        return escalate("imminent", category, country)
    if question == SAFE_NOW and intent == AFFIRM:
        return Decision("utter_safety_glad", {"safety_question": None})
    if question == SAFE_NOW and intent == DENY:
        return escalate("imminent", category, country)
    if question == SUICIDAL_THOUGHTS and intent == AFFIRM:
        return escalate("high", "suicide", country)
    if question == SUICIDAL_THOUGHTS and intent == DENY:
        return Decision("utter_safety_concern_no", {"safety_question": None})
    if intent == CONTINUE:
        return Decision("utter_safety_continue", {"safety_mode": False, "safety_question": None})
    if intent == REFLECT:
        return Decision("utter_safety_first")
    if intent in UNCLEAR:
        return Decision("utter_safety_fallback")
    return None


def owned_responses() -> frozenset[str]:
    """Every response `decide` can return (the policy listens for the user after each)."""
    return frozenset(
        {crisis_response(level) for level in ("concern", "high", "imminent")}
        | {"utter_safety_glad", "utter_safety_concern_no", "utter_safety_continue", "utter_safety_first"}
        | {"utter_safety_fallback"}
    )
