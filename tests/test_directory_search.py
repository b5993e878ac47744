"""Queries and ranking on a small fixed directory, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from bot.directory import db
from bot.directory.search import ANY_METHOD, Criteria, count, search, widenings
from bot.directory.seed import insert_profiles
from tests.conftest import profile

# name -> overrides; Ohio unless said otherwise.
FIXED: dict[str, dict[str, Any]] = {
    "Attached Accepting InNetwork": {"insurances": ["cigna"], "specialties": ["anxiety"]},
    "Attached Accepting OutOfNetwork TwoNeeds": {"insurances": ["aetna"], "specialties": ["anxiety", "grief"]},
    "Attached Waitlist InNetwork": {"accepting_new_clients": False, "insurances": ["cigna"]},
    "Not Attachment": {"methods": ["cbt"], "insurances": ["cigna"], "specialties": ["anxiety", "grief"]},
    "Online Only Ohio": {"in_person": False, "locations": [], "languages": ["en", "es"], "gender": "woman"},
    "Online Licensed Elsewhere": {"in_person": False, "locations": [], "licenses": ["PA"]},
    "Office In Pennsylvania": {
        "telehealth": False,
        "licenses": ["PA"],
        "locations": [{"city": "Pittsburgh", "state": "PA", "zip": "15213"}],
    },
    "Couples Only": {"populations": ["couples"], "fee": 200},
    "Cheap Sliding": {"fee": 180, "sliding_scale": True, "sliding_scale_min": 50, "insurances": []},
    "Local Zip": {"locations": [{"city": "Cleveland", "state": "OH", "zip": "44113"}], "license_type": "psychologist"},
}


@pytest.fixture()
def fixed(directory_url: str) -> str:
    with db.session_scope(directory_url) as session:
        insert_profiles(session, [profile(name=name, **overrides) for name, overrides in FIXED.items()])
    return directory_url


def _names(url: str, criteria: Criteria, limit: int = 20, offset: int = 0) -> list[str]:
    with db.session_scope(url) as session:
        return [m.therapist.name for m in search(session, criteria=criteria, limit=limit, offset=offset).matches]


def test_ranking_attachment_then_accepting_then_in_network_then_needs(fixed: str) -> None:
    criteria = Criteria(
        state="OH", insurance="cigna", needs=("anxiety", "grief"), method=ANY_METHOD, population="individuals"
    )
    names = _names(fixed, criteria)
    assert names.index("Attached Accepting InNetwork") < names.index("Attached Accepting OutOfNetwork TwoNeeds")
    assert names.index("Attached Accepting OutOfNetwork TwoNeeds") < names.index("Attached Waitlist InNetwork")
    assert names.index("Attached Waitlist InNetwork") < names.index("Not Attachment")
    assert names[-1] == "Not Attachment"


def test_needs_overlap_breaks_ties(fixed: str) -> None:
    names = _names(fixed, Criteria(state="OH", needs=("anxiety", "grief"), population="individuals"))
    assert names[0] == "Attached Accepting OutOfNetwork TwoNeeds"


def test_attachment_based_is_the_default_method_filter(fixed: str) -> None:
    assert "Not Attachment" not in _names(fixed, Criteria(state="OH"))
    assert "Not Attachment" in _names(fixed, Criteria(state="OH", method=ANY_METHOD))


def test_online_only_matches_therapists_licensed_in_the_users_state(fixed: str) -> None:
    online = _names(fixed, Criteria(state="OH", format="telehealth"))
    assert "Online Only Ohio" in online
    assert "Online Licensed Elsewhere" not in online
    assert "Office In Pennsylvania" not in online
    assert "Online Licensed Elsewhere" in _names(fixed, Criteria(state="PA", format="telehealth"))


def test_in_person_needs_an_office_in_the_state(fixed: str) -> None:
    in_person = _names(fixed, Criteria(state="OH", format="in_person"))
    assert "Online Only Ohio" not in in_person
    assert "Office In Pennsylvania" not in in_person
    assert _names(fixed, Criteria(state="PA", format="in_person")) == ["Office In Pennsylvania"]


def test_population_budget_and_preferences_filter(fixed: str) -> None:
    assert _names(fixed, Criteria(state="OH", population="couples")) == ["Couples Only"]
    cheap = _names(fixed, Criteria(state="OH", budget=100))
    assert "Cheap Sliding" in cheap and "Couples Only" not in cheap
    assert _names(fixed, Criteria(state="OH", language="es")) == ["Online Only Ohio"]
    assert _names(fixed, Criteria(state="OH", gender="woman")) == ["Online Only Ohio"]
    assert _names(fixed, Criteria(state="OH", license_type="psychologist")) == ["Local Zip"]


def test_an_office_in_the_users_zip_ranks_first_among_equals(fixed: str) -> None:
    names = _names(fixed, Criteria(state="OH", zip="44113"))
    assert names[0] == "Local Zip"


def test_pages_do_not_overlap_and_total_counts_all(fixed: str) -> None:
    criteria = Criteria(state="OH", method=ANY_METHOD)
    first, second = _names(fixed, criteria, limit=3), _names(fixed, criteria, limit=3, offset=3)
    assert len(first) == 3 and not set(first) & set(second)
    with db.session_scope(fixed) as session:
        page = search(session, criteria=criteria, limit=3)
        assert page.total == count(session, criteria=criteria) == 8


def test_no_match_offers_the_widenings_that_find_someone(fixed: str) -> None:
    criteria = Criteria(state="OH", format="in_person", language="es")
    assert _names(fixed, criteria) == []
    with db.session_scope(fixed) as session:
        options = {w.key: w.count for w in widenings(session, criteria=criteria, neighbours=["PA", "IN"])}
    assert options["online"] == 1
    assert options["language"] >= 5
    assert "method" not in options  # other methods would not help: nobody else speaks Spanish


def test_neighbouring_states_widen_in_person_searches(fixed: str) -> None:
    criteria = Criteria(state="WV", format="in_person")
    with db.session_scope(fixed) as session:
        options = {w.key: w for w in widenings(session, criteria=criteria, neighbours=["OH", "PA"])}
        assert options["neighbours"].count >= 1
        names = [m.therapist.name for m in search(session, criteria=options["neighbours"].criteria, limit=20).matches]
    assert "Office In Pennsylvania" in names


def test_criteria_reject_values_that_would_match_nothing() -> None:
    with pytest.raises(ValueError):
        Criteria(state="Ohio")
    with pytest.raises(ValueError):
        Criteria(state="OH", format="video")


def test_when_no_single_change_helps_the_changes_are_combined_in_order(fixed: str) -> None:
    criteria = Criteria(state="OH", format="in_person", language="es", gender="man")
    with db.session_scope(fixed) as session:
        (option,) = widenings(session, criteria=criteria, neighbours=["PA"])
        assert option.key == "online+language+gender"
        assert option.count == count(session, criteria=option.criteria) > 0
        assert (
            option.criteria.format == "either" and option.criteria.language is None and option.criteria.gender is None
        )
