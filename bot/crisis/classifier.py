"""A dedicated crisis-language classifier, trained on the labelled corpus in `corpus/`.

Word and character n-grams (robust to typos and slang) feed two logistic regressions from
scikit-learn: one for the level, one for the category. The corpus is kept apart from every
evaluation set under bench/. The model is fitted on first use (about a second) through
`get_classifier`, so nothing is fitted at import time and no binary model is committed. The
assistant's own NLU training examples (greetings, menu choices, answers) join as benign messages.
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
NLU_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "nlu"
# Everyday messages from the assistant's NLU training data are benign examples too (greetings,
# menu choices, answers, asking for a breathing exercise), except intents that are about getting
# help in a crisis.
NLU_NOT_BENIGN = frozenset({"crisis", "help_now", "safety_plan", "safe_to_continue"})
# The assistant's own examples are what users type most; they weigh more than one corpus item so
# that "i want to think about how my parents shaped me" is never read as "i want to ... myself".
EVERYDAY_WEIGHT = 3.0
# Inverse regularisation strength of both regressions. 4 suited the corpus of 6,000 items; with
# 8,000 (part 14), 12 with a `high` threshold of 0.4 halved the missed serious messages across the
# development sets for 6 more false alarms in 1,400 benign messages.
REGULARISATION = 12.0
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


def load_everyday_messages(directory: Path = NLU_DIR) -> list[dict[str, Any]]:
    """Benign examples from the NLU training data (never from the held-out set)."""
    items: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            intent = str(block.get("intent", "")).split("/")[0]
            if not intent or intent in NLU_NOT_BENIGN:
                continue
            for line in str(block.get("examples", "")).splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    items.append({"text": text, "level": "none", "category": "none", "weight": EVERYDAY_WEIGHT})
    return items


class CrisisClassifier:
    """Level and category classifier over word and character n-grams."""

    def __init__(self, items: list[dict[str, Any]], *, seed: int = 42) -> None:
        """Fit on labelled items.

        Args:
            items: Labelled messages (text, level, category, and optionally a `weight`, default 1).
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
        self.level_model = LogisticRegression(
            C=REGULARISATION, max_iter=2000, class_weight="balanced", random_state=seed
        )
        weights = [float(i.get("weight", 1.0)) for i in items]
        self.level_model.fit(matrix, [i["level"] for i in items], sample_weight=weights)
        risky = [n for n, i in enumerate(items) if i["category"] != "none"]
        self.category_model = LogisticRegression(
            C=REGULARISATION, max_iter=2000, class_weight="balanced", random_state=seed
        )
        self.category_model.fit(matrix[risky], [items[n]["category"] for n in risky])

        # The same maths as FeatureUnion.transform and predict_proba, without scikit-learn's
        # per-call validation and sparse matrices (which cost 2 ms a message; this costs a tenth):
        # each part's n-gram counts, sublinear tf times idf, l2-normalised, then the linear models.
        import numpy as np

        self._parts: list[tuple[Any, dict[str, int], Any, int]] = []
        offset = 0
        for _, vectorizer in self.features.transformer_list:
            idf = np.asarray(vectorizer.idf_, dtype=np.float64)
            self._parts.append((vectorizer.build_analyzer(), vectorizer.vocabulary_, idf, offset))
            offset += len(idf)
        self._level_classes = [str(c) for c in self.level_model.classes_]
        self._level_weights = np.ascontiguousarray(self.level_model.coef_.T)
        self._level_bias = self.level_model.intercept_
        self._category_classes = [str(c) for c in self.category_model.classes_]
        self._category_weights = np.ascontiguousarray(self.category_model.coef_.T)
        self._category_bias = self.category_model.intercept_

    def _row(self, text: str) -> tuple[Any, Any]:
        """The message's tf-idf features: column indices and values (what transform() gives)."""
        import numpy as np

        columns, values = [], []
        for analyze, vocabulary, idf, offset in self._parts:
            counts: dict[int, int] = {}
            for gram in analyze(text or ""):
                column = vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            index = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            weight = (np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts))) + 1.0) * idf[index]
            norm = np.sqrt(np.dot(weight, weight))
            columns.append(index + offset)
            values.append(weight / norm if norm > 0 else weight)
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return np.concatenate(columns), np.concatenate(values)

    def predict(self, text: str) -> Prediction:
        """Classify one message.

        Args:
            text: The message, as typed.

        Returns:
            The most likely level, the most likely category (if the level is not none) and the
            probability of each level.
        """
        import numpy as np

        with self._lock:
            columns, values = self._row(text)
            scores = values @ self._level_weights[columns] + self._level_bias
            exp = np.exp(scores - scores.max())
            level_probs = exp / exp.sum()
            probabilities = {c: round(float(p), 4) for c, p in zip(self._level_classes, level_probs, strict=True)}
            level = max(probabilities, key=lambda name: probabilities[name])
            category = "none"
            if level != "none" or probabilities.get("none", 0.0) < 0.9:
                category_scores = values @ self._category_weights[columns] + self._category_bias
                category = self._category_classes[int(category_scores.argmax())]
        return Prediction(level=level, category="none" if level == "none" else category, probabilities=probabilities)


@lru_cache(maxsize=1)
def get_classifier() -> CrisisClassifier:
    """The shared classifier, fitted on the corpus on first use."""
    return CrisisClassifier(load_corpus() + load_everyday_messages())
