"""The search flow as plain functions: answers to slots, re-asks, changes, criteria and cards."""

from __future__ import annotations

from typing import Any

from bot.directory import db
from bot.directory.flow import (
    Step,
    apply_answer,
    control_of,
    conversation_ref,
    criteria_from_slots,
    explain_no_match,
    is_question_aside,
    present,
    start_values,
    widen_updates,
)
from bot.directory.search import ANY_METHOD, ATTACHMENT, Criteria, Widening, search, widenings
from bot.directory.seed import insert_profiles
from tests.conftest import profile


def test_opening_message_prefills_what_it_says() -> None:
    values = start_values("find me a therapist in Ohio who takes Cigna")
    assert values["search_state"] == "OH" and values["search_insurance"] == "cigna"
    assert values["search_needs"] is None and values["search_format"] is None
    assert values["search_method"] == ATTACHMENT and values["search_page"] == 0


def test_a_plain_request_prefills_nothing() -> None:
    values = start_values("/find_therapist")
    assert all(values[slot] is None for slot in ("search_state", "search_insurance", "search_needs"))


def test_unclear_answer_is_asked_again_and_keeps_the_rest() -> None:
    filled = {"search_state": "TX"}
    step = apply_answer(filled, "the one from my job", "search_insurance")
    assert step.updates["search_insurance"] is None
    assert step.responses == ["utter_search_reask_insurance"]
    assert "search_state" not in step.updates


def test_extra_details_fill_empty_answers_but_do_not_overwrite() -> None:
    step = apply_answer({"search_state": "TX", "search_needs": ["grief"]}, "me and my partner", "search_for")
    assert step.updates["search_for"] == "couples"
    assert "search_needs" not in step.updates  # "my partner" does not replace the earlier answer
    step = apply_answer({"search_state": "TX"}, "aetna, and online please", "search_insurance")
    assert step.updates["search_insurance"] == "aetna" and step.updates["search_format"] == "telehealth"


def test_actually_replaces_an_earlier_answer() -> None:
    step = apply_answer({"search_state": "TX", "search_insurance": "aetna"}, "actually I'm in Ohio", "search_needs")
    assert step.updates["search_state"] == "OH"
    assert step.updates["search_needs"] is None and "utter_search_reask_needs" in step.responses


def test_change_request_empties_that_answer_and_keeps_the_asked_one() -> None:
    filled = {"search_state": "TX", "search_insurance": "aetna", "search_budget": None, "search_needs": None}
    step = apply_answer(filled, "can I change my insurance?", "search_needs")
    assert step.updates["search_insurance"] is None
    assert step.updates["search_needs"] is None
    assert step.responses == ["utter_search_changing"]


def test_criteria_from_slots() -> None:
    slots: dict[str, Any] = {
        "search_state": "OH",
        "search_insurance": "self_pay",
        "search_budget": 80,
        "search_needs": ["any"],
        "search_format": "telehealth",
        "search_for": "couples",
        "search_preferences": {"language": "es"},
        "search_method": ATTACHMENT,
        "search_nearby": True,
    }
    criteria = criteria_from_slots(slots)
    assert criteria.insurance is None and criteria.budget == 80 and criteria.needs == ()
    assert criteria.language == "es" and criteria.population == "couples"
    assert set(criteria.office_states) == {"OH", "IN", "KY", "MI", "PA", "WV"}
    slots["search_insurance"] = "aetna"
    assert criteria_from_slots(slots).budget is None


def test_widen_updates() -> None:
    slots = {"search_preferences": {"language": "es", "gender": "woman"}}
    assert widen_updates("language", slots) == {"search_preferences": {"gender": "woman"}}
    assert widen_updates("method", slots) == {"search_method": ANY_METHOD}
    assert widen_updates("online", slots) == {"search_format": "either"}


def test_cards_show_the_required_fields_and_buttons(directory_url: str) -> None:
    with db.session_scope(directory_url) as session:
        insert_profiles(session, [profile(name=f"Sample Person {i}", fee=100 + i) for i in range(5)])
    criteria = Criteria(state="OH", insurance="cigna", needs=("anxiety",))
    with db.session_scope(directory_url) as session:
        shown = present(search(session, criteria=criteria, limit=3), criteria)
    assert len(shown.cards) == 3 and len(shown.shown) == 3
    text = shown.cards[0]["text"]
    for part in (
        "Sample Person 0, LCSW (they/them)",
        "In person: Columbus, OH",
        "Online (licensed in Ohio)",
        "In network with Cigna",
        "Helps with: anxiety",
        "$100",
        "Free first consultation",
        "Fictional sample profile",
    ):
        assert part in text, part
    assert "I found 5 therapists" in shown.texts[0]
    assert any("sample directory" in t for t in shown.texts)
    payloads = [b["payload"] for b in shown.buttons]
    assert payloads[:3] == [f'/request_consultation{{"therapist_id": "{i}"}}' for i in shown.shown]
    assert "/more_results" in payloads and "/refine_search" in payloads


def test_no_match_explains_and_offers_widenings(directory_url: str) -> None:
    with db.session_scope(directory_url) as session:
        insert_profiles(session, [profile(in_person=False, locations=[])])
    criteria = Criteria(state="OH", format="in_person")
    with db.session_scope(directory_url) as session:
        text, buttons = explain_no_match(criteria, widenings(session, criteria=criteria, neighbours=["PA"]))
    assert "couldn't find anyone in person in Ohio" in text
    assert buttons[0] == {"title": "Include online therapists (1)", "payload": '/refine_search{"widen": "online"}'}
    assert buttons[-1]["payload"] == "/refine_search"


def test_conversation_ref_hides_the_sender() -> None:
    ref = conversation_ref("+15125550199")
    assert "5550199" not in ref and len(ref) == 32 and ref == conversation_ref("+15125550199")


def test_questions_in_the_middle_are_told_apart_from_answers() -> None:
    assert is_question_aside("what is attachment based therapy", "faq", 0.9)
    assert is_question_aside("are you a real person?", "bot_challenge", 0.8)
    assert not is_question_aside("anxiety", "faq", 0.95)
    assert not is_question_aside("attachment issues i guess", "faq", 0.9)
    assert not is_question_aside("what is attachment based therapy", "faq", 0.3)
    assert not is_question_aside("texas?", "inform", 0.9)


def test_combined_widening_updates_and_button() -> None:
    slots = {"search_state": "OH", "search_preferences": {"language": "es", "gender": "man"}}
    assert widen_updates("online+language+gender", slots) == {"search_format": "either", "search_preferences": {}}
    criteria = Criteria(state="OH", format="in_person", language="es", gender="man")
    option = Widening(key="online+language", criteria=criteria, count=4)
    _, buttons = explain_no_match(criteria, [option])
    assert buttons[0]["title"] == "Widen the search: online too, any language (4)"
    assert buttons[0]["payload"] == '/refine_search{"widen": "online+language"}'


def test_stop_and_start_over_need_the_words_as_well_as_the_intent() -> None:
    assert control_of(Step(), "search_insurance", "the one from my work", "start_over", 0.98) is None
    assert control_of(Step(), "search_insurance", "start over please", "start_over", 0.98) == "start_over"
    assert control_of(Step(), "search_insurance", "let's stop here", "pause_intake", 0.9) == "stop"
    assert control_of(Step(), "search_insurance", "ok bye", "goodbye", 0.9) == "stop"
    assert control_of(Step(), "search_insurance", "ok bye", "goodbye", 0.5) is None
    answered = Step(updates={"search_state": "NY"})
    assert control_of(answered, "search_state", "new york, start over", "start_over", 0.99) is None
