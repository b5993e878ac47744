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
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.phrase_patterns import PhraseCompiler, clause_ids, lemma_doc

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

    from bot.crisis.classifier import CrisisClassifier, Prediction

PHRASES_FILE = Path(__file__).with_name("phrases.yml")
LEVELS = ("none", "concern", "high", "imminent")
CATEGORIES = ("suicide", "self_harm", "harm_to_others", "abuse_or_violence", "medical_emergency", "third_party")
# When two signals have the same level, the category earlier here wins: it carries the more
# specific resources.
CATEGORY_PRIORITY = ("medical_emergency", "abuse_or_violence", "third_party", "suicide", "self_harm", "harm_to_others")
ESCALATES_TO_IMMINENT = frozenset({"suicide", "self_harm", "harm_to_others", "third_party"})
# Violence escalates only on signs of danger at this moment (he is at the door, she is hiding),
# not on a time alone: "he hit me last night" stays high.
ESCALATES_ON_DANGER_NOW = frozenset({"abuse_or_violence", "third_party"})
NEGATION_WINDOW = 5
MODIFIER_KINDS = (
    "imminence",
    "danger_imminence",
    "idioms",
    "past",
    "returning",
    "distress_now",
    "about_topic",
    "recovered",
    "recent",
    "literal",
)
PAST_WINDOW = 12


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
    # Crisis words were found but explained away (negation, idiom, past, talk about the topic).
    dismissed: bool = False

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
DISMISSED = Assessment(dismissed=True)


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

    def __init__(self, phrases: dict[str, Any], nlp: Language, classifier: CrisisClassifier | None = None) -> None:
        """Compile the phrase lists.

        Args:
            phrases: The parsed phrases.yml.
            nlp: A spaCy pipeline with a lemmatizer and sentence boundaries.
            classifier: The dedicated crisis classifier; it can raise the level the patterns
                found (never lower it), with the thresholds under `classifier` in phrases.yml.
        """
        from spacy.matcher import Matcher

        self.nlp = nlp
        self.classifier = classifier
        self.thresholds = {k: float(v) for k, v in phrases.get("classifier", {}).items()}
        self._lock = threading.Lock()
        self.normalizers = [(re.compile(p), r) for p, r in phrases["normalize"]]
        self.trigger = re.compile("|".join(f"(?:{t})" for t in phrases["triggers"]))
        self.negations = frozenset(str(w).lower() for w in phrases["negations"])
        compiler = PhraseCompiler(nlp, phrases["lists"])
        self.rules: dict[str, tuple[str, str]] = {}
        self.negated_phrases: set[str] = set()
        self.matcher = Matcher(nlp.vocab)
        # Weak signals ("this is my last message") that an everyday reason anywhere in the message
        # explains ("... going to bed"): rule id -> matcher of those reasons.
        self.ordinary_reasons: dict[str, Matcher] = {}
        # Rules that talk about the topic does not explain away (asking for a way to die).
        self.topic_proof = frozenset(rule["id"] for rule in phrases["rules"] if rule.get("topic_proof"))
        # Rules no idiom explains away ("he threatened to kill me if I leave").
        self.idiom_proof = frozenset(rule["id"] for rule in phrases["rules"] if rule.get("idiom_proof"))
        self.reasons_overruled_by = {
            rule["id"]: tuple(rule.get("unless_overruled_by", [])) for rule in phrases["rules"]
        }
        for rule in phrases["rules"]:
            if rule.get("unless_in_message"):
                reasons = Matcher(nlp.vocab)
                for index, phrase in enumerate(rule["unless_in_message"]):
                    reasons.add(f"{rule['id']}#reason#{index}", [compiler.compile(phrase)])
                self.ordinary_reasons[rule["id"]] = reasons
            for index, phrase in enumerate(rule["phrases"]):
                key = f"{rule['id']}#{index}"
                self.rules[key] = (rule["level"], rule["category"])
                alternatives = [a for word in phrase.lower().split() for a in word.rstrip("?").split("|")]
                if any(a in self.negations or a.endswith("n't") for a in alternatives):
                    self.negated_phrases.add(key)
                self.matcher.add(key, [compiler.compile(phrase)])
        self.modifiers = Matcher(nlp.vocab)
        # A question about the topic that names no person at all ("is self-harm linked to
        # attachment?") is talk about the topic; these rules still count in one ("is this a heart
        # attack?").
        self.personal_words = frozenset(str(w).lower() for w in phrases["lists"].get("PERSONAL", []))
        self.question_proof = frozenset(phrases.get("question_proof_rules", []))
        for kind in MODIFIER_KINDS:
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
        if not normalized:
            return NONE
        found = NONE
        doc = None
        if self.trigger.search(normalized):
            with self._lock:  # spaCy pipelines are not safe to share between threads
                doc = self.nlp(normalized)
                found = self._assess_doc(doc)
        if self.classifier is None:
            return found
        raised = raise_with_classifier(
            found,
            self.classifier.predict(text),
            self.thresholds,
            words=len(normalized.split()),
        )
        may_stay_high = raised.level == "imminent" and found.level == "high" and found.category == "harm_to_others"
        may_escalate = raised.level == "high" and raised.category in ESCALATES_TO_IMMINENT | ESCALATES_ON_DANGER_NOW
        if raised.source != "classifier" or not (may_stay_high or may_escalate):
            return raised
        # One analysis of the markers serves both rules (for a message without any trigger word spaCy
        # has not run yet, and would otherwise run once per marker kind).
        markers = self._marker_kinds(doc if doc is not None else normalized)
        # A threat to someone with no time, place or means named stays high: the classifier learnt
        # imminence from timed threats and reads "I'm going to hurt him" as one.
        if may_stay_high and "imminence" not in markers:
            return found
        # The ladder's own rule: high risk with a time, a plan or means at hand is imminent
        # ("the tablets are counted out in front of me and tonight I'm going through with it").
        if may_escalate and (
            (raised.category in ESCALATES_TO_IMMINENT and "imminence" in markers)
            or (raised.category in ESCALATES_ON_DANGER_NOW and "danger_imminence" in markers)
        ):
            return replace(raised, level="imminent")
        return raised

    def has_imminence(self, text: str) -> bool:
        """Whether a message names a time, a plan or means at hand ("tonight", "I have a plan").

        Used in safety mode, where a follow-up such as "I'm going to do it tonight" is imminent
        in the context of the conversation even though it names no crisis on its own.
        """
        normalized = self.normalize(text or "")
        return bool(normalized) and self._imminence_in(normalized)

    def _imminence_in(self, message: str | Doc) -> bool:
        """Whether a normalised message (or its analysed doc) holds an imminence marker."""
        return "imminence" in self._marker_kinds(message)

    def _marker_kinds(self, message: str | Doc) -> frozenset[str]:
        """The kinds of modifier (imminence, danger_imminence, idioms...) a normalised message or its doc holds."""
        with self._lock:
            doc = self.nlp(message) if isinstance(message, str) else message
            lemmas = lemma_doc(doc)
            return frozenset(
                self.nlp.vocab.strings[match_id].split("#")[0] for match_id, _, _ in self.modifiers(lemmas)
            )

    def _assess_doc(self, doc: Doc) -> Assessment:
        lemmas = lemma_doc(doc)
        clause_of = clause_ids(doc)
        found: list[_Match] = []
        for match_id, start, end in self.matcher(lemmas):
            key = self.nlp.vocab.strings[match_id]
            if clause_of[start] != clause_of[end - 1]:
                continue
            level, category = self.rules[key]
            found.append(_Match(key.split("#")[0], level, category, start, end, key in self.negated_phrases))
        marks: dict[str, list[tuple[int, int]]] = {}
        for match_id, start, end in self.modifiers(lemmas):
            kind = self.nlp.vocab.strings[match_id].split("#")[0]
            marks.setdefault(kind, []).append((start, end))
        if not found:
            # A figure of speech with no crisis phrase ("ending things with Jordan tonight") still
            # explains crisis-like words away, so the classifier needs more certainty to overrule it.
            return DISMISSED if marks.get("idioms") else NONE

        def in_clause(kind: str, clause: int) -> bool:
            return any(clause_of[s] == clause for s, _ in marks.get(kind, []))

        # Told as over and done with: a recovery said anywhere ("I'm in a good place now") and
        # nothing recent, returning or distressing beside it.
        recovered = bool(marks.get("recovered")) and not (
            marks.get("recent") or marks.get("returning") or marks.get("distress_now")
        )
        kept: list[_Match] = []
        for match in found:
            clause = clause_of[match.start]
            idiom = in_clause("idioms", clause) and match.rule not in self.idiom_proof and not marks.get("literal")
            if idiom or self._negated(doc, match, clause_of):
                continue
            if (
                self._near(marks.get("past", []), match, clause_of)
                and not in_clause("returning", clause)
                and not marks.get("distress_now")
            ):
                continue
            if match.rule not in self.topic_proof and (
                in_clause("about_topic", clause) or self._impersonal_question(doc, match)
            ):
                continue  # talk about the topic, not a disclosure
            if recovered and match.level != "imminent" and self._past_tense_clause(doc, clause_of, clause):
                continue
            kept.append(match)
        kept = self._drop_covered_by_third_party(kept)
        kept = [m for m in kept if not self._explained_by_reason(m.rule, lemmas, marks)]
        if not kept:
            return DISMISSED

        strong_imminence = bool(marks.get("imminence"))
        danger_now = bool(marks.get("danger_imminence"))
        signals: list[Signal] = []
        for match in kept:
            level = match.level
            if (match.category in ESCALATES_TO_IMMINENT and strong_imminence) or (
                match.category in ESCALATES_ON_DANGER_NOW and danger_now
            ):
                level = "imminent"
            signals.append(Signal(match.rule, level, match.category, doc[match.start : match.end].text))
        best = max(signals, key=lambda s: (level_rank(s.level), -CATEGORY_PRIORITY.index(s.category)))
        return Assessment(level=best.level, category=best.category, signals=tuple(signals))

    def _explained_by_reason(self, rule: str, lemmas: Doc, marks: dict[str, list[tuple[int, int]]]) -> bool:
        """Whether an everyday reason in the message explains the rule's match away.

        A rule may name modifier kinds that overrule its reasons: a heart attack "in 2019" is the
        past, but not in a message that also says something happened "today".
        """
        if rule not in self.ordinary_reasons:
            return False
        if any(marks.get(kind) for kind in self.reasons_overruled_by.get(rule, ())):
            return False
        return bool(self.ordinary_reasons[rule](lemmas))

    @staticmethod
    def _near(spans: list[tuple[int, int]], match: _Match, clause_of: list[int]) -> bool:
        """Whether a modifier sits in the match's clause within PAST_WINDOW tokens of it.

        "Mum used to read to us, and now dad's chest is crushing": a past marker far back in a long
        sentence no longer speaks of the match.
        """
        clause = clause_of[match.start]
        return any(
            clause_of[start] == clause and start - PAST_WINDOW <= match.start and match.end <= end + PAST_WINDOW
            for start, end in spans
        )

    def _impersonal_question(self, doc: Doc, match: _Match) -> bool:
        """Whether the match sits in a question that names no person ("is self-harm genetic?")."""
        if match.rule in self.question_proof:
            return False
        sentence = doc[match.start].sent
        if not any(token.text == "?" for token in sentence):
            return False
        return not any(token.lower_ in self.personal_words for token in sentence)

    @staticmethod
    def _past_tense_clause(doc: Doc, clause_of: list[int], clause: int) -> bool:
        """Whether the clause's verbs are all in the past ("I was suicidal in college")."""
        tags = [doc[i].tag_ for i in range(len(doc)) if clause_of[i] == clause]
        return "VBD" in tags and not any(tag in ("VBP", "VBZ", "MD", "VBG") for tag in tags)

    def _negated(self, doc: Doc, match: _Match, clause_of: list[int]) -> bool:
        if match.has_negation:
            return False
        # A negation inside the match came in through a wildcard ("she never actually hit me").
        if any(doc[i].lower_ in self.negations or doc[i].lower_.endswith("n't") for i in range(match.start, match.end)):
            return True
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


