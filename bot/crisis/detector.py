"""Crisis detection: each message gets a level and a category.

Levels follow a screening ladder like the Columbia scale's: none < concern < high < imminent.
The phrase lists are data (`phrases.yml`); this module compiles them into spaCy Matcher patterns
over the lemmas (and lowercase forms) of the normalised message, then applies the modifiers the
lists define: idioms, negation, past and recovered statements, talk about the topic, and
imminence markers. A cheap pre-filter skips spaCy for messages with no trigger word at all.

`CrisisDetector.assess` works on text alone. The NLU component (bot/rasa_addons) combines its
result with the trained classifier's signal through `combine_with_classifier`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

PHRASES_FILE = Path(__file__).with_name("phrases.yml")
LEVELS = ("none", "concern", "high", "imminent")
CATEGORIES = ("suicide", "self_harm", "harm_to_others", "abuse_or_violence", "medical_emergency", "third_party")
# When two signals have the same level, the category earlier here wins: it carries the more
# specific resources.
CATEGORY_PRIORITY = ("medical_emergency", "abuse_or_violence", "third_party", "suicide", "self_harm", "harm_to_others")
ESCALATES_TO_IMMINENT = frozenset({"suicide", "self_harm", "harm_to_others", "third_party"})
CLAUSE_BREAKS = frozenset({"but", "though", "although", "however", ";", "whereas"})
NEGATION_WINDOW = 5


def level_rank(level: str) -> int:
    """Position of a level on the ladder (none = 0 ... imminent = 3)."""
    return LEVELS.index(level)


@dataclass(frozen=True)
class Signal:
    """One phrase that matched, after the modifiers kept it."""

    rule: str
    level: str
    category: str
    phrase: str


@dataclass(frozen=True)
class Assessment:
    """The detector's verdict on one message."""

    level: str = "none"
    category: str = "none"
    signals: tuple[Signal, ...] = field(default_factory=tuple)
    source: str = "patterns"

    @property
    def is_crisis(self) -> bool:
        """Whether the message needs a crisis reply (any level above none)."""
        return self.level != "none"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly view (what `crisis-check` prints and the NLU component attaches)."""
        return {
            "level": self.level,
            "category": self.category,
            "source": self.source,
            "signals": [
                {"rule": s.rule, "level": s.level, "category": s.category, "phrase": s.phrase} for s in self.signals
            ],
        }


NONE = Assessment()


class _Compiler:
    """Turns the phrase language of phrases.yml into spaCy patterns over lemmas.

    Phrases are matched against a document of lemmas (see `CrisisDetector._lemma_doc`), so each
    phrase word is lemmatised by the same pipeline when the lists are compiled.
    """

    def __init__(self, nlp: Language, lists: dict[str, list[str]]) -> None:
        self.nlp = nlp
        self.lists = {name: sorted({self.lemma(str(w)) for w in words}) for name, words in lists.items()}

    @lru_cache(maxsize=4096)  # noqa: B019 (the compiler lives as long as the detector)
    def lemma(self, word: str) -> str:
        lemmas = [t.lemma_.lower() for t in self.nlp(word.lower())]
        return " ".join(lemmas)

    def compile(self, phrase: str) -> list[dict[str, Any]]:
        pattern: list[dict[str, Any]] = []
        chunks = phrase.split()
        plain = [c for c in chunks if not _is_special(c)]
        # Lemmatise the plain words in their phrase context (tags depend on neighbours).
        lemmas = iter([t.lemma_.lower() for t in self.nlp(" ".join(plain).lower())] if plain else [])
        for chunk in chunks:
            if chunk == "*":
                pattern.extend({"OP": "?"} for _ in range(3))
            elif chunk.startswith("<") and chunk.endswith(">"):
                pattern.append({"LOWER": {"IN": self.lists[chunk[1:-1]]}})
            elif "|" in chunk:
                pattern.append({"LOWER": {"IN": sorted({self.lemma(alt) for alt in chunk.split("|")})}})
            elif chunk.endswith("?") and len(chunk) > 1:
                pattern.append({"LOWER": self.lemma(chunk[:-1]), "OP": "?"})
            else:
                for _ in self.nlp.tokenizer(chunk.lower()):
                    pattern.append({"LOWER": next(lemmas)})
        return pattern


def _is_special(chunk: str) -> bool:
    return (
        chunk == "*"
        or (chunk.startswith("<") and chunk.endswith(">"))
        or "|" in chunk
        or (chunk.endswith("?") and len(chunk) > 1)
    )


@dataclass
class _Match:
    rule: str
    level: str
    category: str
    start: int
    end: int
    has_negation: bool


class CrisisDetector:
    """Assigns a crisis level and category to a message from the reviewed phrase lists."""

    def __init__(self, phrases: dict[str, Any], nlp: Language) -> None:
        """Compile the phrase lists.

        Args:
            phrases: The parsed phrases.yml.
            nlp: A spaCy pipeline with a lemmatizer and sentence boundaries.
        """
        from spacy.matcher import Matcher

        self.nlp = nlp
        self._lock = threading.Lock()
        self.normalizers = [(re.compile(p), r) for p, r in phrases["normalize"]]
        self.trigger = re.compile("|".join(f"(?:{t})" for t in phrases["triggers"]))
        self.negations = frozenset(str(w).lower() for w in phrases["negations"])
        compiler = _Compiler(nlp, phrases["lists"])
        self.rules: dict[str, tuple[str, str]] = {}
        self.negated_phrases: set[str] = set()
        self.matcher = Matcher(nlp.vocab)
        for rule in phrases["rules"]:
            for index, phrase in enumerate(rule["phrases"]):
                key = f"{rule['id']}#{index}"
                self.rules[key] = (rule["level"], rule["category"])
                if any(word in self.negations or word.endswith("n't") for word in phrase.lower().split()):
                    self.negated_phrases.add(key)
                self.matcher.add(key, [compiler.compile(phrase)])
        self.modifiers = Matcher(nlp.vocab)
        for kind in ("imminence", "idioms", "past", "returning", "about_topic"):
            for index, phrase in enumerate(phrases[kind]):
                self.modifiers.add(f"{kind}#{index}", [compiler.compile(phrase)])

    def normalize(self, text: str) -> str:
        """Lowercase the text, drop emoji and symbols, and rewrite slang and misspellings."""
        text = text.lower()
        for pattern, replacement in self.normalizers:
            text = pattern.sub(replacement, text)
        text = "".join(ch if ch.isalnum() or ch.isspace() or ch in ".,;:!?'-" else " " for ch in text)
        return " ".join(text.split())

    def assess(self, text: str) -> Assessment:
        """Assess one message.

        Args:
            text: The user's message, as typed.

        Returns:
            The level, the category and the signals that led to them.
        """
        normalized = self.normalize(text or "")
        if not normalized or not self.trigger.search(normalized):
            return NONE
        with self._lock:  # spaCy pipelines are not safe to share between threads
            doc = self.nlp(normalized)
            return self._assess_doc(doc)

    def has_imminence(self, text: str) -> bool:
        """Whether a message names a time, a plan or means at hand ("tonight", "I have a plan").

        Used in safety mode, where a follow-up such as "I'm going to do it tonight" is imminent
        in the context of the conversation even though it names no crisis on its own.
        """
        normalized = self.normalize(text or "")
        if not normalized:
            return False
        with self._lock:
            lemma_doc = self._lemma_doc(self.nlp(normalized))
            return any(
                self.nlp.vocab.strings[match_id].startswith("imminence#")
                for match_id, _, _ in self.modifiers(lemma_doc)
            )

    def _clauses(self, doc: Doc) -> list[int]:
        """Clause id of each token: sentences, split again at contrastive conjunctions."""
        clause_of: list[int] = []
        clause = 0
        for sent in doc.sents:
            clause += 1
            for token in sent:
                if token.lower_ in CLAUSE_BREAKS:
                    clause += 1
                clause_of.append(clause)
        return clause_of

    @staticmethod
    def _lemma_doc(doc: Doc) -> Doc:
        """A document whose words are the lemmas of `doc`, token for token."""
        from spacy.tokens import Doc as SpacyDoc

        lemmas = [token.lemma_.lower() or token.lower_ for token in doc]
        return SpacyDoc(doc.vocab, words=lemmas, spaces=[bool(token.whitespace_) for token in doc])

    def _assess_doc(self, doc: Doc) -> Assessment:
        lemma_doc = self._lemma_doc(doc)
        clause_of = self._clauses(doc)
        found: list[_Match] = []
        for match_id, start, end in self.matcher(lemma_doc):
            key = self.nlp.vocab.strings[match_id]
            if clause_of[start] != clause_of[end - 1]:
                continue
            level, category = self.rules[key]
            found.append(_Match(key.split("#")[0], level, category, start, end, key in self.negated_phrases))
        if not found:
            return NONE
        marks: dict[str, list[tuple[int, int]]] = {}
        for match_id, start, end in self.modifiers(lemma_doc):
            kind = self.nlp.vocab.strings[match_id].split("#")[0]
            marks.setdefault(kind, []).append((start, end))

        def in_clause(kind: str, clause: int) -> bool:
            return any(clause_of[s] == clause for s, _ in marks.get(kind, []))

        kept: list[_Match] = []
        for match in found:
            clause = clause_of[match.start]
            if in_clause("idioms", clause) or self._negated(doc, match, clause_of):
                continue
            if in_clause("past", clause) and not in_clause("returning", clause):
                continue
            if in_clause("about_topic", clause):  # talk about the topic, not a disclosure
                continue
            kept.append(match)
        kept = self._drop_covered_by_third_party(kept)
        if not kept:
            return NONE

        strong_imminence = bool(marks.get("imminence"))
        signals: list[Signal] = []
        for match in kept:
            level = match.level
            if match.category in ESCALATES_TO_IMMINENT and strong_imminence:
                level = "imminent"
            signals.append(Signal(match.rule, level, match.category, doc[match.start : match.end].text))
        best = max(signals, key=lambda s: (level_rank(s.level), -CATEGORY_PRIORITY.index(s.category)))
        return Assessment(level=best.level, category=best.category, signals=tuple(signals))

    def _negated(self, doc: Doc, match: _Match, clause_of: list[int]) -> bool:
        if match.has_negation:
            return False
        clause = clause_of[match.start]
        for index in range(match.start - 1, max(-1, match.start - 1 - NEGATION_WINDOW), -1):
            token = doc[index]
            if clause_of[index] != clause or token.is_punct:
                return False  # negation does not reach across a comma or a clause
            if token.lower_ in self.negations or token.lemma_.lower() in self.negations:
                return True
        return False

    @staticmethod
    def _drop_covered_by_third_party(matches: list[_Match]) -> list[_Match]:
        third = [m for m in matches if m.category == "third_party"]
        return [
            m
            for m in matches
            if m.category == "third_party"
            or m.category == "medical_emergency"
            or not any(t.start <= m.start and m.end <= t.end for t in third)
        ]


def combine_with_classifier(patterns: Assessment, crisis_confidence: float, *, threshold: float = 0.9) -> Assessment:
    """Merge the pattern verdict with the trained classifier's crisis signal.

    The classifier alone over-triggers ("I feel a bit down") and under-triggers, so it can only
    raise a message the patterns found nothing in to `concern` (a gentle check-in), and only when
    it is very confident. It never lowers what the patterns found.

    Args:
        patterns: The pattern-based assessment.
        crisis_confidence: The classifier's confidence that the message is a crisis message.
        threshold: Minimum confidence for the classifier alone to count.

    Returns:
        The combined assessment.
    """
    if patterns.is_crisis or crisis_confidence < threshold:
        return patterns
    return Assessment(level="concern", category="suicide", signals=patterns.signals, source="classifier")


def load_phrases(path: Path = PHRASES_FILE) -> dict[str, Any]:
    """Read the phrase lists."""
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


@lru_cache(maxsize=1)
def get_detector() -> CrisisDetector:
    """The process-wide detector, built on first use (loads spaCy and compiles the lists)."""
    from bot import nlp

    return CrisisDetector(load_phrases(), nlp.load())
