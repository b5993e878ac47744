"""Reading the therapist search's answers from what people type.

`read_message` finds every search detail in one message ("a therapist in Ohio who takes Cigna"),
and reads the one question that was asked more generously ("either", "just me", "none" only mean
something as answers). It also notices requests to change an earlier answer ("change my insurance").
Contact details for a consultation request are checked with phonenumbers and email-validator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.directory.vocab import Vocab, city_states, get_vocab, zip_place, zips_in

# The form's slots, in the order they are asked.
SLOTS = ("search_state", "search_insurance", "search_needs", "search_format", "search_for", "search_preferences")
ANY_NEED = "any"
SELF_PAY = "self_pay"
UNSURE = "unsure"

_CHANGE = re.compile(r"\b(change|edit|update|fix|correct|wrong|different|another|redo)\b", re.I)
_FIELD_WORDS = {
    "search_state": re.compile(r"\b(state|location|zip|zip code|where|city|place|address)\b", re.I),
    "search_insurance": re.compile(r"\b(insurance|insurer|plan|coverage|payment|budget|pay)\b", re.I),
    "search_needs": re.compile(r"\b(need|needs|help with|issue|issues|topic|reason|problem|focus)\b", re.I),
    "search_format": re.compile(r"\b(format|online|in person|in-person|video|telehealth|office)\b", re.I),
    "search_for": re.compile(r"\b(who|for whom|couple|family|child|kid|for me)\b", re.I),
    "search_preferences": re.compile(r"\b(preference|preferences|language|gender|license)\b", re.I),
}
_MONEY = re.compile(r"\$\s?(\d{2,4})|(\d{2,4})\s?(?:dollars|bucks|usd|\$|a session|per session|/session|each)", re.I)
_BUDGET_CONTEXT = re.compile(r"\b(budget|afford|up to|max|maximum|under|less than|at most|around|about|pay)\b", re.I)
_PLACE_AFTER = re.compile(
    r"\b(?:in|near|around|from|live in|based in)\s+([a-z][a-z .'-]{2,40}?)"
    r"(?=\s+(?:who|that|which|and|with|for|taking|accepting)\b|[,.!?]|$)",
    re.I,
)
_GENDER_CONTEXT = re.compile(r"^\s*(?:therapist|counselor|counsellor|clinician|provider|one)\b", re.I)


@dataclass
class Reading:
    """What one message says about the search."""

    values: dict[str, Any] = field(default_factory=dict)
    cleared: list[str] = field(default_factory=list)
    place: dict[str, str] = field(default_factory=dict)
    method: str | None = None

    def answered(self, slot: str | None) -> bool:
        """True if the message gives a value for `slot`."""
        return slot is not None and self.values.get(slot) is not None


def plain_text(text: str) -> str:
    """The text with what cannot be UTF-8 (lone surrogates, from a client's JSON) replaced by "?"."""
    return text.encode("utf-8", "replace").decode("utf-8")


def read_message(text: str, asked: str | None = None, vocab: Vocab | None = None) -> Reading:
    """Read every search detail in a message.

    Args:
        text: The user's message.
        asked: The slot whose question the message answers, if any.
        vocab: The directory vocabulary.

    Returns:
        The values found (slot -> value), answers to change, and the place (city, ZIP) if given.
    """
    vocab = vocab or get_vocab()
    reading = Reading()
    text = " ".join(plain_text(text).split())[:500]
    if not text:
        return reading
    doc = vocab.doc(text)
    _read_place(text, doc, asked, vocab, reading)
    _read_insurance(text, doc, asked, vocab, reading)
    needs = vocab.keys_in(doc, "specialties")
    if needs:
        reading.values["search_needs"] = needs
    elif (
        asked == "search_needs"
        and vocab.find(doc, "no_preference")
        or (
            asked == "search_needs"
            and vocab.find(doc, "insurance_answers")
            and "unsure" in vocab.keys_in(doc, "insurance_answers")
        )
    ):
        reading.values["search_needs"] = [ANY_NEED]
    formats = [f for f in vocab.keys_in(doc, "formats") if asked == "search_format" or f != "either"]
    if len(formats) > 1 or "either" in formats:
        reading.values["search_format"] = "either"
    elif formats:
        reading.values["search_format"] = formats[0]
    populations = [p for p in vocab.keys_in(doc, "populations") if asked == "search_for" or p != "individuals"]
    if populations:
        reading.values["search_for"] = populations[0]
    _read_preferences(text, doc, asked, vocab, reading)
    methods = vocab.keys_in(doc, "methods")
    if methods:
        reading.method = methods[0]
    if re.search(
        r"\b(any|other|all|every|different) (treatment |therapy )?(method|methods|approach|approaches|kind)\b",
        text,
        re.I,
    ):
        reading.method = "any"
    if _CHANGE.search(text):
        for slot, words in _FIELD_WORDS.items():
            if words.search(text) and slot not in reading.values:
                reading.cleared.append(slot)
    return reading


def _read_place(text: str, doc: Any, asked: str | None, vocab: Vocab, reading: Reading) -> None:
    for zip_code in zips_in(text):
        place = zip_place(zip_code)
        if place:
            reading.values["search_state"] = place[0]
            reading.place = {"zip": zip_code, "city": place[1]}
            return
    states = vocab.states_in(text, doc, as_answer=asked == "search_state")
    candidates = [m.group(1).strip() for m in _PLACE_AFTER.finditer(text)]
    if asked == "search_state":
        candidates.append(
            re.sub(r"^(i'?m|i am|we'?re|live|living|based)\s+(in\s+)?", "", text.strip(" .!"), flags=re.I)
        )
    if states:
        reading.values["search_state"] = states[0]
        for candidate in candidates:
            city = re.split(r",|\s+(?=[A-Za-z]{2}$)", candidate)[0].strip()
            if city and states[0] in city_states(city):
                reading.place = {"city": city.title()}
        return
    for candidate in candidates:
        found = city_states(candidate)
        if len(found) == 1:
            reading.values["search_state"] = next(iter(found))
            reading.place = {"city": candidate.title()}
            return


def _read_insurance(text: str, doc: Any, asked: str | None, vocab: Vocab, reading: Reading) -> None:
    payors = vocab.keys_in(doc, "insurances")
    answers = vocab.keys_in(doc, "insurance_answers")
    if payors:
        reading.values["search_insurance"] = payors[0]
    elif "self_pay" in answers:
        reading.values["search_insurance"] = SELF_PAY
    elif asked == "search_insurance" and "unsure" in answers:
        reading.values["search_insurance"] = UNSURE
    if reading.values.get("search_insurance") == SELF_PAY or asked == "search_insurance":
        budget = _budget(text)
        if budget is not None:
            reading.values.setdefault("search_insurance", SELF_PAY)
            reading.values["search_budget"] = budget


def _budget(text: str) -> int | None:
    for match in _MONEY.finditer(text):
        return int(match.group(1) or match.group(2))
    if _BUDGET_CONTEXT.search(text):
        numbers = [int(n) for n in re.findall(r"(?<![\d-])(\d{2,3})(?![\d-])", text)]
        if numbers:
            return numbers[0]
    return None


def _read_preferences(text: str, doc: Any, asked: str | None, vocab: Vocab, reading: Reading) -> None:
    prefs: dict[str, str] = {}
    languages = [code for code in vocab.keys_in(doc, "languages") if code != "en" or asked == "search_preferences"]
    if languages:
        prefs["language"] = languages[0]
    for hit in vocab.find(doc, "genders"):
        follows = doc[hit.end :].text
        if (
            asked == "search_preferences"
            or "therapist" in doc[hit.start : hit.end].text
            or _GENDER_CONTEXT.match(follows)
        ):
            prefs["gender"] = hit.key
            break
    licenses = vocab.keys_in(doc, "license_types")
    if licenses:
        prefs["license_type"] = licenses[0]
    if prefs:
        reading.values["search_preferences"] = prefs
    elif asked == "search_preferences" and vocab.find(doc, "no_preference"):
        reading.values["search_preferences"] = {}


@dataclass(frozen=True)
class Contact:
    """A checked contact detail, or why it is not usable."""

    value: str | None
    problem: str | None = None


def read_contact_method(text: str, vocab: Vocab | None = None) -> str | None:
    """email, phone or text, from the user's words; None if unclear."""
    vocab = vocab or get_vocab()
    keys = vocab.keys_in(vocab.doc(plain_text(text)), "contact_methods")
    if "@" in text:
        return "email"
    return keys[0] if len(keys) == 1 else None


def read_contact(method: str, text: str) -> Contact:
    """Check a phone number (US) or an e-mail address.

    Args:
        method: "email", "phone" or "text".
        text: What the user typed.

    Returns:
        The normalised value (E.164 phone number or e-mail), or why there is none:
        "not_found" (nothing that looks like one) or "invalid".
    """
    text = text.strip()
    if method == "email":
        from email_validator import EmailNotValidError, validate_email

        found = re.search(r"[^\s<>\"',;]+@[^\s<>\"',;]+", text)
        if not found:
            return Contact(None, "not_found")
        try:
            return Contact(validate_email(found.group(0).rstrip("."), check_deliverability=False).normalized)
        except EmailNotValidError:
            return Contact(None, "invalid")
    import phonenumbers

    matches = list(phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.POSSIBLE))
    if not matches:
        return Contact(None, "not_found" if not re.search(r"\d{3}", text) else "invalid")
    number = matches[0].number
    if not phonenumbers.is_possible_number(number) or (
        not phonenumbers.is_valid_number(number) and not _is_fictional_us(number)
    ):
        return Contact(None, "invalid")
    return Contact(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _is_fictional_us(number: Any) -> bool:
    """555-0100 to 555-0199 are reserved for fiction and tests; accept them so demos work."""
    national = str(number.national_number)
    return number.country_code == 1 and len(national) == 10 and national[3:6] == "555" and national[6:8] == "01"


_ORDINALS = {
    "first": 0,
    "1st": 0,
    "top": 0,
    "#1": 0,
    "second": 1,
    "2nd": 1,
    "two": 1,
    "#2": 1,
    "middle": 1,
    "third": 2,
    "3rd": 2,
    "three": 2,
    "#3": 2,
    "last": -1,
}


def refers_to(text: str, shown: list[int], therapist_id: str | None = None) -> int | None:
    """Which therapist a consultation request means.

    Args:
        text: The message ("the second one").
        shown: Ids of the results on screen, in order.
        therapist_id: The id from a button's payload, if any.

    Returns:
        The therapist id, or None when it is not clear.
    """
    if therapist_id and therapist_id.strip().isdigit():
        return int(therapist_id)
    if not shown:
        return None
    words = re.findall(r"#?\w+", text.lower())
    picks = {_ORDINALS[w] for w in words if w in _ORDINALS}
    if len(picks) == 1:
        index = picks.pop()
        if -len(shown) <= index < len(shown):
            return shown[index]
    if len(shown) == 1 and re.search(r"\b(her|him|them|this one|that one|this therapist)\b", text.lower()):
        return shown[0]
    return None
