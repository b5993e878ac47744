"""Anonymization of conversation text before anyone but the user sees it.

Presidio's analyzer finds personal data with spaCy's English model (names, places) and with
recognizers for what our users share (`anonymizer.yml`: ages, dates of birth, addresses, ZIP codes,
insurance member numbers, handles, profile URLs, and the name that follows "my sister" or "dr.").
Presidio's anonymizer then replaces each finding with a numbered placeholder that stays the same
within one conversation: `<PERSON_1>` is the same person in every message of it.

Clinical and relational words ("mother", "partner", "anxious", "cutting") are never removed.

Nothing here runs at import time; `get_anonymizer()` builds the engines on first use.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, RecognizerResult
    from presidio_anonymizer import AnonymizerEngine
    from spacy.language import Language

CONFIG_FILE = Path(__file__).with_name("anonymizer.yml")
_SPACE = re.compile(r"\s+")
# US state codes, and Canadian, Australian and New Zealand region codes (shared with CityRecognizer).
US_STATE_CODES = (
    r"A[LKZR]|C[AOT]|D[EC]|FL|GA|HI|I[ADLN]|K[SY]|LA|M[ADEINOST]|N[CDEHJMVY]|O[HKR]|PA|RI|S[CD]|T[NX]|UT|V[AT]|W[AIVY]"
)
REGION_CODES = r"AB|BC|MB|NB|NL|NS|NT|NU|ON|PE|QC|SK|YT|NSW|VIC|QLD|WA|SA|TAS|ACT|NZ"
# State codes that are words even in capitals ("Boston OK?"): they join a place only before a ZIP code.
CAPS_WORD_CODES = frozenset({"OK", "OR", "IN", "ME", "HI"})
_CAPS_WORDS = "|".join(sorted(CAPS_WORD_CODES))
# A state, province or county right after a place ("Columbus, OH", "Toronto ON", "Castlebar, Co. Mayo"):
# together they narrow down where someone lives, so they go with it.
_REGION_AFTER = re.compile(
    rf",?[ \t]+(?:(?!(?:{_CAPS_WORDS})\b)(?:{US_STATE_CODES}|{REGION_CODES})\b(?!['-])"
    rf"|(?:{_CAPS_WORDS})(?=,?[ \t]+\d{{5}}\b)|Co\.?[ \t]+[A-Z][a-z]+|County[ \t]+[A-Z][a-z]+)"
)

# One comma-separated part of an address around a street address ("Flat 3", "papatoetoe", "Co. Mayo",
# "LS6 2AB"): at most five words, up to the next comma, full stop, dash or the end of the line.
_ADDRESS_PART = re.compile(
    r"[ \t]*([^\s,.;:!?()\-–—][^,;:!?()\n]{0,60}?)[ \t]*"
    r"(?=$|[,;:!?()\n]|(?<!\bCo)(?<!\bSt)(?<!\bNo)(?<!\bRd)(?<!\bMt)(?<!\bFt)\.(?:\s|$)|\s[-–—]\s)"
)
_PART_WORD = re.compile(r"[^\s]+")
_COMMA = re.compile(r",[ \t]*")
_TOWN_AFTER = re.compile(r"[ \t]+([A-Za-z][A-Za-z'-]*(?:[ \t]+[A-Za-z][A-Za-z'-]*){0,2})")
# The part before a street address and its comma ("Flat 3, " before "22 Elm Grove").
_UNIT_BEFORE = re.compile(r"(?:^|[,:;(\n]|\s[-–—]\s)[ \t]*([^,:;()\n]{1,40}?)[ \t]*,[ \t]*$")
# Parts taken on each side of a street address at most.
ADDRESS_PARTS = 6
# Kinds of finding that an address takes in when it is widened over them.
ADDRESS_KINDS = frozenset({"ADDRESS", "LOCATION", "ZIP", "PERSON"})

# Recent texts whose findings are remembered (by digest; see Anonymizer._analyze).
ANALYZED_CACHE_SIZE = 4096


def load_config(path: Path = CONFIG_FILE) -> dict[str, Any]:
    """Read the anonymizer's reviewed data file."""
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


