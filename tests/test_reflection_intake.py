"""The intake's turn logic: answers, skip, back, why, ratings, crisis text and the gate."""

from __future__ import annotations

from typing import Any

import pytest

from bot.reflection.bank import get_bank
from bot.reflection.intake import gate, handle_message, is_complete, is_unfinished, next_question, parse_rating

BANK = get_bank()
FIRST, SECOND = BANK.questions[0], BANK.questions[1]
FIRST_RATING = next(q for q in BANK.questions if q.is_rating)


def _until(question_id: str) -> dict[str, Any]:
    """Answers to every question before `question_id`."""
    answers: dict[str, Any] = {}
    for question in BANK.questions:
        if question.id == question_id:
            return answers
        answers[question.id] = 3 if question.is_rating else "an answer"
    raise KeyError(question_id)


def test_an_open_answer_is_stored_and_the_next_question_follows() -> None:
    turn = handle_message(BANK, {}, "  my mum   hugged me  ", "out_of_scope", 0.4)
    assert turn.answers == {FIRST.id: "my mum hugged me"}
    assert next_question(BANK, turn.answers) == SECOND
    assert not turn.complete


@pytest.mark.parametrize("text", ["skip", "Skip it.", "i'd rather not say", "pass"])
def test_skip_words_skip_whatever_the_intent(text: str) -> None:
    turn = handle_message(BANK, {}, text, "deny", 0.9)
    assert turn.answers == {FIRST.id: None}
    assert turn.responses == ["utter_intake_skipped"]


def test_a_long_answer_with_a_control_intent_is_an_answer() -> None:
    text = "why they never asked how i felt i will never know, but i learned to keep quiet"
    turn = handle_message(BANK, {}, text, "why_question", 0.95)
    assert turn.answers == {FIRST.id: text}


def test_why_explains_and_keeps_the_question() -> None:
    turn = handle_message(BANK, {}, "why do you ask?", "why_question", 0.99)
    assert turn.answers == {}
    assert turn.say == [FIRST.why]


def test_back_removes_the_latest_answer() -> None:
    answers = _until(FIRST_RATING.id)
    last = list(answers)[-1]
    turn = handle_message(BANK, answers, "go back", "go_back", 0.99)
    assert last not in turn.answers and len(turn.answers) == len(answers) - 1
    question = next_question(BANK, turn.answers)
    assert question is not None and question.id == last


def test_back_at_the_first_question_says_so() -> None:
    turn = handle_message(BANK, {}, "back", "go_back", 0.99)
    assert turn.answers == {} and turn.responses == ["utter_intake_back_first"]


@pytest.mark.parametrize(
    ("text", "entities", "expected"),
    [
        ("/rate", [{"entity": "rating", "value": "4"}], 4),
        ("4", [], 4),
        ("i'd say a 2", [], 2),
        ("five", [], 5),
        ("very much", [], 5),
        ("not at all", [], 1),
        ("somewhat", [], 3),
        ("7", [], None),
        ("0", [], None),
        ("banana", [], None),
        ("2 or 3", [], None),
        ("/rate", [{"entity": "rating", "value": "9"}], None),
    ],
)
def test_ratings_from_buttons_and_words(text: str, entities: list[dict[str, Any]], expected: int | None) -> None:
    assert parse_rating(BANK, text, entities) == expected


def test_an_unclear_rating_asks_again_and_loses_nothing() -> None:
    answers = _until(FIRST_RATING.id)
    turn = handle_message(BANK, answers, "hmm hard to say", "unsure", 0.8)
    assert turn.answers == answers
    assert turn.responses == ["utter_intake_rating_invalid"]


def test_a_button_press_on_an_open_question_is_not_stored() -> None:
    turn = handle_message(BANK, {}, '/rate{"rating": "4"}', "rate", 1.0, [{"entity": "rating", "value": "4"}])
    assert turn.answers == {} and turn.responses == ["utter_intake_open_expected"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [("my parents were busy but kind", "pause_intake"), ("they said start over and stop crying", "deny")],
)
def test_an_answer_misread_as_a_request_is_stored(text: str, intent: str) -> None:
    turn = handle_message(BANK, {}, text, intent, 0.97)
    assert turn.answers == {FIRST.id: text} and turn.interrupt is None


@pytest.mark.parametrize(
    ("text", "intent", "kind"),
    [
        ("let's stop for now", "pause_intake", "leave"),
        ("what was the strange situation study?", "faq", "aside"),
        ("/help", "help", "aside"),
        ("start over", "start_over", "start_over"),
    ],
)
def test_a_request_leaves_the_answers_untouched(text: str, intent: str, kind: str) -> None:
    answers = _until(FIRST_RATING.id)
    turn = handle_message(BANK, answers, text, intent, 0.95)
    assert turn.interrupt == kind
    assert turn.answers == answers and not turn.responses and not turn.complete


@pytest.mark.parametrize("level", ["concern", "high", "imminent"])
def test_crisis_text_is_never_stored(level: str) -> None:
    turn = handle_message(BANK, {}, "i don't want to be here anymore", "crisis", 1.0, crisis_level=level)
    assert turn.answers == {} and not turn.responses and not turn.say


def test_the_last_answer_completes_the_intake() -> None:
    answers = _until(BANK.questions[-1].id)
    turn = handle_message(BANK, answers, "i call my sister", "out_of_scope", 0.5)
    assert turn.complete and is_complete(BANK, turn.answers)


def test_skipping_the_last_question_completes_too() -> None:
    turn = handle_message(BANK, _until(BANK.questions[-1].id), "skip", "skip_question", 0.99)
    assert turn.complete


@pytest.mark.parametrize(
    ("consent", "answers", "intent", "expected"),
    [
        (None, {}, "reflect_start", ("needs_consent", False)),
        (False, {}, "reflect_start", ("needs_consent", False)),
        (True, {}, "reflect_start", ("start", False)),
        (True, {"caregiver_comfort": "x"}, "reflect_start", ("offer_resume", False)),
        (True, {"caregiver_comfort": "x"}, "resume_intake", ("resume", False)),
        (True, {"caregiver_comfort": "x"}, "restart_intake", ("start", True)),
        (True, {q.id: None for q in BANK.questions}, "reflect_start", ("offer_redo", False)),
        (True, {}, "resume_intake", ("start", False)),
    ],
)
def test_gate(consent: Any, answers: dict[str, Any], intent: str, expected: tuple[str, bool]) -> None:
    assert gate(BANK, consent, answers, intent) == expected


def test_unfinished_and_complete_are_exclusive() -> None:
    assert not is_unfinished(BANK, {}) and not is_complete(BANK, {})
    assert is_unfinished(BANK, {FIRST.id: "x"})
