"""The fictional sample: deterministic, marked sample, every state and DC covered."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.directory import db
from bot.directory.models import License, Location, Method, Therapist
from bot.directory.seed import generate, seed
from bot.directory.vocab import get_vocab


def test_same_seed_gives_the_same_directory() -> None:
    first = [p["name"] for p in generate(60, seed=3)]
    assert first == [p["name"] for p in generate(60, seed=3)]
    assert first != [p["name"] for p in generate(60, seed=4)]


def test_seed_covers_every_state_and_is_clearly_fictional(directory_url: str) -> None:
    with db.session_scope(directory_url) as session:
        assert seed(session, 2000) == 2000
    with db.session_scope(directory_url) as session:
        assert session.execute(select(func.count(Therapist.id))).scalar_one() == 2000
        assert session.execute(select(func.count()).where(Therapist.is_sample.is_(False))).scalar_one() == 0
        licensed = set(session.execute(select(License.state).distinct()).scalars())
        assert licensed == set(get_vocab().state_codes)
        assert len(licensed) == 51
        offices = set(session.execute(select(Location.state).distinct()).scalars())
        assert offices == licensed
        attachment = session.execute(select(func.count()).where(Method.method == "attachment_based")).scalar_one()
        assert 400 < attachment < 1000
        for therapist in session.execute(select(Therapist).limit(50)).scalars():
            assert "Fictional sample profile" in therapist.bio
            assert therapist.email.endswith("@example.com")
            assert "555-01" in therapist.phone
            assert {o.state for o in therapist.locations} <= {lic.state for lic in therapist.licenses}


def test_seed_refuses_a_non_empty_directory_unless_replacing(directory_url: str) -> None:
    with db.session_scope(directory_url) as session:
        seed(session, 100)
    with db.session_scope(directory_url) as session:
        try:
            seed(session, 100)
        except ValueError as exc:
            assert "not empty" in str(exc)
        else:
            raise AssertionError("seeding a non-empty directory must fail")
    with db.session_scope(directory_url) as session:
        assert seed(session, 120, replace=True) == 120
    with db.session_scope(directory_url) as session:
        assert session.execute(select(func.count(Therapist.id))).scalar_one() == 120
