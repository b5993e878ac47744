"""Whether a message inside a flow is a request to do something else, or an answer.

Forms (the reflection intake, the therapist search, the consultation request) ask questions whose
answers are free text unlike anything the intent classifier was trained on, and it can be
confidently wrong about them ("my parents were busy but kind" read as "pause"). An answer taken
as a request to leave or start over is lost, so a request counts only when the classifier names
it and the message itself says so: cue phrases, a question's shape or a short phrase, all kept in
`interrupts.yml`. A button's payload ("/help") is an explicit choice and always counts.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.phrase_patterns import PhraseCompiler, lemma_doc

if TYPE_CHECKING:
    from spacy.language import Language

INTERRUPTS_FILE = Path(__file__).with_name("interrupts.yml")
ASIDE = "aside"
_QUESTION = re.compile(
    r"\?\s*$|^\s*(what|what's|whats|how|why|who|whom|when|where|which|is|are|can|could|do|does|did"
    r"|should|will|would|tell me)\b",
    re.I,
)


def normalise(text: str) -> str:
    """Lowercase words without punctuation (apostrophes kept), single-spaced."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


class Interrupts:
    """Decides what a message inside a flow asks for: an aside, a control, or nothing (an answer)."""

    def __init__(self, data: dict[str, Any], nlp: Language) -> None:
        """Compile the cue phrases.

        Args:
            data: The parsed interrupts.yml.
            nlp: A spaCy pipeline with a lemmatizer.
        """
        from spacy.matcher import Matcher

        self.nlp = nlp
        self._lock = threading.Lock()
        asides = data["asides"]
        self.aside_intents = frozenset(str(name) for name in asides["intents"])
        self.aside_confidence = float(asides["min_confidence"])
        self.aside_phrases = {
            str(intent): frozenset(normalise(str(p)) for p in phrases) for intent, phrases in asides["phrases"].items()
        }
        controls = dict(data["controls"])
        self.control_confidence = float(controls.pop("min_confidence"))
        self.kind_of: dict[str, str] = {}
        self.matcher = Matcher(nlp.vocab)
        compiler = PhraseCompiler(nlp)
        for kind, entry in controls.items():
            for intent in entry["intents"]:
                self.kind_of[str(intent)] = str(kind)
            self.matcher.add(str(kind), [compiler.compile(str(phrase)) for phrase in entry["cues"]])

    @property
    def intents(self) -> frozenset[str]:
        """Every intent that may interrupt a flow."""
        return self.aside_intents | frozenset(self.kind_of)

    def cues(self, text: str) -> set[str]:
        """The control kinds whose cue phrases occur in the text."""
        with self._lock:
            doc = lemma_doc(self.nlp(text.lower()))
            return {self.nlp.vocab.strings[match_id] for match_id, _, _ in self.matcher(doc)}

    def classify(self, text: str, intent: str | None, confidence: float) -> str | None:
        """What the message asks for instead of answering.

        Args:
            text: The message as the user sent it.
            intent: The classifier's intent.
            confidence: Its confidence.

        Returns:
            "aside" (a question to answer before asking again), a control kind from the data
            ("leave", "start_over", "resume"), or None when the message is an answer.
        """
        if intent is None or intent not in self.intents:
            return None
        kind = ASIDE if intent in self.aside_intents else self.kind_of[intent]
        if text.lstrip().startswith("/"):
            return kind
        if kind == ASIDE:
            if confidence < self.aside_confidence:
                return None
            shaped = bool(_QUESTION.search(text.strip()))
            return kind if shaped or normalise(text) in self.aside_phrases.get(intent, frozenset()) else None
        if confidence < self.control_confidence:
            return None
        return kind if kind in self.cues(text) else None


def load_interrupts(path: Path = INTERRUPTS_FILE) -> dict[str, Any]:
    """The parsed interrupt rules."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=1)
def get_interrupts() -> Interrupts:
    """The shared interrupt rules, built on first use."""
    from bot import nlp

    return Interrupts(load_interrupts(), nlp.load())
