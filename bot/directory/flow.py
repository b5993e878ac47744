"""The therapist search as plain functions over slot values (the Rasa actions are thin adapters).

`apply_answer` turns one message into slot updates and the responses to send; `criteria_from_slots`
builds the query; `present` and `explain_no_match` turn results into messages. Wording comes from
`wording.yml` and the domain's responses.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.dialogue.interrupts import ASIDE, get_interrupts
from bot.directory.search import ANY_METHOD, ATTACHMENT, Criteria, Match, Page, Widening
from bot.directory.understand import ANY_NEED, SELF_PAY, SLOTS, UNSURE, Reading, read_message
from bot.directory.vocab import Vocab, get_vocab

WORDING_FILE = Path(__file__).with_name("wording.yml")
PAGE_SIZE = 3
# Slot values that stay when a search starts again (set by `start_values`).
EXTRA_SLOTS = (
    "search_budget",
    "search_city",
    "search_zip",
    "search_method",
    "search_nearby",
    "search_page",
    "search_shown",
    "search_stopped",
)
_OVERRIDE = re.compile(r"\b(actually|instead|now|change|changed|update|rather|sorry|oops|wrong|correction)\b", re.I)


@lru_cache(maxsize=1)
def get_wording() -> dict[str, Any]:
    """The flow's wording (cards, explanations, widening labels), loaded on first use."""
    data: dict[str, Any] = yaml.safe_load(WORDING_FILE.read_text(encoding="utf-8"))
    return data


@dataclass
class Step:
    """What one message does to the search."""

    updates: dict[str, Any] = field(default_factory=dict)
    responses: list[str] = field(default_factory=list)


def _place_updates(reading: Reading) -> dict[str, Any]:
    if "search_state" not in reading.values:
        return {}
    return {"search_city": reading.place.get("city"), "search_zip": reading.place.get("zip")}


def start_values(text: str, vocab: Vocab | None = None) -> dict[str, Any]:
    """Slot values for a new search, with whatever the opening message already says.

    Args:
        text: The message that asked for a therapist ("find me a therapist in Ohio who takes Cigna").
        vocab: The directory vocabulary.

    Returns:
        Every search slot: the ones the message fills, None for the others.
    """
    reading = read_message(text, None, vocab)
    values: dict[str, Any] = {slot: None for slot in (*SLOTS, *EXTRA_SLOTS)}
    values.update(reading.values)
    values.update(_place_updates(reading))
    values["search_method"] = reading.method or ATTACHMENT
    values["search_page"] = 0
    values["search_shown"] = []
    values["search_nearby"] = False
    values["search_stopped"] = False
    return values


def is_question_aside(text: str, intent: str | None, confidence: float) -> bool:
    """True when a message in the middle of the search is a question to answer, not an answer.

    "What is attachment-based therapy?" is a question; "anxiety" or "attachment issues i guess" are
    answers even when the intent classifier calls them questions about attachment.
    """
    return get_interrupts().classify(text, intent, confidence) == ASIDE


_CONTROLS = {"leave": "stop", "start_over": "start_over"}


def control_of(step: Step, asked: str, text: str, intent: str | None, confidence: float) -> str | None:
    """Return "stop" or "start_over" when a message that is not an answer asks for it.

    An answer always wins: "New York" is a state even if the intent classifier hears "start new";
    and the message must say so itself: "the one from my work" is an unclear answer, not a
    request to start over, whatever the classifier thinks (see bot/dialogue/interrupts.yml).
    """
    if step.updates.get(asked) is not None:
        return None
    return _CONTROLS.get(get_interrupts().classify(text, intent, confidence) or "")


def is_confident_control(confidence: float) -> bool:
    """Whether an intent is confident enough to act on as a request inside the search."""
    return confidence >= get_interrupts().control_confidence


