"""The directory's controlled vocabulary (vocab.yml) and a spaCy PhraseMatcher over its aliases.

Loaded once, on first use, through `get_vocab()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from spacy.matcher import PhraseMatcher
    from spacy.tokens import Doc

VOCAB_FILE = Path(__file__).with_name("vocab.yml")

# Categories whose keys are stored in the directory, in the order filters are described.
TERM_GROUPS = (
    "license_types",
    "populations",
    "specialties",
    "methods",
    "insurances",
    "formats",
    "languages",
    "genders",
)
# Two-letter codes that are also everyday words: only read as a state when typed in capitals
# or when they are the whole answer.
AMBIGUOUS_CODES = frozenset(
    {
        "IN",
        "OR",
        "ME",
        "OH",
        "HI",
        "OK",
        "DE",
        "CO",
        "LA",
        "MA",
        "AL",
        "AR",
        "ID",
        "GA",
        "MD",
        "MS",
        "PA",
        "MT",
        "WA",
        "VA",
        "MI",
        "NE",
        "CT",
        "ND",
        "SD",
        "IA",
    }
)
_ALWAYS_WORDS = frozenset({"OK", "ME", "IN", "OR", "HI", "OH"})


@dataclass(frozen=True)
class Hit:
    """One vocabulary term found in a text."""

    group: str
    key: str
    start: int
    end: int


@dataclass
class Vocab:
    """Terms, labels and aliases of every directory filter."""

    data: dict[str, Any]
    _matchers: dict[str, PhraseMatcher] = field(default_factory=dict, repr=False)

    def terms(self, group: str) -> dict[str, dict[str, Any]]:
        """The terms of one group (key -> attributes)."""
        return dict(self.data[group])

    def label(self, group: str, key: str) -> str:
        """What users see for a stored key."""
        if group == "states":
            return str(self.data["states"][key]["name"])
        return str(self.data[group][key]["label"])

    def labels(self, group: str, keys: Iterable[str]) -> list[str]:
        """Labels of several keys, in vocabulary order."""
        wanted = set(keys)
        return [self.label(group, key) for key in self.data[group] if key in wanted]

    @cached_property
    def state_codes(self) -> list[str]:
        """The 50 states and DC, as postal codes."""
        return list(self.data["states"])

    def neighbours(self, state: str) -> list[str]:
        """States sharing a border with `state`."""
        return list(self.data["states"][state].get("neighbours") or [])

    def _nlp(self) -> Any:
        from bot.nlp import load

        return load()

    def _matcher(self, group: str) -> PhraseMatcher:
        if group not in self._matchers:
            from spacy.matcher import PhraseMatcher

            nlp = self._nlp()
            matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
            for key, aliases in self._aliases(group).items():
                matcher.add(key, [nlp.make_doc(alias) for alias in aliases])
            self._matchers[group] = matcher
        return self._matchers[group]

    def _aliases(self, group: str) -> dict[str, list[str]]:
        if group == "states":
            return {
                code: [str(info["name"]).lower(), *[str(a) for a in info.get("aliases") or []]]
                for code, info in self.data["states"].items()
            }
        if group in ("insurance_answers", "contact_methods"):
            return {key: [str(a) for a in aliases] for key, aliases in self.data[group].items()}
        if group == "no_preference":
            return {"none": [str(a) for a in self.data["no_preference"]]}
        return {key: [str(a) for a in info.get("aliases") or []] for key, info in self.data[group].items()}

    def doc(self, text: str) -> Doc:
        """Tokenise `text` (no tagging: the phrase lists are matched on lower-case words)."""
        return self._nlp().make_doc(text)

    def find(self, doc: Doc, group: str) -> list[Hit]:
        """Terms of one group in a tokenised text; overlapping matches keep the longest."""
        from spacy.util import filter_spans

        matches = self._matcher(group)(doc)
        keep = {(span.start, span.end) for span in filter_spans([doc[start:end] for _, start, end in matches])}
        hits = {
            (start, end): Hit(group, doc.vocab.strings[match_id], start, end)
            for match_id, start, end in matches
            if (start, end) in keep
        }
        return sorted(hits.values(), key=lambda hit: hit.start)

    def keys_in(self, doc: Doc, group: str) -> list[str]:
        """Distinct keys of one group found in a text, in order of appearance."""
        return list(dict.fromkeys(hit.key for hit in self.find(doc, group)))

    def states_in(self, text: str, doc: Doc, *, as_answer: bool = False) -> list[str]:
        """US states named in a text: full names anywhere, postal codes when unambiguous.

        Args:
            text: The message.
            doc: The message, tokenised.
            as_answer: The message answers "which state?", so a bare code ("in", "ok") is a state.
        """
        found = [hit.key for hit in self.find(doc, "states")]
        whole = text.strip().strip(".!").upper()
        if as_answer and whole in self.data["states"]:
            return [whole]
        for token in doc:
            code = token.text.upper()
            if len(token.text) != 2 or code not in self.data["states"]:
                continue
            typed_upper = token.text.isupper()
            if code in _ALWAYS_WORDS:
                continue
            if code in AMBIGUOUS_CODES and not typed_upper:
                continue
            found.append(code)
        return list(dict.fromkeys(found))


@lru_cache(maxsize=1)
def get_vocab() -> Vocab:
    """The vocabulary, loaded on first use."""
    return Vocab(yaml.safe_load(VOCAB_FILE.read_text(encoding="utf-8")))


_ZIP = re.compile(r"(?<![\d-])(\d{5})(?:-\d{4})?(?![\d-])")


def zips_in(text: str) -> list[str]:
    """Five-digit numbers in a text that could be ZIP codes."""
    return _ZIP.findall(text)


@lru_cache(maxsize=4096)
def zip_place(zip_code: str) -> tuple[str, str] | None:
    """(state, city) of a US ZIP code, from the offline `zipcodes` data; None if unknown."""
    import zipcodes

    try:
        matches = zipcodes.matching(zip_code)
    except (ValueError, TypeError):
        return None
    if not matches:
        return None
    return str(matches[0]["state"]), str(matches[0]["city"]).title()


@lru_cache(maxsize=1)
def _city_states() -> dict[str, set[str]]:
    import zipcodes

    places: dict[str, set[str]] = {}
    for row in zipcodes.list_all():
        places.setdefault(str(row["city"]).lower(), set()).add(str(row["state"]))
    return places


def city_names() -> frozenset[str]:
    """Every US place name of the offline ZIP data, lowercase."""
    return frozenset(_city_states())


def city_states(city: str) -> set[str]:
    """States that have a place with this name (offline)."""
    return set(_city_states().get(city.lower().strip(), set()))
