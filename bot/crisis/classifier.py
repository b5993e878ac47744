"""A dedicated crisis-language classifier, trained on the labelled corpus in `corpus/`.

Word and character n-grams (robust to typos and slang) feed two logistic regressions from
scikit-learn: one for the level, one for the category. The corpus is kept apart from every
evaluation set under bench/. The model is fitted on first use through `get_classifier`,
so nothing is fitted at import time and no binary model is committed; the fitted weights are
kept under the cache folder (`var/cache/` by default) for the next process. The
assistant's own NLU training examples (greetings, menu choices, answers) join as benign messages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

CORPUS_DIR = Path(__file__).with_name("corpus")
CACHE_PREFIX = "crisis-classifier-"
# libyaml's safe loader reads the corpus ten times faster than the pure-Python one (0.2 s vs 2.8 s).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
NLU_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "nlu"
# Everyday messages from the assistant's NLU training data are benign examples too (greetings,
# menu choices, answers, asking for a breathing exercise), except intents that are about getting
# help in a crisis.
NLU_NOT_BENIGN = frozenset({"crisis", "help_now", "safety_plan", "safe_to_continue"})
# The assistant's own examples are what users type most; they weigh more than one corpus item so
# that "i want to think about how my parents shaped me" is never read as "i want to ... myself".
# 8 (was 3): across the development sets 4 fewer false alarms, the same misses (2026-12-08).
EVERYDAY_WEIGHT = 8.0
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
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
        items.extend(
            {"text": str(i["text"]), "level": str(i["level"]), "category": str(i["category"])} for i in data["items"]
        )
    return items


def load_everyday_messages(directory: Path = NLU_DIR) -> list[dict[str, Any]]:
    """Benign examples from the NLU training data (never from the held-out set)."""
    items: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yml")):
        for block in yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER).get("nlu") or []:
            intent = str(block.get("intent", "")).split("/")[0]
            if not intent or intent in NLU_NOT_BENIGN:
                continue
            for line in str(block.get("examples", "")).splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    items.append({"text": text, "level": "none", "category": "none", "weight": EVERYDAY_WEIGHT})
    return items


def _vectorizers() -> list[tuple[str, Any]]:
    """The two unfitted feature extractors: word n-grams with negation marks, character n-grams."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return [
        (
            "words",
            TfidfVectorizer(
                tokenizer=negation_marked, token_pattern=None, lowercase=False, ngram_range=(1, 2), sublinear_tf=True
            ),
        ),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True, lowercase=True)),
    ]


