"""Cues in free-text intake answers, found with spaCy lemma patterns from `cues.yml`.

Each cue adds evidence to one side of the two attachment dimensions (anxiety, avoidance), to
security (which lowers both) or to both at once. Negation drops a cue ("I don't worry when..."),
hedges and past markers weaken it ("I used to...", "sometimes"), intensifiers strengthen it
("I always..."), and answers about childhood count for half.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.phrase_patterns import PhraseCompiler, clause_ids, lemma_doc

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

CUES_FILE = Path(__file__).with_name("cues.yml")
DIMENSIONS = ("anxiety", "avoidance", "security", "both")
WINDOW_BEFORE = 5
WINDOW_AFTER = 2


@dataclass(frozen=True)
class Cue:
    """One piece of evidence found in an answer."""

    cue: str
    dimension: str
    weight: float
    phrase: str
    question: str = ""
    negated: bool = False


class CueAnalyzer:
    """Finds attachment cues in free text."""

    def __init__(self, data: dict[str, Any], nlp: Language) -> None:
        """Compile the cue lists.

        Args:
            data: The parsed cues.yml.
            nlp: A spaCy pipeline with a lemmatizer and sentence boundaries.
        """
        from spacy.matcher import Matcher

        self.nlp = nlp
        self._lock = threading.Lock()
        compiler = PhraseCompiler(nlp, data.get("lists", {}))
        self.negations = frozenset(str(w).lower() for w in data["negations"])
        self.weights = {k: float(v) for k, v in data["modifier_weights"].items()}
        self.cues: dict[str, tuple[str, str, float, bool]] = {}
        self.cross_clause: set[str] = set()
        self.matcher = Matcher(nlp.vocab)
        for cue in data["cues"]:
            if cue["dimension"] not in DIMENSIONS:
                raise ValueError(f"cue {cue['id']}: unknown dimension {cue['dimension']!r}")
            for index, phrase in enumerate(cue["phrases"]):
                key = f"{cue['id']}#{index}"
                has_negation = any(w in self.negations or w.endswith("n't") for w in phrase.lower().split())
                self.cues[key] = (cue["id"], cue["dimension"], float(cue["weight"]), has_negation)
                if cue.get("cross_clause"):
                    self.cross_clause.add(key)
                self.matcher.add(key, [compiler.compile(phrase)])
        self.modifiers = Matcher(nlp.vocab)
        for kind in ("hedges", "past_markers", "intensifiers"):
            for index, phrase in enumerate(data[kind]):
                self.modifiers.add(f"{kind}#{index}", [compiler.compile(str(phrase))])

    def analyze(self, text: str, *, question: str = "", early: bool = False) -> list[Cue]:
        """Find the cues in one answer.

        Args:
            text: The answer, as typed.
            question: The question id, recorded with each cue.
            early: The answer is about childhood; its cues count for half.

        Returns:
            The cues, longest match first where two overlap; negated cues are kept with weight 0.
        """
        text = " ".join((text or "").split())
        if not text:
            return []
        with self._lock:  # spaCy pipelines are not safe to share between threads
            doc = self.nlp(text.lower())
            return self._analyze_doc(doc, question, early)

    def _analyze_doc(self, doc: Doc, question: str, early: bool) -> list[Cue]:
        lemmas = lemma_doc(doc)
        clause_of = clause_ids(doc)
        modifiers: list[tuple[str, int, int]] = []
        for match_id, start, end in self.modifiers(lemmas):
            modifiers.append((self.nlp.vocab.strings[match_id].split("#")[0], start, end))
        spans: list[tuple[int, int, str]] = []
        for match_id, start, end in self.matcher(lemmas):
            key = self.nlp.vocab.strings[match_id]
            if clause_of[start] == clause_of[end - 1] or key in self.cross_clause:
                spans.append((start, end, key))
        # Longest first; a span inside an already kept span of the same cue adds nothing.
        spans.sort(key=lambda s: (-(s[1] - s[0]), s[0]))
        kept: list[tuple[int, int, str]] = []
        for start, end, key in spans:
            if any(s <= start and end <= e for s, e, _ in kept):
                continue
            kept.append((start, end, key))
        found: list[Cue] = []
        for start, end, key in sorted(kept):
            cue_id, dimension, weight, has_negation = self.cues[key]
            clause = clause_of[start]
            negated = not has_negation and self._negated(doc, start, clause_of)
            factor = 1.0
            near = [
                kind
                for kind, m_start, m_end in modifiers
                if clause_of[m_start] == clause
                and (start - WINDOW_BEFORE <= m_start < start or end <= m_start < end + WINDOW_AFTER)
            ]
            if "past_markers" in near:
                factor *= self.weights["past"]
            elif "hedges" in near:
                factor *= self.weights["hedge"]
            if "intensifiers" in near and "past_markers" not in near:
                factor *= self.weights["intensifier"]
            if early:
                factor *= self.weights["early_context"]
            found.append(
                Cue(
                    cue=cue_id,
                    dimension=dimension,
                    weight=0.0 if negated else round(weight * factor, 3),
                    phrase=doc[start:end].text,
                    question=question,
                    negated=negated,
                )
            )
        return found

    def _negated(self, doc: Doc, start: int, clause_of: list[int]) -> bool:
        clause = clause_of[start]
        for index in range(start - 1, max(-1, start - 1 - WINDOW_BEFORE), -1):
            token = doc[index]
            if clause_of[index] != clause or token.is_punct:
                return False
            if token.lower_ in self.negations or token.lemma_.lower() in self.negations:
                return True
        return False


def load_cues(path: Path = CUES_FILE) -> dict[str, Any]:
    """The parsed cue lists."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=1)
def get_analyzer() -> CueAnalyzer:
    """The shared analyzer, built on first use."""
    from bot import nlp

    return CueAnalyzer(load_cues(), nlp.load())
