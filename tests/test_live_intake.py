"""Live checks of the reflection intake over REST: each pattern, skip, back, a question in the
middle, pause and resume in a new session, the summary, and crisis text in the middle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.reflection.bank import get_bank
from bot.settings import Settings
from tests.conftest import fetch_tracker, live_stack
from tests.test_live_rest import Chat

pytestmark = pytest.mark.live
BANK = get_bank()

# One answer per question, in bank order, for each pattern: ratings 1-5 and short free text.
OPEN = {
    "secure": "they listened and hugged me, i felt safe telling them things",
    "anxious": "i panic and keep checking my phone, i always think they're going to leave me",
    "avoidant": "honestly i prefer to handle things on my own and i need my space",
    "disorganized": "i want to be close but then i push them away, it's confusing",
}
RATINGS = {
    # late_reply, closeness_uneasy, reassurance, self_reliance, express_needs, trust, abandonment, push_pull
    "secure": [1, 1, 2, 2, 5, 5, 1, 1],
    "anxious": [5, 2, 5, 2, 4, 2, 5, 2],
    "avoidant": [1, 5, 1, 5, 1, 3, 1, 2],
    "disorganized": [5, 5, 4, 4, 2, 1, 5, 5],
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with live_stack(tmp_path_factory, "live-intake") as settings:
        yield settings


def _text(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(reply.get("text", "")) for reply in replies)


def _start(settings: Settings) -> tuple[Chat, list[dict[str, Any]]]:
    chat = Chat(settings)
    chat.say("hello")
    chat.say("yes")
    replies = chat.say("/reflect_start")
    assert "Question 1 of 14" in _text(replies)
    assert "in your own words" not in _text(replies)  # the button is not taken for an answer to question 1
    return chat, replies


def _answer(chat: Chat, pattern: str) -> list[dict[str, Any]]:
    ratings = iter(RATINGS[pattern])
    replies: list[dict[str, Any]] = []
    for question in BANK.questions:
        if question.is_rating:
            replies = chat.say(f'/rate{{"rating": "{next(ratings)}"}}')
        else:
            replies = chat.say(OPEN[pattern])
    return replies


@pytest.mark.parametrize("pattern", ["secure", "anxious", "avoidant", "disorganized"])
def test_each_pattern_reaches_its_reflection(live: Settings, pattern: str) -> None:
    chat, _ = _start(live)
    replies = _answer(chat, pattern)
    text = _text(replies)
    assert f"patterns often described as {pattern}" in text
    assert "not a therapist" in text
    assert [b["payload"] for r in replies for b in r.get("buttons", [])] == [
        "/learn_pattern",
        "/find_therapist",
        "/get_summary",
    ]
    assert fetch_tracker(live, chat.sender)["slots"]["reflection_pattern"] == pattern


def test_rating_questions_offer_five_buttons(live: Settings) -> None:
    chat, _ = _start(live)
    for question in BANK.questions:
        if question.is_rating:
            break
        replies = chat.say("my parents were busy but kind")
    buttons = [b["payload"] for r in replies for b in r.get("buttons", [])]
    assert buttons == [f'/rate{{"rating": "{n}"}}' for n in range(1, 6)]
    text = _text(chat.say("eleven"))
    assert "didn't catch a rating" in text and question.text in text  # asked again, nothing lost


def test_skip_back_and_why(live: Settings) -> None:
    chat, _ = _start(live)
    text = _text(chat.say("why do you ask?"))
    assert BANK.questions[0].why in text and BANK.questions[0].text in text
    text = _text(chat.say("skip"))
    assert "skip that one" in text and BANK.questions[1].text in text
    chat.say("feelings were not really talked about")
    text = _text(chat.say("go back"))
    assert BANK.questions[1].text in text
    answers = fetch_tracker(live, chat.sender)["slots"]["intake_answers"]
    assert answers == {BANK.questions[0].id: None}


def test_a_question_in_the_middle_then_back_to_the_intake(live: Settings) -> None:
    chat, _ = _start(live)
    chat.say("they were warm most of the time")
    text = _text(chat.say("what was the strange situation study?"))
    assert "Ainsworth" in text
    assert BANK.questions[1].text in text


def test_pause_and_resume_in_a_new_session(live: Settings) -> None:
    chat, _ = _start(live)
    chat.say("my gran looked after me, she was lovely")
    text = _text(chat.say("let's stop for now"))
    assert "kept your answers" in text
    chat.say("/session_start")
    replies = chat.say("/reflect_start")
    assert [b["payload"] for r in replies for b in r.get("buttons", [])] == ["/resume_intake", "/restart_intake"]
    text = _text(chat.say("/resume_intake"))
    assert "Question 2 of 14" in text
    text = _text(chat.say("/restart_intake"))
    assert "Question 1 of 14" in text


def test_summary_is_shown_and_downloadable(live: Settings) -> None:
    chat, _ = _start(live)
    _answer(chat, "anxious")
    replies = chat.say("/get_summary")
    text = _text(replies)
    assert "Your reflection summary" in text and "Questions you could bring to a first session" in text
    custom = [r["custom"] for r in replies if r.get("custom")]
    assert custom and custom[0]["type"] == "reflection_summary" and "Practices to try" in custom[0]["text"]


def test_crisis_in_the_middle_is_answered_and_never_stored(live: Settings) -> None:
    chat, _ = _start(live)
    chat.say("they were kind to me")
    text = _text(chat.say("honestly i want to kill myself"))
    assert "988" in text and "741741" in text
    slots = fetch_tracker(live, chat.sender)["slots"]
    assert slots["intake_answers"] == {BANK.questions[0].id: "they were kind to me"}
    assert slots["crisis_level"] == "high"
