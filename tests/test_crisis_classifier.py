"""The corpus classifier: its corpus, its features and how it may raise the pattern verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.crisis.classifier import (
    CORPUS_DIR,
    LEVELS,
    Prediction,
    get_classifier,
    load_corpus,
    load_everyday_messages,
    negation_marked,
)
from bot.crisis.detector import DISMISSED, NONE, Assessment, load_phrases, raise_with_classifier
from tests.test_crisis_eval_file import CATEGORIES, normalise

BENCH = Path(__file__).resolve().parent.parent / "bench"
THRESHOLDS = {k: float(v) for k, v in load_phrases()["classifier"].items()}


def _prediction(**probabilities: float) -> Prediction:
    probs = {level: probabilities.get(level, 0.0) for level in LEVELS}
    level = max(probs, key=lambda name: probs[name])
    return Prediction(level=level, category="none" if level == "none" else "suicide", probabilities=probs)


def test_corpus_is_well_formed() -> None:
    items = load_corpus()
    assert len(items) >= 1500
    for item in items:
        assert item["level"] in LEVELS
        assert item["category"] in CATEGORIES | {"none"}
        assert (item["level"] == "none") == (item["category"] == "none")


def test_corpus_shares_nothing_with_any_evaluation_set() -> None:
    corpus = {normalise(i["text"]) for i in load_corpus() + load_everyday_messages()}
    sets = ("eval", "test", "dev3", "dev4", "dev5", "holdout", "holdout2")
    for name in (f"crisis_{s}.yml" for s in sets):
        items = yaml.safe_load((BENCH / name).read_text(encoding="utf-8"))["items"]
        overlap = sum(normalise(i["text"]) in corpus for i in items)
        assert overlap == 0, f"{overlap} items of {name} are in the training corpus"


def test_corpus_files_name_their_labelling_rules() -> None:
    for path in CORPUS_DIR.glob("*.yml"):
        assert "crisis_labelling_rules" in path.read_text(encoding="utf-8").split("items:")[0], path.name


def test_negation_scope_is_marked_until_punctuation() -> None:
    assert negation_marked("i would never hurt myself, honestly") == [
        "i",
        "would",
        "never",
        "NEG_hurt",
        "NEG_myself",
        "honestly",
    ]
    assert negation_marked("I don't want to die") == ["i", "do", "not", "NEG_want", "NEG_to", "NEG_die"]
    assert negation_marked("not sad but i want to die")[-3:] == ["want", "to", "die"]


def test_fitting_is_deterministic() -> None:
    from bot.crisis.classifier import CrisisClassifier

    items = load_corpus()
    text = "i dont see the point anymore"
    assert CrisisClassifier(items).predict(text) == CrisisClassifier(items).predict(text)


def test_classifier_separates_clear_cases() -> None:
    classifier = get_classifier()
    assert classifier.predict("i have the pills in my hand and i am taking them now").risk_at_least("high") > 0.5
    assert classifier.predict("what a lovely sunny day, going for a walk").level == "none"


def test_classifier_raises_a_pattern_miss() -> None:
    raised = raise_with_classifier(NONE, _prediction(high=0.7, none=0.3), THRESHOLDS)
    assert (raised.level, raised.source) == ("high", "classifier")


def test_classifier_never_lowers_the_patterns() -> None:
    found = Assessment(level="imminent", category="medical_emergency")
    assert raise_with_classifier(found, _prediction(none=1.0), THRESHOLDS) is found


def test_weak_signal_gives_a_check_in_not_an_alarm() -> None:
    raised = raise_with_classifier(NONE, _prediction(concern=0.85, none=0.15), THRESHOLDS)
    assert raised.level == "concern"


def test_explained_away_words_need_a_near_certain_classifier() -> None:
    assert raise_with_classifier(DISMISSED, _prediction(high=0.8, none=0.2), THRESHOLDS) is DISMISSED
    assert raise_with_classifier(DISMISSED, _prediction(high=0.95, none=0.05), THRESHOLDS).level == "high"


@pytest.mark.parametrize(("imminent", "expected"), [(0.8, "high"), (0.9, "imminent")])
def test_raising_high_to_imminent_needs_more_certainty(imminent: float, expected: str) -> None:
    found = Assessment(level="high", category="suicide")
    raised = raise_with_classifier(found, _prediction(imminent=imminent, high=1 - imminent), THRESHOLDS)
    assert raised.level == expected


def test_patterns_keep_their_specific_category() -> None:
    found = Assessment(level="concern", category="abuse_or_violence")
    raised = raise_with_classifier(found, _prediction(high=0.9, none=0.1), THRESHOLDS)
    assert (raised.level, raised.category) == ("high", "abuse_or_violence")


def test_everyday_messages_leave_out_help_seeking_intents() -> None:
    texts = {normalise(i["text"]) for i in load_everyday_messages()}
    assert len(texts) > 500
    assert normalise("i need help now") not in texts  # a help_now example, not a benign one
    assert all(i["level"] == "none" for i in load_everyday_messages())


def test_a_short_message_without_crisis_words_needs_a_near_certain_classifier() -> None:
    likely = _prediction(imminent=0.8, none=0.2)
    assert raise_with_classifier(NONE, likely, THRESHOLDS, words=2) is NONE
    assert raise_with_classifier(NONE, likely, THRESHOLDS, words=12).level == "imminent"
    assert raise_with_classifier(NONE, _prediction(imminent=0.95, none=0.05), THRESHOLDS, words=2).level == "imminent"
    found = Assessment(level="high", category="suicide")
    assert raise_with_classifier(found, _prediction(imminent=0.95, none=0.05), THRESHOLDS, words=2).level == "imminent"


@pytest.mark.parametrize(
    "text",
    [
        "i want to kill myself tonight",
        "I'm NOT suicidal, just tired!!!",
        "my sister hits me when mum is out",
        "this homework is killing me lol",
        "",
        "😭😭😭",
        "kms fr",
        "x" * 5000,
    ],
)
def test_fast_features_give_scikit_learns_probabilities_and_category(text: str) -> None:
    # predict() does the tf-idf and linear maths itself (scikit-learn's transform costs 2 ms a
    # message); it must give what the fitted scikit-learn models give.
    classifier = get_classifier()
    reference = classifier.features.transform([text])
    expected = classifier.level_model.predict_proba(reference)[0]
    prediction = classifier.predict(text)
    for name, probability in zip(classifier.level_model.classes_, expected, strict=True):
        assert prediction.probabilities[str(name)] == pytest.approx(float(probability), abs=1e-4)
    if prediction.level != "none":
        assert prediction.category == str(classifier.category_model.predict(reference)[0])