@dataclass
class Pseudonyms:
    """Placeholders for one conversation: the same value always gets the same placeholder.

    Values are compared without case and extra spaces, and a first name alone reuses the
    placeholder of the full name it began ("Daniel" after "Daniel Ruiz"). With a `hasher`, only
    keyed hashes of the values are kept (what the review store persists); the values themselves
    stay in memory (`known`) for as long as this object lives.
    """

    hasher: Callable[[str], str] | None = None
    assigned: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seen: dict[str, list[str]] = field(default_factory=dict)

    def _key(self, kind: str, value: str) -> str:
        normal = _SPACE.sub(" ", value.strip().lower())
        return f"{kind}|{self.hasher(normal) if self.hasher else normal}"

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder for one value of one kind, numbered in order of first appearance."""
        if not value.strip():
            return f"<{kind}>"
        key = self._key(kind, value)
        if key in self.assigned:
            return self.assigned[key]
        words = value.strip().lower().split()
        first_key = self._key("PERSON_FIRST", words[0])
        if kind == "PERSON" and len(words) == 1 and first_key in self.assigned:
            label = self.assigned[first_key]
        else:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            label = f"<{kind}_{self.counts[kind]}>"
            if kind == "PERSON" and len(words) > 1:
                self.assigned.setdefault(first_key, label)
        self.assigned[key] = label
        self.seen.setdefault(kind, []).append(value.strip())
        return label

    def lookup(self, kind: str, value: str) -> str:
        """The placeholder already given to a value, or the bare kind (`<PERSON>`) if none was."""
        return self.assigned.get(self._key(kind, value), f"<{kind}>")

    def known(self, kind: str) -> list[str]:
        """The values of one kind met by this object, longest first."""
        return sorted(set(self.seen.get(kind, [])), key=len, reverse=True)

    def to_dict(self) -> dict[str, str]:
        """What may be stored: value keys (hashed when there is a hasher) and their placeholders."""
        return dict(self.assigned)

    @classmethod
    def from_dict(cls, data: dict[str, str], hasher: Callable[[str], str] | None = None) -> Pseudonyms:
        """Restore stored placeholders; numbering goes on after the highest number of each kind."""
        pseudonyms = cls(hasher=hasher, assigned=dict(data))
        for label in data.values():
            kind, _, number = label.strip("<>").rpartition("_")
            if number.isdigit():
                pseudonyms.counts[kind] = max(pseudonyms.counts.get(kind, 0), int(number))
        return pseudonyms


class Anonymizer:
    """Finds and replaces personal data in conversation text."""

    def __init__(self, config: dict[str, Any], nlp: Language) -> None:
        """Build Presidio's engines over an already loaded spaCy pipeline.

        Args:
            config: The parsed anonymizer.yml.
            nlp: spaCy's English pipeline with its parser and NER.
        """
        from presidio_anonymizer import AnonymizerEngine

        from bot.review.recognizers import (
            CityRecognizer,
            build_analyzer,
            english_words,
            known_first_names,
            us_places,
        )

        self.config = config
        self.placeholders: dict[str, str] = dict(config["placeholders"])
        self.min_score = float(config.get("min_score", 0.4))
        self.keep_words = frozenset(str(w).lower() for w in config["keep_words"])
        self.function_words = frozenset(str(w).lower() for w in config.get("function_words") or [])
        self.redact_slots: dict[str, str] = dict(config.get("redact_slots") or {})
        self.plain_slots = frozenset(config.get("plain_slots") or [])
        self.analyzer: AnalyzerEngine = build_analyzer(config, nlp)
        self.check_spacy_names = bool(config.get("check_spacy_names", True))
        self.stop_words = frozenset(w.lower() for w in nlp.Defaults.stop_words)
        self.common_words = english_words(nlp) | self.stop_words | self.keep_words
        nicknames = frozenset(str(w).lower() for w in config["name_cues"].get("nicknames") or [])
        self.first_names = known_first_names(tuple(config["name_cues"]["first_name_locales"])) | (
            nicknames - self.common_words
        )
        self.titles = frozenset(str(t).lower().rstrip(".") for t in config["name_cues"]["titles"])
        self.public_numbers = _helpline_numbers()
        self.states = us_places()[1]
        self.towns: frozenset[str] = next(
            (r.cities for r in self.analyzer.registry.recognizers if isinstance(r, CityRecognizer)), frozenset()
        )
        self.address_words = frozenset(str(w).lower() for w in config.get("address_words") or [])
        self.anonymizer: AnonymizerEngine = AnonymizerEngine()
        self._lock = threading.Lock()  # the spaCy pipeline inside is not safe to share between threads
        self._analyzed: OrderedDict[bytes, tuple[tuple[str, int, int, float], ...]] = OrderedDict()

    def anonymize(self, text: str, pseudonyms: Pseudonyms | None = None) -> str:
        """The text with every piece of personal data replaced by its placeholder.

        Args:
            text: A message or any other conversation text.
            pseudonyms: The conversation's placeholders; a new set is used when omitted.

        Returns:
            The anonymized text.
        """
        from presidio_anonymizer.entities import OperatorConfig
        from presidio_anonymizer.entities import RecognizerResult as Replacement

        if not text or not text.strip():
            return text
        pseudonyms = pseudonyms if pseudonyms is not None else Pseudonyms()
        kept = _without_overlaps(self._with_known_names(text, self._analyze(text), pseudonyms))
        if not kept:
            return text
        for result in kept:  # number the placeholders in reading order
            kind = self.placeholders.get(result.entity_type, result.entity_type)
            pseudonyms.placeholder(kind, text[result.start : result.end])
        operators = {
            r.entity_type: OperatorConfig(
                "custom", {"lambda": _placeholder_for(pseudonyms, self.placeholders.get(r.entity_type, r.entity_type))}
            )
            for r in kept
        }
        spans = [Replacement(r.entity_type, r.start, r.end, r.score) for r in kept]
        return str(self.anonymizer.anonymize(text=text, analyzer_results=spans, operators=operators).text)

    def anonymize_slot(self, name: str, value: Any, pseudonyms: Pseudonyms) -> Any:
        """A slot value as a clinician may see it.

        Slots listed in `redact_slots` become their placeholder whole; `plain_slots` and values
        without text (numbers, booleans) stay; any other text is anonymized like a message, inside
        lists and mappings too.
        """
        if value is None or name in self.plain_slots or isinstance(value, bool | int | float):
            return value
        if name in self.redact_slots:
            return pseudonyms.placeholder(self.redact_slots[name], str(value))
        if isinstance(value, str):
            return self.anonymize(value, pseudonyms)
        if isinstance(value, list | tuple):
            return [self.anonymize_slot("", item, pseudonyms) for item in value]
        if isinstance(value, dict):
            return {key: self.anonymize_slot("", item, pseudonyms) for key, item in value.items()}
        return self.anonymize(str(value), pseudonyms)

    def _analyze(self, text: str) -> list[RecognizerResult]:
        """The findings in a text, from Presidio or from the cache of recent texts.

        What Presidio finds depends on the text alone (the conversation's placeholders are
        applied afterwards), and the same texts come again and again: the assistant's questions,
        and every earlier intake answer each time the answers slot is set. The cache is keyed by a
        digest of the text, so it holds no conversation text, only entity types and offsets.
        """
        from presidio_analyzer import RecognizerResult

        if not text or not text.strip():
            return []
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self._lock:
            found = self._analyzed.get(key)
            if found is None:
                found = tuple((r.entity_type, r.start, r.end, r.score) for r in self._find(text))
                self._analyzed[key] = found
                if len(self._analyzed) > ANALYZED_CACHE_SIZE:
                    self._analyzed.popitem(last=False)
            else:
                self._analyzed.move_to_end(key)
        return [RecognizerResult(kind, start, end, score) for kind, start, end, score in found]

    def _find(self, text: str) -> list[RecognizerResult]:
        """Presidio's findings, trimmed of clinical words and filtered (call with the lock held)."""
        results = self.analyzer.analyze(text=text, language="en", score_threshold=self.min_score)
        # Clinical words stay even when a recognizer claims them ("Mom" tagged as a person, or
        # "ex" inside "my ex Jess"): they are trimmed off the ends of a finding, and a finding
        # made only of them is dropped.
        letters = [c for c in text if c.isalpha()]
        shouting = len(letters) > 8 and sum(c.isupper() for c in letters) > 0.8 * len(letters)
        kept = []
        for result in results:
            start, end = self._trimmed(text, result.start, result.end)
            if start >= end or self._is_public_number(text[start:end]):
                continue
            if result.entity_type == "LOCATION" and _SPACE.sub(" ", text[start:end].lower()) in self.states:
                continue  # a US state alone identifies no one, and the finder's analysis needs it
            if self._is_unlikely_name(result, text, start, end, shouting=shouting):
                continue
            if result.entity_type == "PERSON":
                start, end = self._whole_name(text, start, end)
            if result.entity_type == "LOCATION" and (region := _REGION_AFTER.match(text, end)):
                end = region.end()
            result.start, result.end = start, end
            kept.append(result)
        return self._with_whole_addresses(text, kept)

    def _with_whole_addresses(self, text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
        # Another kind of data (a phone number, an e-mail) ends an address; a town or a postcode
        # found inside the widened address becomes part of it.
        others = sorted((r.start, r.end) for r in results if r.entity_type not in ADDRESS_KINDS)
        widened = (0, 0)
        for result in sorted(results, key=lambda r: r.start):
            if result.entity_type != "ADDRESS":
                continue
            if widened[0] <= result.start and result.end <= widened[1]:
                result.start, result.end = widened  # already inside the address widened before it
                continue
            start, end = self._whole_address(text, result.start, result.end, others)
            for other in results:
                if other.entity_type in ADDRESS_KINDS and other.start < end and start < other.end:
                    start, end = min(start, other.start), max(end, other.end)
            result.start, result.end = widened = (start, end)
        return results

    def _whole_address(self, text: str, start: int, end: int, others: list[tuple[int, int]]) -> tuple[int, int]:
        """A street address with the parts written around it, comma by comma.

        "Flat 3, 22 Elm Grove, Leeds LS6 2AB": the flat before the street, and the town and
        postcode after it, identify as much as the street does. A part before the street goes
        with it only if it names a unit or a building ("Flat 3", "2nd floor flat"); a part after
        it only if every word is a number, an address word, a town, or a name ("papatoetoe",
        "Co. Mayo"). A part with a word of ordinary chat in it ("and i hate it") ends the address.
        At most `ADDRESS_PARTS` parts are taken on each side, each read within a short window, so
        that a long run of commas costs little.
        """

        def free(a: int, b: int) -> bool:
            return not any(a < o_end and o_start < b for o_start, o_end in others)

        for _ in range(ADDRESS_PARTS):
            comma = _COMMA.match(text, end)
            part = _ADDRESS_PART.match(text[: comma.end() + 80], comma.end()) if comma else None
            if part is None or not free(part.start(1), part.end(1)):
                break
            taken = self._address_prefix(part.group(1))
            if not taken:
                break
            end = part.start(1) + taken
            if end < part.end(1):
                break
        # Without a comma, only a town goes with the street ("18/2 Dalry Road edinburgh").
        if town := _TOWN_AFTER.match(text[: end + 80], end):
            words = town.group(1).split()
            for size in range(len(words), 0, -1):
                if " ".join(words[:size]).lower() in self.towns:
                    end = town.start(1) + len(" ".join(words[:size]))
                    break
        for _ in range(ADDRESS_PARTS):
            offset = max(0, start - 60)
            match = _UNIT_BEFORE.search(text[offset:start])
            if match is None:
                break
            if not self._is_unit_part(match.group(1)) or not free(offset + match.start(1), offset + match.end(1)):
                break
            start = offset + match.start(1)
        return start, end

    def _is_unit_part(self, part: str) -> bool:
        # Before the street, a unit or a building: "Flat 3", "2nd floor flat", "Kestrel Court".
        words = [w.strip("'’.") for w in _PART_WORD.findall(part)]
        if not words or len(words) > 4:
            return False
        numbered = any(any(c.isdigit() for c in w) for w in words)
        return (numbered and any(w.lower() in self.address_words for w in words)) or (
            words[-1].lower() in self.address_words and all(w[:1].isupper() for w in words)
        )

    def _address_prefix(self, part: str) -> int:
        """How much of a part after a street address belongs to the address (0: none of it).

        The whole part when every word is a number, an address word, a known town or a name
        ("papatoetoe", "Co. Mayo", "LS6 2AB"); only its beginning when that holds a number, a
        town or a region code ("IL 62704" in "IL 62704 if you need it").
        """
        if part.strip().lower() in self.towns:
            return len(part)
        taken = 0
        strong = False
        for word in _PART_WORD.finditer(part):
            plain = word.group().strip("'’.")
            lower = plain.lower()
            if any(c.isdigit() for c in plain) or (plain.isupper() and 2 <= len(plain) <= 3) or lower in self.towns:
                strong = True
            elif lower in self.keep_words or (lower in self.stop_words and lower not in self.address_words):
                break
            elif not (lower in self.address_words or plain[:1].isupper() or not self._is_common(lower)):
                break
            taken = word.end()
        else:
            return taken
        return taken if strong else 0

    def _whole_name(self, text: str, start: int, end: int) -> tuple[int, int]:
        """A found name with the capitalised name words right beside it ("Destiny [Marie Okonkwo]").

        A word after the name joins it when it is capitalised and no function word (a surname,
        even one that is also a word: "Chukwuemeka Obi", "Maya Brown"); a word before it when it
        is capitalised and a known first name or no common word. Clinical words never join.
        """
        while match := re.match(r"[ \t]([A-Z][^\W\d_]+(?:[-'][A-Z]?[^\W\d_]+)?)\b", text[end:]):
            word = match.group(1).lower()
            if match.group(1).isupper() or word in self.keep_words or word in self.stop_words or word in self.titles:
                break
            end += match.end()
        while match := re.search(r"\b([A-Z][^\W\d_]+)[ \t]$", text[:start]):
            word = match.group(1).lower()
            common = word not in self.first_names and self._is_common(word)
            if match.group(1).isupper() or word in self.keep_words or word in self.titles or common:
                break
            start = match.start(1)
        return start, end

    def _is_public_number(self, span: str) -> bool:
        digits = re.sub(r"\D", "", span)
        return bool(digits) and digits in self.public_numbers  # 988, 911, 741741: helplines, not a person's

    def _is_unlikely_name(
        self, result: RecognizerResult, text: str, start: int, end: int, *, shouting: bool = False
    ) -> bool:
        # `shouting`: the message is in capitals, where a capital letter says nothing of a name.
        meta = result.recognition_metadata or {}
        from_spacy = meta.get("recognizer_name") == "SpacyRecognizer"
        if not (self.check_spacy_names and from_spacy and result.entity_type == "PERSON"):
            return False
        for match in re.finditer(r"[^\W\d_]+(?:['-][^\W\d_]+)*", text[start:end]):
            word = match.group()
            mid_sentence = start + match.start() > 0 and not re.search(r"[.!?]\s*$", text[: start + match.start()])
            plain = re.sub(r"(.)\1{2,}", r"\1", word.lower())  # "heyyy" -> "hey"
            capitalised = word[:1].isupper() and mid_sentence and not shouting
            if capitalised or plain in self.first_names or not self._is_common(plain):
                return False
        return True

    def _is_common(self, word: str) -> bool:
        if word in self.common_words:
            return True
        return any(
            word.endswith(suffix) and word[: -len(suffix)] in self.common_words
            for suffix in ("s", "es", "ed", "er", "est", "ing", "ly")
        )

    def _trimmed(self, text: str, start: int, end: int) -> tuple[int, int]:
        span = text[start:end]
        if _SPACE.sub(" ", span.strip().lower()) in self.keep_words:
            return start, start
        words = list(re.finditer(r"[\w'-]+", span))
        removable = self.keep_words | self.function_words
        while words and words[0].group().lower() in removable:
            words.pop(0)
        while words and words[-1].group().lower() in removable:
            words.pop()
        if not words:
            return start, start
        return start + words[0].start(), start + words[-1].end()

    @staticmethod
    def _with_known_names(
        text: str, results: list[RecognizerResult], pseudonyms: Pseudonyms
    ) -> list[RecognizerResult]:
        # A name found earlier in the conversation is removed wherever it appears again, even
        # where nothing marks it as a name this time ("maya agreed").
        from presidio_analyzer import RecognizerResult

        added = list(results)
        for name in pseudonyms.known("PERSON"):
            # A name first typed in lowercase is matched in any case; a capitalised one only as
            # written, so that "Will" does not take the word "will" with it.
            flags = re.IGNORECASE if name.islower() else 0
            for match in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", text, flags=flags):
                if not any(r.start <= match.start() < r.end or match.start() <= r.start < match.end() for r in added):
                    added.append(RecognizerResult("PERSON", match.start(), match.end(), 1.0))
        return added


@lru_cache(maxsize=1)
def _helpline_numbers() -> frozenset[str]:
    """The digits of every emergency number and crisis line in the helplines data."""
    from bot.crisis.helplines import load_helplines

    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("number", "text") and isinstance(item, str | int):
                    digits = re.sub(r"\D", "", str(item))
                    if len(digits) >= 3:
                        found.add(digits)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(load_helplines())
    return frozenset(found)


def _without_overlaps(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """One finding per stretch of text (the longest, then the highest score, wins), in reading order."""
    chosen: list[RecognizerResult] = []
    for result in sorted(results, key=lambda r: (-(r.end - r.start), -r.score, r.start)):
        if all(result.end <= other.start or other.end <= result.start for other in chosen):
            chosen.append(result)
    return sorted(chosen, key=lambda r: r.start)


def _placeholder_for(pseudonyms: Pseudonyms, kind: str) -> Any:
    # Only a look-up: Presidio calls the operator once with a dummy value to validate it.
    return lambda value: pseudonyms.lookup(kind, value)


@lru_cache(maxsize=1)
def get_anonymizer() -> Anonymizer:
    """The process-wide anonymizer, built on first use (loads spaCy with NER and Presidio)."""
    from bot import nlp

    return Anonymizer(load_config(), nlp.load(with_ner=True))
