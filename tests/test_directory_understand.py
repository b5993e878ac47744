"""Reading search answers: normalisation tables (insurers, states, ZIPs), several details at once,
answers to the asked question, change requests, contact details."""

from __future__ import annotations

import pytest
import yaml

from bot.directory.understand import read_contact, read_contact_method, read_message, refers_to
from bot.settings import PROJECT_ROOT


@pytest.mark.parametrize(
    ("text", "insurer"),
    [
        ("BCBS", "bcbs"),
        ("blue cross", "bcbs"),
        ("i have anthem blue cross ppo", "bcbs"),
        ("UHC through work", "united"),
        ("united healthcare", "united"),
        ("aetna", "aetna"),
        ("Medi-Cal", "medicaid"),
        ("medicare advantage", "medicare"),
        ("kaiser", "kaiser"),
        ("tricare", "tricare"),
        ("self pay", "self_pay"),
        ("i'll pay out of pocket", "self_pay"),
        ("no insurance", "self_pay"),
        ("not sure", "unsure"),
        ("no idea what plan i'm on", "unsure"),
    ],
)
def test_insurance_names_are_normalised(text: str, insurer: str) -> None:
    assert read_message(text, "search_insurance").values["search_insurance"] == insurer


def test_self_pay_budget_is_read() -> None:
    values = read_message("self pay, up to $90 a session", "search_insurance").values
    assert values["search_insurance"] == "self_pay" and values["search_budget"] == 90


def test_unknown_insurer_is_not_guessed() -> None:
    assert not read_message("the one from my job", "search_insurance").answered("search_insurance")


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("Texas", "TX"),
        ("tx", "TX"),
        ("i'm in new york", "NY"),
        ("North Carolina", "NC"),
        ("washington dc", "DC"),
        ("OH", "OH"),
        ("in", "IN"),
        ("78701", "TX"),
        ("my zip is 10027", "NY"),
        ("44113-1234", "OH"),
        ("chicago", "IL"),
        ("austin, tx", "TX"),
    ],
)
def test_states_zips_and_cities_give_a_state(text: str, state: str) -> None:
    assert read_message(text, "search_state").values["search_state"] == state


def test_zip_keeps_the_place_for_ranking() -> None:
    reading = read_message("78701", "search_state")
    assert reading.place == {"zip": "78701", "city": "Austin"}


@pytest.mark.parametrize("text", ["ok", "me too", "or maybe later", "hi", "in a bit", "00000", "london"])
def test_everyday_words_and_unknown_places_are_not_states(text: str) -> None:
    assert "search_state" not in read_message(text, "search_insurance").values
    if text not in ("hi", "in a bit", "ok"):
        assert "search_state" not in read_message(text, "search_state").values


def test_one_message_fills_several_details() -> None:
    values = read_message("find me a therapist in Ohio who takes Cigna").values
    assert values == {"search_state": "OH", "search_insurance": "cigna"}
    values = read_message("a spanish speaking therapist for my son in NJ, online, he has anxiety").values
    assert values["search_state"] == "NJ"
    assert values["search_for"] == "children"
    assert values["search_format"] == "telehealth"
    assert values["search_needs"] == ["anxiety"]
    assert values["search_preferences"] == {"language": "es"}


def test_words_that_only_mean_something_as_answers() -> None:
    assert read_message("either is fine", "search_format").values["search_format"] == "either"
    assert "search_format" not in read_message("either is fine", "search_for").values
    assert read_message("just me", "search_for").values["search_for"] == "individuals"
    assert read_message("no preference", "search_preferences").values["search_preferences"] == {}
    assert "search_preferences" not in read_message("no", "search_for").values
    assert read_message("not sure", "search_needs").values["search_needs"] == ["any"]


def test_gender_is_a_preference_only_about_the_therapist() -> None:
    assert "search_preferences" not in read_message("i'm a woman in texas looking for help").values
    assert read_message("I'd like a female therapist").values["search_preferences"] == {"gender": "woman"}
    assert read_message("a woman would be better", "search_preferences").values["search_preferences"] == {
        "gender": "woman"
    }


def test_change_requests_name_the_answer_to_change() -> None:
    assert read_message("can i change my insurance", "search_format").cleared == ["search_insurance"]
    assert read_message("wrong state", "search_needs").cleared == ["search_state"]
    reading = read_message("actually change it to aetna", "search_format")
    assert reading.values["search_insurance"] == "aetna" and "search_insurance" not in reading.cleared


def test_method_widening_and_other_methods() -> None:
    assert read_message("any method is fine").method == "any"
    assert read_message("someone who does EMDR").method == "emdr"


def test_training_examples_of_find_therapist_are_read() -> None:
    """Every training example that names a US state or ZIP gives that state."""
    data = yaml.safe_load((PROJECT_ROOT / "data" / "nlu" / "therapist.yml").read_text())
    examples = next(i for i in data["nlu"] if i["intent"] == "find_therapist")["examples"]
    expected = {
        "i need a therapist in texas that takes aetna": ("TX", "aetna"),
        "looking for a family therapist, we're in phoenix az and have cigna": ("AZ", "cigna"),
        "is there a therapist in ohio that accepts medicaid for my son? he's 9": ("OH", "medicaid"),
        "find me a therapist near 78704 that takes bcbs": ("TX", "bcbs"),
    }
    lines = {line.strip()[2:] for line in examples.splitlines() if line.strip()}
    for text, (state, insurer) in expected.items():
        assert text in lines
        values = read_message(text).values
        assert (values["search_state"], values["search_insurance"]) == (state, insurer), text


@pytest.mark.parametrize(
    ("method", "text", "value"),
    [
        ("email", "jane.doe@example.com", "jane.doe@example.com"),
        ("email", "it's Jane.Doe@Example.com thanks", "Jane.Doe@example.com"),
        ("phone", "(512) 555-0199", "+15125550199"),
        ("phone", "512.867.5309", "+15128675309"),
        ("text", "text me at 202 555 0143", "+12025550143"),
    ],
)
def test_valid_contact_details_are_normalised(method: str, text: str, value: str) -> None:
    assert read_contact(method, text).value == value


@pytest.mark.parametrize(
    ("method", "text", "problem"),
    [
        ("email", "jane at gmail", "not_found"),
        ("email", "jane@", "not_found"),
        ("email", "jane@@example..com", "invalid"),
        ("phone", "call me maybe", "not_found"),
        ("phone", "555-0142", "invalid"),
        ("phone", "123-456-7890", "invalid"),
    ],
)
def test_invalid_contact_details_say_why(method: str, text: str, problem: str) -> None:
    contact = read_contact(method, text)
    assert contact.value is None and contact.problem == problem


def test_contact_method_words() -> None:
    assert read_contact_method("email please") == "email"
    assert read_contact_method("call me") == "phone"
    assert read_contact_method("text me") == "text"
    assert read_contact_method("jane@example.com") == "email"
    assert read_contact_method("whatever") is None


def test_which_therapist_a_request_means() -> None:
    shown = [11, 22, 33]
    assert refers_to("", shown, "22") == 22
    assert refers_to("the second one please", shown) == 22
    assert refers_to("book the first", shown) == 11
    assert refers_to("the last one", shown) == 33
    assert refers_to("i'd like a consultation", shown) is None
    assert refers_to("the first or second", shown) is None
    assert refers_to("her please", [44]) == 44
