"""A dedicated crisis-language classifier, trained on the labelled corpus in `corpus/`.

Word and character n-grams (robust to typos and slang) feed two logistic regressions from
scikit-learn: one for the level, one for the category. The corpus is kept apart from every
evaluation set under bench/. The model is fitted on first use (about a second) through
`get_classifier`, so nothing is fitted at import time and no binary model is committed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CORPUS_DIR = Path(__file__).with_name("corpus")
_WORD = re.compile(r"[a-z0-9']+|[.,;:!?]")
_NEGATORS = frozenset({"not", "never", "no", "nobody", "nothing", "without", "cannot"})
_SCOPE_ENDS = frozenset({".", ",", ";", ":", "!", "?", "but", "and", "though", "although"})


def negation_marked(text: str) -> list[str]:
    """Word tokens with the words after a negation marked ("never hurt myself" -> NEG_hurt NEG_myself).

    The same crisis word means the opposite after a negation, which bag-of-words features
    cannot see on their own. The scope ends at punctuation or a conjunction.
    """
    tokens: list[str] = []
    negated = False
    for word in _WORD.findall((text or "").lower().replace("n't", " not")):
        if word in _SCOPE_ENDS:
            negated = False
            continue
        if word in _NEGATORS:
            negated = True
            tokens.append(word)
            continue
        tokens.append(f"NEG_{word}" if negated else word)
    return tokens


LEVELS = ("none", "concern", "high", "imminent")


@dataclass(frozen=True)
class Prediction:
    """The classifier's view of one message."""

    level: str
    category: str
    probabilities: dict[str, float]

    def risk_at_least(self, level: str) -> float:
        """Probability that the message is at `level` or above on the ladder."""
        rank = LEVELS.index(level)
        return round(sum(p for name, p in self.probabilities.items() if LEVELS.index(name) >= rank), 4)


def load_corpus(directory: Path = CORPUS_DIR) -> list[dict[str, str]]:
    """Every labelled item of the corpus files (text, level, category)."""
    items: list[dict[str, str]] = []
    for path in sorted(directory.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        items.extend(
            {"text": str(i["text"]), "level": str(i["level"]), "category": str(i["category"])} for i in data["items"]
        )
    return items


class CrisisClassifier:
    """Level and category classifier over word and character n-grams."""

    def __init__(self, items: list[dict[str, str]], *, seed: int = 42) -> None:
        """Fit on labelled items.

        Args:
            items: Labelled messages (text, level, category).
            seed: Random seed, so two fits are identical.
        """
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        self._lock = threading.Lock()
        self.features = FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(
                        tokenizer=negation_marked,
                        token_pattern=None,
                        lowercase=False,
                        ngram_range=(1, 2),
                        sublinear_tf=True,
                    ),
                ),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True, lowercase=True
                    ),
                ),
            ]
        )
        texts = [i["text"] for i in items]
        matrix = self.features.fit_transform(texts)
        self.level_model = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced", random_state=seed)
        self.level_model.fit(matrix, [i["level"] for i in items])
        risky = [n for n, i in enumerate(items) if i["category"] != "none"]
        self.category_model = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced", random_state=seed)
        self.category_model.fit(matrix[risky], [items[n]["category"] for n in risky])

    def predict(self, text: str) -> Prediction:
        """Classify one message.

        Args:
            text: The message, as typed.

        Returns:
            The most likely level, the most likely category (if the level is not none) and the
            probability of each level.
        """
        with self._lock:
            row = self.features.transform([text or ""])
            level_probs = self.level_model.predict_proba(row)[0]
            category = str(self.category_model.predict(row)[0])
        probabilities = {
            str(c): round(float(p), 4) for c, p in zip(self.level_model.classes_, level_probs, strict=True)
        }
        level = max(probabilities, key=lambda name: probabilities[name])
        return Prediction(level=level, category="none" if level == "none" else category, probabilities=probabilities)


@lru_cache(maxsize=1)
def get_classifier() -> CrisisClassifier:
    """The shared classifier, fitted on the corpus on first use."""
    return CrisisClassifier(load_corpus())


def as_dict(prediction: Prediction) -> dict[str, Any]:
    """A JSON-friendly view of a prediction."""
    return {"level": prediction.level, "category": prediction.category, "probabilities": prediction.probabilities}