def apply_answer(filled: dict[str, Any], text: str, asked: str, vocab: Vocab | None = None) -> Step:
    """Apply the answer to the question for `asked`.

    The asked slot takes what the message says about it. Other details in the same message fill
    empty slots, and replace earlier answers only when the message says so ("actually, Ohio").
    "Change my insurance" empties that answer so the form asks it again. An unclear answer leaves
    the slot empty (the form asks again) with a re-ask that gives examples.

    Args:
        filled: Current values of the search slots.
        text: The user's message.
        asked: The slot the form asked for.
        vocab: The directory vocabulary.

    Returns:
        Slot updates and the names of responses to send first.
    """
    reading = read_message(text, asked, vocab)
    step = Step()
    overriding = bool(_OVERRIDE.search(text))
    for slot, value in reading.values.items():
        if slot == asked or slot == "search_budget" or filled.get(slot) is None or overriding:
            step.updates[slot] = value
    if "search_state" in step.updates:
        step.updates.update(_place_updates(reading))
    if reading.method:
        step.updates["search_method"] = reading.method
    for slot in reading.cleared:
        if slot not in step.updates:
            step.updates[slot] = None
            if slot == "search_insurance":
                step.updates["search_budget"] = None
    if reading.cleared and not reading.answered(asked):
        step.updates[asked] = filled.get(asked)
        step.responses.append("utter_search_changing")
    elif not reading.answered(asked):
        step.updates[asked] = None
        step.responses.append(f"utter_search_reask_{asked.removeprefix('search_')}")
    return step


def criteria_from_slots(slots: dict[str, Any], vocab: Vocab | None = None) -> Criteria:
    """The query for the current slot values (the form guarantees the state is set)."""
    vocab = vocab or get_vocab()
    state = str(slots["search_state"])
    prefs = slots.get("search_preferences") or {}
    needs = tuple(n for n in slots.get("search_needs") or () if n != ANY_NEED)
    insurance = slots.get("search_insurance")
    return Criteria(
        state=state,
        format=str(slots.get("search_format") or "either"),
        population=slots.get("search_for"),
        needs=needs,
        insurance=None if insurance in (None, SELF_PAY, UNSURE) else str(insurance),
        budget=slots.get("search_budget") if insurance == SELF_PAY else None,
        method=str(slots.get("search_method") or ATTACHMENT),
        language=prefs.get("language"),
        gender=prefs.get("gender"),
        license_type=prefs.get("license_type"),
        city=slots.get("search_city"),
        zip=slots.get("search_zip"),
        office_states=(state, *vocab.neighbours(state)) if slots.get("search_nearby") else (),
    )


def describe(criteria: Criteria, vocab: Vocab | None = None) -> str:
    """The search in words, for "I looked for ..." sentences."""
    vocab = vocab or get_vocab()
    words = get_wording()["describe"]
    parts = [words["format"][criteria.format].format(state=vocab.label("states", criteria.state))]
    if criteria.population:
        parts.append(words["population"].format(who=vocab.label("populations", criteria.population)))
    if criteria.method != ANY_METHOD:
        parts.append(words["method"].format(method=vocab.label("methods", criteria.method)))
    if criteria.budget is not None:
        parts.append(words["budget"].format(budget=criteria.budget))
    for name, group in (("language", "languages"), ("gender", "genders"), ("license_type", "license_types")):
        value = getattr(criteria, name)
        if value:
            parts.append(words[name].format(value=vocab.label(group, value)))
    return ", ".join(parts)


def card(match: Match, criteria: Criteria, vocab: Vocab | None = None) -> dict[str, Any]:
    """One therapist as a card: structured fields for the widget and a compact text for every channel."""
    vocab = vocab or get_vocab()
    words = get_wording()["card"]
    t = match.therapist
    license_short = str(vocab.terms("license_types")[t.license_type]["short"])
    where = []
    if t.in_person and t.locations:
        offices = [f"{loc.city}, {loc.state}" for loc in t.locations if loc.state in criteria.in_person_states]
        if offices:
            where.append(words["in_person"].format(places="; ".join(offices)))
    if t.telehealth and any(lic.state == criteria.state for lic in t.licenses):
        where.append(words["online"].format(state=vocab.label("states", criteria.state)))
    insurance_names = vocab.labels("insurances", [i.insurance for i in t.insurances])
    if criteria.insurance:
        label = vocab.label("insurances", criteria.insurance)
        insurance = words["in_network" if match.in_network else "out_of_network"].format(insurance=label)
    else:
        insurance = words["insurances"].format(names=", ".join(insurance_names) if insurance_names else words["none"])
    fee = words["fee"].format(fee=t.fee) if t.fee is not None else words["fee_unknown"]
    if t.sliding_scale:
        fee += words["sliding"].format(minimum=t.sliding_scale_min) if t.sliding_scale_min else words["sliding_plain"]
    specialties = vocab.labels("specialties", [s.specialty for s in t.specialties])
    methods = vocab.labels("methods", [m.method for m in t.methods])
    lines = [
        words["title"].format(name=t.name, license=license_short, pronouns=t.pronouns),
        " · ".join(where),
        insurance,
        words["specialties"].format(names=", ".join(specialties)),
        words["methods"].format(names=", ".join(methods)),
        fee,
        words["consultation_yes" if t.free_consultation else "consultation_no"],
        words["accepting_yes" if t.accepting_new_clients else "accepting_no"],
    ]
    if t.is_sample:
        lines.append(words["sample"])
    return {
        "id": t.id,
        "name": t.name,
        "credentials": license_short,
        "pronouns": t.pronouns,
        "where": where,
        "insurance": insurance,
        "specialties": specialties,
        "needs_matched": vocab.labels("specialties", match.needs_matched),
        "methods": methods,
        "fee": fee,
        "free_consultation": t.free_consultation,
        "accepting_new_clients": t.accepting_new_clients,
        "sample": t.is_sample,
        "text": "\n".join(line for line in lines if line),
    }


