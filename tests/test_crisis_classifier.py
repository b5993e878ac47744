"""The corpus classifier: its corpus, its features and how it may raise the pattern verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.crisis.classifier import (
    CACHE_PREFIX,
    CORPUS_DIR,
    LEVELS,
    CrisisClassifier,
    Prediction,
    cached_classifier,
    fingerprint,
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
    sets = ("eval", "test", "dev3", "dev4", "dev5", "dev6", "dev7", "holdout", "holdout2", "holdout3", "holdout4")
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


FEATURE_CASES = [
    "i want to kill myself tonight",
    "I'm NOT suicidal, just tired!!!",
    "my sister hits me when mum is out",
    "this homework is killing me lol",
    "",
    "😭😭😭",
    "kms fr",
    "x" * 5000,
]


@pytest.fixture(scope="module")
def fitted() -> CrisisClassifier:
    """A classifier fitted here on a third of the corpus (quicker; the maths is the same)."""
    return CrisisClassifier((load_corpus() + load_everyday_messages())[::3])


@pytest.mark.parametrize("text", FEATURE_CASES)
def test_fast_features_give_scikit_learns_probabilities_and_category(fitted: CrisisClassifier, text: str) -> None:
    # predict() does the tf-idf and linear maths itself (scikit-learn's transform costs 2 ms a
    # message); it must give what the fitted scikit-learn models give.
    reference = fitted.features.transform([text])
    expected = fitted.level_model.predict_proba(reference)[0]
    prediction = fitted.predict(text)
    for name, probability in zip(fitted.level_model.classes_, expected, strict=True):
        assert prediction.probabilities[str(name)] == pytest.approx(float(probability), abs=1e-4)
    if prediction.level != "none":
        assert prediction.category == str(fitted.category_model.predict(reference)[0])


def test_a_saved_classifier_reads_back_with_the_same_predictions(fitted: CrisisClassifier, tmp_path: Path) -> None:
    fitted.save(tmp_path / "state.npz")
    loaded = CrisisClassifier.load(tmp_path / "state.npz")
    for text in FEATURE_CASES:
        assert loaded.predict(text) == fitted.predict(text)
    assert not any(tmp_path.glob("*.tmp"))


def _no_fitting(*args: object, **kwargs: object) -> None:
    raise AssertionError("fitted although a cached state was there")


def test_the_cache_is_read_instead_of_fitting_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    items = load_corpus()[::5]
    first = cached_classifier(items, tmp_path)
    [saved] = tmp_path.glob(f"{CACHE_PREFIX}*.npz")
    monkeypatch.setattr(CrisisClassifier, "__init__", _no_fitting)
    second = cached_classifier(items, tmp_path)
    for text in FEATURE_CASES:
        assert second.predict(text) == first.predict(text)
    assert list(tmp_path.glob(f"{CACHE_PREFIX}*.npz")) == [saved]


def test_other_training_items_make_a_new_cache_and_remove_the_old(tmp_path: Path) -> None:
    items = load_corpus()[::7]
    cached_classifier(items, tmp_path)
    [old] = tmp_path.glob(f"{CACHE_PREFIX}*.npz")
    changed = [*items, {"text": "a new contrast item", "level": "none", "category": "none"}]
    assert fingerprint(changed) != fingerprint(items)
    cached_classifier(changed, tmp_path)
    [new] = tmp_path.glob(f"{CACHE_PREFIX}*.npz")
    assert new != old and new.name == f"{CACHE_PREFIX}{fingerprint(changed)}.npz"


def test_a_damaged_cache_is_refitted_and_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    items = load_corpus()[::7]
    path = tmp_path / f"{CACHE_PREFIX}{fingerprint(items)}.npz"
    path.write_bytes(b"not an archive")
    classifier = cached_classifier(items, tmp_path)
    assert classifier.predict("i want to end my life tonight").level != "none"
    assert CrisisClassifier.load(path).predict("kms fr") == classifier.predict("kms fr")
    assert "could not be read" in caplog.text


def test_an_unwritable_cache_only_costs_the_fit(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("in the way", encoding="utf-8")
    classifier = cached_classifier(load_corpus()[::7], blocked / "cache")
    assert classifier.predict("what a lovely sunny day").level == "none"
    assert "could not be cached" in caplog.text
