"""The intake's turn logic, without Rasa: which question is next, and what an answer does.

Answers are a mapping question id -> rating (int), free text (str) or None (skipped), kept in
the `intake_answers` slot. Questions are answered in bank order, so the next question is the
first without an answer and "back" removes the latest one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.dialogue.interrupts import get_interrupts
from bot.reflection.bank import Bank, Question

SKIP, BACK, WHY, RATE = "skip_question", "go_back", "why_question", "rate"
# A control intent counts only for a short message with a confident intent: a long answer that
# happens to contain "why" or "skip" is an answer.
CONTROL_MAX_WORDS = 8
CONTROL_MIN_CONFIDENCE = 0.6
CRISIS_LEVELS = frozenset({"concern", "high", "imminent"})


@dataclass
class Turn:
    """What one message inside the intake does."""

    answers: dict[str, Any]
    responses: list[str] = field(default_factory=list)
    say: list[str] = field(default_factory=list)
    complete: bool = False
    # Set when the message asks for something else (a question, pause, start over): the form is
    # then rejected and the dialogue rules answer it, with the answers untouched.
    interrupt: str | None = None


def next_question(bank: Bank, answers: dict[str, Any]) -> Question | None:
    """The first question without an answer, or None when all are answered (or skipped)."""
    return next((q for q in bank.questions if q.id not in answers), None)


def is_complete(bank: Bank, answers: dict[str, Any] | None) -> bool:
    """Whether every question has an answer or was skipped."""
    return bool(answers) and next_question(bank, answers or {}) is None


def is_unfinished(bank: Bank, answers: dict[str, Any] | None) -> bool:
    """Whether the intake was started and not finished."""
    return bool(answers) and next_question(bank, answers or {}) is not None


def parse_rating(bank: Bank, text: str, entities: list[dict[str, Any]]) -> int | None:
    """A rating from a button's entity or from typed words ("4", "four", "very much").

    Returns:
        The rating, or None when the message is not a clear rating.
    """
    for entity in entities:
        if entity.get("entity") == "rating":
            try:
                value = int(str(entity.get("value")).strip())
            except ValueError:
                return None
            return value if bank.scale_min <= value <= bank.scale_max else None
    cleaned = " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())
    digits = re.findall(r"\b\d+\b", cleaned)
    if len(digits) == 1:
        value = int(digits[0])
        return value if bank.scale_min <= value <= bank.scale_max else None
    # "very much" also contains "very"; the longest phrase is the most specific.
    best = [
        (len(word), value)
        for value, words in bank.scale_words.items()
        for word in words
        if not word.isdigit() and re.search(rf"\b{re.escape(word)}\b", cleaned)
    ]
    return max(best)[1] if best else None


def handle_message(
    bank: Bank,
    answers: dict[str, Any] | None,
    text: str,
    intent: str | None,
    confidence: float,
    entities: list[dict[str, Any]] | None = None,
    crisis_level: str | None = None,
) -> Turn:
    """Apply one user message to the intake.

    Args:
        bank: The question bank.
        answers: The answers so far.
        text: The message.
        intent: Its intent.
        confidence: The intent's confidence.
        entities: Its entities (a button's rating).
        crisis_level: The crisis detector's level for the message, if any.

    Returns:
        The new answers, the responses to send (domain response names), free text to send (a
        question's "why"), whether the intake is complete, and whether the message asks for
        something else instead (see bot/dialogue/interrupts.yml).
    """
    answers = dict(answers or {})
    question = next_question(bank, answers)
    if question is None:
        return Turn(answers, complete=True)
    if crisis_level in CRISIS_LEVELS:
        return Turn(answers)  # never store crisis text as an answer; the crisis reply comes from the policy
    short = len(text.split()) <= CONTROL_MAX_WORDS
    control = intent if (short and confidence >= CONTROL_MIN_CONFIDENCE) else None
    said = " ".join(text.lower().strip(" .!").split())
    control = next((name for name, words in bank.controls.items() if said in words), control)
    if control == WHY:
        return Turn(answers, say=[question.why])
    if control == BACK:
        answered = [q.id for q in bank.questions if q.id in answers]
        if not answered:
            return Turn(answers, responses=["utter_intake_back_first"])
        answers.pop(answered[-1])
        return Turn(answers, responses=["utter_intake_back"])
    if control == SKIP:
        answers[question.id] = None
        return Turn(answers, responses=["utter_intake_skipped"], complete=next_question(bank, answers) is None)
    interrupt = get_interrupts().classify(text, intent, confidence)
    if interrupt is not None:
        return Turn(answers, interrupt=interrupt)
    if question.is_rating:
        rating = parse_rating(bank, text, entities or [])
        if rating is None:
            return Turn(answers, responses=["utter_intake_rating_invalid"])
        answers[question.id] = rating
    else:
        if intent == RATE or text.startswith("/"):
            return Turn(answers, responses=["utter_intake_open_expected"])
        answers[question.id] = " ".join(text.split())
    return Turn(answers, complete=next_question(bank, answers) is None)


def gate(bank: Bank, consent: Any, answers: dict[str, Any] | None, intent: str | None) -> tuple[str, bool]:
    """Where a request to reflect leads.

    Args:
        bank: The question bank.
        consent: The `consent_given` slot.
        answers: The stored answers.
        intent: reflect_start, resume_intake or restart_intake.

    Returns:
        The gate (needs_consent, start, resume, offer_resume, offer_redo) and whether the stored
        answers must be cleared first.
    """
    if consent is not True:
        return "needs_consent", False
    if intent == "restart_intake":
        return "start", True
    if is_complete(bank, answers):
        return "offer_redo", False
    if is_unfinished(bank, answers):
        return ("resume" if intent == "resume_intake" else "offer_resume"), False
    return "start", False
