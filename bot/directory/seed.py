"""A clearly fictional, deterministic sample directory.

Every profile is generated (names by Faker), marked `is_sample`, has a 555-01xx phone number and an
example.com e-mail, and says in its bio that it is fictional. Real ZIP codes and city names place the
offices so searches by ZIP work. Each state gets a share by its number of ZIP codes, and at least a
minimum, so every state and DC has therapists.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from bot.directory.models import TAG_TABLES, License, Location, Therapist
from bot.directory.vocab import Vocab, get_vocab

MIN_PER_STATE = 12

_LICENSE_WEIGHTS = {"lmft": 20, "lcsw": 24, "psychologist": 20, "lpc": 15, "lmhc": 9, "psychiatrist": 6, "pmhnp": 6}
_POPULATION_P = {"individuals": 0.95, "couples": 0.4, "families": 0.3, "groups": 0.15, "children": 0.25}
_OTHER_LANGUAGES_P = 0.015


@dataclass(frozen=True)
class _Place:
    city: str
    zip: str


def _places_by_state(states: list[str]) -> dict[str, list[_Place]]:
    import zipcodes

    places: dict[str, list[_Place]] = {state: [] for state in states}
    for row in zipcodes.list_all():
        state = str(row["state"])
        if state in places and row.get("zip_code_type") == "STANDARD" and row.get("active"):
            places[state].append(_Place(str(row["city"]).title(), str(row["zip_code"])))
    return places


def _state_counts(total: int, places: dict[str, list[_Place]]) -> dict[str, int]:
    states = sorted(places)
    base = min(MIN_PER_STATE, total // len(states))
    spare = total - base * len(states)
    weight = sum(len(p) for p in places.values()) or 1
    counts = {s: base + spare * len(places[s]) // weight for s in states}
    short = total - sum(counts.values())
    for state in sorted(states, key=lambda s: -len(places[s]))[:short]:
        counts[state] += 1
    return counts


def generate(total: int, *, seed: int = 7, vocab: Vocab | None = None) -> Iterator[dict[str, Any]]:
    """Yield `total` fictional profiles as plain dicts, the same ones for the same seed.

    Args:
        total: Number of profiles.
        seed: Random seed (Faker and the attribute draws).
        vocab: The directory vocabulary.

    Yields:
        One profile per therapist, with its tag lists.
    """
    from faker import Faker

    vocab = vocab or get_vocab()
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    places = _places_by_state(vocab.state_codes)
    specialties = list(vocab.terms("specialties"))
    methods = [m for m in vocab.terms("methods") if m != "attachment_based"]
    insurances = list(vocab.terms("insurances"))
    languages = [code for code in vocab.terms("languages") if code not in ("en", "es")]
    number = 0
    for state, count in _state_counts(total, places).items():
        for _ in range(count):
            number += 1
            roll = rng.random()
            if roll < 0.04:
                gender, name, pronouns = "nonbinary", fake.name_nonbinary(), "they/them"
            elif roll < 0.68:
                gender, name, pronouns = "woman", fake.name_female(), "she/her"
            else:
                gender, name, pronouns = "man", fake.name_male(), "he/him"
            telehealth = rng.random() < 0.75
            in_person = (not telehealth) or rng.random() < 0.75
            licensed = {state}
            neighbours = vocab.neighbours(state)
            if neighbours and rng.random() < 0.3:
                licensed.update(rng.sample(neighbours, k=min(len(neighbours), rng.randint(1, 2))))
            offices = []
            if in_person:
                for _ in range(1 if rng.random() < 0.85 else 2):
                    place = rng.choice(places[state])
                    offices.append({"city": place.city, "state": state, "zip": place.zip})
            pops = [p for p, chance in _POPULATION_P.items() if rng.random() < chance] or ["individuals"]
            spec = rng.sample(specialties, k=rng.randint(3, 6))
            meth = rng.sample(methods, k=rng.randint(1, 3))
            if rng.random() < 0.35:
                meth.insert(0, "attachment_based")
            ins = rng.sample(insurances, k=rng.randint(0, 6))
            langs = ["en"] + (["es"] if rng.random() < 0.18 else [])
            langs += [code for code in languages if rng.random() < _OTHER_LANGUAGES_P]
            fee = rng.randrange(80, 255, 5)
            sliding = rng.random() < 0.35
            license_type = rng.choices(list(_LICENSE_WEIGHTS), weights=list(_LICENSE_WEIGHTS.values()))[0]
            yield {
                "name": name,
                "pronouns": pronouns,
                "gender": gender,
                "license_type": license_type,
                "telehealth": telehealth,
                "in_person": in_person,
                "fee": fee,
                "sliding_scale": sliding,
                "sliding_scale_min": rng.randrange(30, 85, 5) if sliding else None,
                "accepting_new_clients": rng.random() < 0.8,
                "free_consultation": rng.random() < 0.6,
                "bio": (
                    f"Fictional sample profile no. {number}, generated for demonstration; not a real person. "
                    f"Works with {', '.join(vocab.labels('specialties', spec[:3]))}."
                ),
                "phone": f"(555) 555-01{number % 100:02d}",
                "email": f"sample.therapist{number}@example.com",
                "website": "",
                "is_sample": True,
                "licenses": sorted(licensed),
                "locations": offices,
                "populations": pops,
                "specialties": spec,
                "methods": meth,
                "insurances": ins,
                "languages": langs,
            }


def insert_profiles(session: Session, profiles: list[dict[str, Any]]) -> int:
    """Insert profiles (as made by `generate` or the CSV importer) with bulk inserts.

    Returns:
        The number of therapists inserted.
    """
    if not profiles:
        return 0
    start = int(session.execute(select(func.coalesce(func.max(Therapist.id), 0))).scalar_one()) + 1
    columns = [c.name for c in Therapist.__table__.columns if c.name not in ("id", "created_at")]
    rows, licenses, locations = [], [], []
    tags: dict[str, list[dict[str, Any]]] = {group: [] for group in TAG_TABLES}
    for offset, profile in enumerate(profiles):
        therapist_id = start + offset
        rows.append({"id": therapist_id, **{c: profile[c] for c in columns}})
        licenses += [{"therapist_id": therapist_id, "state": s} for s in profile["licenses"]]
        locations += [{"therapist_id": therapist_id, **office} for office in profile["locations"]]
        for group, (_, column) in TAG_TABLES.items():
            tags[group] += [{"therapist_id": therapist_id, column: key} for key in dict.fromkeys(profile[group])]
    session.execute(insert(Therapist), rows)
    session.execute(insert(License), licenses)
    if locations:
        session.execute(insert(Location), locations)
    for group, (model, _) in TAG_TABLES.items():
        if tags[group]:
            session.execute(insert(model), tags[group])
    return len(rows)


def seed(session: Session, total: int = 2000, *, seed_value: int = 7, replace: bool = False, batch: int = 5000) -> int:
    """Fill the directory with the fictional sample.

    Args:
        session: An open session (the caller commits).
        total: Number of therapists.
        seed_value: Random seed.
        replace: Delete existing sample profiles first; otherwise refuse a non-empty directory.
        batch: Profiles per bulk insert.

    Returns:
        Number of therapists inserted.

    Raises:
        ValueError: The directory is not empty and `replace` is false.
    """
    if replace:
        session.execute(delete(Therapist).where(Therapist.is_sample.is_(True)))
    elif session.execute(select(func.count(Therapist.id))).scalar_one():
        raise ValueError("The directory is not empty; use --replace to rebuild the sample.")
    inserted, chunk = 0, []
    for profile in generate(total, seed=seed_value):
        chunk.append(profile)
        if len(chunk) >= batch:
            inserted += insert_profiles(session, chunk)
            chunk = []
    return inserted + insert_profiles(session, chunk)