class CrisisClassifier:
    """Level and category classifier over word and character n-grams."""

    def __init__(self, items: list[dict[str, Any]], *, seed: int = 42) -> None:
        """Fit on labelled items.

        Args:
            items: Labelled messages (text, level, category, and optionally a `weight`, default 1).
            seed: Random seed, so two fits are identical.
        """
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion

        features = FeatureUnion(_vectorizers())
        matrix = features.fit_transform([i["text"] for i in items])
        level_model = LogisticRegression(C=REGULARISATION, max_iter=2000, class_weight="balanced", random_state=seed)
        weights = [float(i.get("weight", 1.0)) for i in items]
        level_model.fit(matrix, [i["level"] for i in items], sample_weight=weights)
        risky = [n for n, i in enumerate(items) if i["category"] != "none"]
        category_model = LogisticRegression(C=REGULARISATION, max_iter=2000, class_weight="balanced", random_state=seed)
        category_model.fit(matrix[risky], [items[n]["category"] for n in risky])
        # Kept on a freshly fitted classifier (not on one read by `load`) so tests can compare.
        self.features, self.level_model, self.category_model = features, level_model, category_model

        state: dict[str, Any] = {
            "level_classes": np.asarray([str(c) for c in level_model.classes_]),
            "level_weights": level_model.coef_.T,
            "level_bias": level_model.intercept_,
            "category_classes": np.asarray([str(c) for c in category_model.classes_]),
            "category_weights": category_model.coef_.T,
            "category_bias": category_model.intercept_,
        }
        for name, vectorizer in features.transformer_list:
            terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
            state[f"{name}_terms"] = np.asarray(terms)
            state[f"{name}_idf"] = np.asarray(vectorizer.idf_, dtype=np.float64)
        self._state: dict[str, Any] | None = state  # only a fresh fit is saved; a loaded one need not keep it
        self._set_state(state)

    def _set_state(self, state: dict[str, Any]) -> None:
        """Keep what prediction needs: each part's analyzer, vocabulary and idf, and the linear models.

        Prediction repeats FeatureUnion.transform and predict_proba without scikit-learn's per-call
        validation and sparse matrices (which cost 2 ms a message; this costs a tenth).
        """
        import numpy as np

        self._lock = threading.Lock()
        self._parts: list[tuple[Any, dict[str, int], Any, int]] = []
        offset = 0
        for name, vectorizer in _vectorizers():
            terms = [str(t) for t in state[f"{name}_terms"].tolist()]
            idf = np.asarray(state[f"{name}_idf"], dtype=np.float64)
            if len(terms) != len(idf):
                raise ValueError(f"the saved {name} vocabulary and idf differ in length")
            self._parts.append((vectorizer.build_analyzer(), {t: n for n, t in enumerate(terms)}, idf, offset))
            offset += len(idf)
        self._level_classes = [str(c) for c in state["level_classes"].tolist()]
        self._level_weights = np.ascontiguousarray(state["level_weights"], dtype=np.float64)
        self._level_bias = np.asarray(state["level_bias"], dtype=np.float64)
        self._category_classes = [str(c) for c in state["category_classes"].tolist()]
        self._category_weights = np.ascontiguousarray(state["category_weights"], dtype=np.float64)
        self._category_bias = np.asarray(state["category_bias"], dtype=np.float64)
        if self._level_weights.shape[0] != offset or self._category_weights.shape[0] != offset:
            raise ValueError("the saved weights do not match the saved vocabularies")

    def save(self, path: Path) -> None:
        """Write the fitted state to `path` (a NumPy .npz archive of arrays only, no pickles).

        The file is written beside its final name and moved into place, so a process reading it
        never sees half a file.

        Raises:
            ValueError: The classifier was read by `load`, not fitted here.
        """
        import numpy as np

        if self._state is None:
            raise ValueError("only a freshly fitted classifier can be saved")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, **self._state)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> CrisisClassifier:
        """Read a state written by `save`.

        Raises:
            OSError, ValueError or KeyError: the file is missing, damaged or of another layout.
        """
        import numpy as np

        with np.load(path, allow_pickle=False) as archive:
            state = {key: archive[key] for key in archive.files}
        classifier = cls.__new__(cls)
        classifier._state = None
        classifier._set_state(state)
        return classifier

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


def fingerprint(items: list[dict[str, Any]]) -> str:
    """A key for a fitted state: the training items, this module's code and scikit-learn's version."""
    import sklearn

    digest = hashlib.sha256()
    digest.update(f"sklearn {sklearn.__version__}\n".encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(json.dumps(items, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()[:24]


def cached_classifier(items: list[dict[str, Any]], cache_dir: Path) -> CrisisClassifier:
    """The classifier fitted on `items`, read from `cache_dir` when an earlier fit saved it.

    A fit takes seconds and every process that starts (each Rasa server, each test stack) needs
    the classifier, so the first one saves it under a name made from `fingerprint`: a change to the
    corpus, the NLU examples or this code makes a new name, and older files are removed. A damaged
    or unwritable cache only costs the fit.
    """
    path = cache_dir / f"{CACHE_PREFIX}{fingerprint(items)}.npz"
    if path.exists():
        try:
            return CrisisClassifier.load(path)
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("Refitting the crisis classifier: its cache %s could not be read (%s)", path, exc)
    classifier = CrisisClassifier(items)
    try:
        classifier.save(path)
        for old in cache_dir.glob(f"{CACHE_PREFIX}*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("The crisis classifier could not be cached in %s (%s)", cache_dir, exc)
    return classifier


@lru_cache(maxsize=1)
def get_classifier() -> CrisisClassifier:
    """The shared classifier, fitted on the corpus on first use or read from the settings' cache."""
    from bot.settings import get_settings

    return cached_classifier(load_corpus() + load_everyday_messages(), get_settings().cache_dir)