@dataclass
class Presentation:
    """Messages for one page of results."""

    texts: list[str]
    cards: list[dict[str, Any]]
    buttons: list[dict[str, str]]
    shown: list[int]


def present(page: Page, criteria: Criteria, vocab: Vocab | None = None) -> Presentation:
    """Turn a page of results into messages and buttons."""
    vocab = vocab or get_vocab()
    words = get_wording()["results"]
    cards = [card(match, criteria, vocab) for match in page.matches]
    first, last = page.offset + 1, page.offset + len(cards)
    texts = [words["header"].format(total=page.total, first=first, last=last, search=describe(criteria, vocab))]
    if any(c["sample"] for c in cards):
        texts.append(words["sample_note"])
    if criteria.insurance and not any(m.in_network for m in page.matches):
        texts.append(words["none_in_network"].format(insurance=vocab.label("insurances", criteria.insurance)))
    buttons = [
        {
            "title": words["consult_button"].format(name=c["name"]),
            "payload": f'/request_consultation{{"therapist_id": "{c["id"]}"}}',
        }
        for c in cards
    ]
    if last < page.total:
        buttons.append({"title": words["more_button"], "payload": "/more_results"})
    buttons.append({"title": words["refine_button"], "payload": "/refine_search"})
    if criteria.method != ANY_METHOD:
        buttons.append({"title": words["widen_method_button"], "payload": '/refine_search{"widen": "method"}'})
    return Presentation(texts=texts, cards=cards, buttons=buttons, shown=[c["id"] for c in cards])


def explain_no_match(
    criteria: Criteria, options: list[Widening], vocab: Vocab | None = None
) -> tuple[str, list[dict[str, str]]]:
    """Why nothing matched, and buttons for the nearest widenings that do find someone."""
    vocab = vocab or get_vocab()
    words = get_wording()["no_match"]
    text = words["text"].format(search=describe(criteria, vocab))
    labels = words["widen"]
    buttons = []
    for option in options[:3]:
        detail: dict[str, Any] = {"count": option.count}
        if "neighbours" in option.key.split("+"):
            detail["states"] = ", ".join(vocab.label("states", s) for s in option.detail["states"])
        if "+" in option.key:
            parts = [words["widen_short"][key].format(**detail) for key in option.key.split("+")]
            detail["parts"] = ", ".join(parts)
            labels = {**labels, option.key: words["combined"]}
        buttons.append(
            {"title": labels[option.key].format(**detail), "payload": f'/refine_search{{"widen": "{option.key}"}}'}
        )
    if not buttons:
        text += " " + words["nothing_nearby"]
    buttons.append({"title": words["refine_button"], "payload": "/refine_search"})
    return text, buttons


def widen_updates(key: str, slots: dict[str, Any], vocab: Vocab | None = None) -> dict[str, Any]:
    """Slot updates that apply a widening to the search (see `search.widenings`; "a+b" applies both)."""
    if "+" in key:
        updates: dict[str, Any] = {}
        for part in key.split("+"):
            changed = widen_updates(part, {**slots, **updates}, vocab)
            updates.update(changed)
        return updates
    prefs = dict(slots.get("search_preferences") or {})
    if key == "online":
        return {"search_format": "either"}
    if key == "budget":
        return {"search_budget": None}
    if key in ("language", "gender", "license_type"):
        prefs.pop(key, None)
        return {"search_preferences": prefs}
    if key == "method":
        return {"search_method": ANY_METHOD}
    if key == "neighbours" and slots.get("search_state"):
        return {"search_nearby": True}
    return {}


def conversation_ref(sender_id: str) -> str:
    """A stable reference for a conversation that does not reveal the sender id."""
    return hashlib.sha256(f"referral:{sender_id}".encode()).hexdigest()[:32]