def raise_with_classifier(
    patterns: Assessment,
    prediction: Prediction,
    thresholds: dict[str, float],
    *,
    words: int | None = None,
) -> Assessment:
    """Raise the pattern verdict to what the dedicated classifier finds, never lower it.

    Args:
        patterns: The pattern-based assessment.
        prediction: The dedicated classifier's prediction for the same message.
        thresholds: `high` (probability of high or imminent), `imminent` (probability of
            imminent, once high is reached) and `concern` (probability of concern or above);
            `short_message` applies instead of the lower ones to a message of at most
            `short_message_words` words in which the patterns found no crisis word.
        words: How many words the message has (None: not known).

    Returns:
        The pattern assessment, or a higher level from the classifier (source "classifier").
    """
    # Where the patterns explained crisis words away ("I'm not suicidal"), the classifier needs to be
    # far more certain; where they found high, it needs more certainty to make it imminent.
    strict = thresholds.get("over_dismissed", 1.0) if patterns.dismissed else 0.0
    # A few words with no crisis word in them are thin evidence: "i'm undecided" shares letters
    # with "i've decided", not meaning.
    short = words is not None and words <= thresholds.get("short_message_words", 0)
    if short and not patterns.is_crisis:
        strict = max(strict, thresholds.get("short_message", 0.0))
    level = "none"
    if prediction.risk_at_least("concern") >= max(strict, thresholds.get("concern", 1.0)):
        level = "concern"
    if prediction.risk_at_least("high") >= max(strict, thresholds.get("high", 1.0)):
        imminent = thresholds.get("imminent_over_high" if patterns.level == "high" else "imminent", 1.0)
        level = "imminent" if prediction.probabilities.get("imminent", 0.0) >= imminent else "high"
    if level_rank(level) <= level_rank(patterns.level):
        return patterns
    category = prediction.category if prediction.category != "none" else "suicide"
    if patterns.is_crisis and patterns.category != "suicide":
        category = patterns.category  # the patterns' specific category carries better resources
    return Assessment(level=level, category=category, signals=patterns.signals, source="classifier")


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
    from bot.crisis.classifier import get_classifier

    return CrisisDetector(load_phrases(), nlp.load(), get_classifier())
