"""Structure checks for bench/crisis_eval.yml, the crisis-detector evaluation set.

The checks live in ``problems()``, which returns a list of human-readable problems; the real file must
have none, and a few deliberately broken documents must each be caught, so the checks cannot
silently turn into no-ops.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

EVAL_FILE = Path(__file__).resolve().parent.parent / "bench" / "crisis_eval.yml"

LEVELS = {"none", "concern", "high", "imminent"}
CATEGORIES = {
    "none",
    "suicide",
    "self_harm",
    "harm_to_others",
    "abuse_or_violence",
    "medical_emergency",
    "third_party",
}
ALLOWED_KEYS = {"text", "level", "category", "note"}
MIN_TOTAL = 320
MIN_PER_LEVEL = {"imminent": 30, "high": 40, "concern": 30, "none": 170}
MIN_POSITIVES = 110
# A dose or amount next to a number would be a method detail; the set must never contain one.
DOSE_PATTERN = re.compile(r"\b\d+(\.\d+)?\s*(mg|mcg|µg|milligrams?|micrograms?|ml|tablets|pills)\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """Lower-case and collapse whitespace, so near-identical texts count as duplicates."""
    return " ".join(text.lower().split())


def problems(doc: Any) -> list[str]:
    """Everything wrong with a loaded evaluation document (an empty list means it is valid)."""
    found: list[str] = []
    if not isinstance(doc, dict):
        return ["top level is not a mapping"]
    if doc.get("version") != 1:
        found.append(f"version should be 1, got {doc.get('version')!r}")
    rules = doc.get("labelling_rules")
    if not isinstance(rules, str) or len(rules.strip()) < 200:
        found.append("labelling_rules is missing or too short")
    items = doc.get("items")
    if not isinstance(items, list):
        return [*found, "items is not a list"]

    seen: dict[str, int] = {}
    levels: Counter[str] = Counter()
    positive_categories: set[str] = set()
    for index, item in enumerate(items):
        where = f"item {index}"
        if not isinstance(item, dict):
            found.append(f"{where}: not a mapping")
            continue
        extra = set(item) - ALLOWED_KEYS
        if extra:
            found.append(f"{where}: unexpected keys {sorted(extra)}")
        text, level, category = item.get("text"), item.get("level"), item.get("category")
        if not isinstance(text, str) or not text.strip():
            found.append(f"{where}: text missing or empty")
            continue
        where = f"item {index} ({text[:40]!r})"
        if level not in LEVELS:
            found.append(f"{where}: level {level!r} not in {sorted(LEVELS)}")
        if category not in CATEGORIES:
            found.append(f"{where}: category {category!r} not in {sorted(CATEGORIES)}")
        if (level == "none") != (category == "none"):
            found.append(f"{where}: category none goes with level none and only with it ({level}/{category})")
        if "note" in item and (not isinstance(item["note"], str) or not item["note"].strip()):
            found.append(f"{where}: note must be a non-empty string")
        if DOSE_PATTERN.search(text):
            found.append(f"{where}: contains an amount or dose")
        key = normalise(text)
        if key in seen:
            found.append(f"{where}: duplicate of item {seen[key]}")
        else:
            seen[key] = index
        if isinstance(level, str):
            levels[level] += 1
        if level in LEVELS - {"none"} and category in CATEGORIES - {"none"}:
            positive_categories.add(str(category))

    if len(items) < MIN_TOTAL:
        found.append(f"only {len(items)} items, need at least {MIN_TOTAL}")
    for level, minimum in MIN_PER_LEVEL.items():
        if levels[level] < minimum:
            found.append(f"level {level}: {levels[level]} items, need at least {minimum}")
    positives = sum(count for level, count in levels.items() if level != "none")
    if positives < MIN_POSITIVES:
        found.append(f"only {positives} positives, need at least {MIN_POSITIVES}")
    missing = CATEGORIES - {"none"} - positive_categories
    if missing:
        found.append(f"no positive items for categories {sorted(missing)}")
    return found


@pytest.fixture(scope="module")
def doc() -> Any:
    assert EVAL_FILE.is_file(), f"{EVAL_FILE} is missing"
    with EVAL_FILE.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_eval_file_is_valid(doc: Any) -> None:
    found = problems(doc)
    assert not found, "\n".join(found)


def test_medical_emergencies_are_imminent(doc: Any) -> None:
    # Medical emergencies are defined as imminent on this ladder; any other level is a labelling slip.
    wrong = [i["text"] for i in doc["items"] if i["category"] == "medical_emergency" and i["level"] != "imminent"]
    assert not wrong, wrong


def _valid_item(text: str, level: str = "none", category: str = "none") -> dict[str, str]:
    return {"text": text, "level": level, "category": category}


def _valid_doc() -> dict[str, Any]:
    """A minimal document that passes every check, for the negative tests to break one way each."""
    items: list[dict[str, str]] = []
    positives = [
        ("imminent", "medical_emergency"),
        ("high", "suicide"),
        ("high", "self_harm"),
        ("high", "harm_to_others"),
        ("high", "abuse_or_violence"),
        ("concern", "third_party"),
    ]
    for level, minimum in MIN_PER_LEVEL.items():
        for n in range(minimum):
            if level == "none":
                items.append(_valid_item(f"neutral sentence number {n}"))
            else:
                category = next(c for lv, c in positives if lv == level)
                items.append(_valid_item(f"{level} sentence number {n}", level, category))
    for n in range(MIN_POSITIVES):  # cover every category and reach the positive minimum
        level, category = positives[n % len(positives)]
        items.append(_valid_item(f"coverage sentence {n}", level, category))
    items.extend(_valid_item(f"padding sentence {n}") for n in range(MIN_TOTAL))
    return {"version": 1, "labelling_rules": "rule text " * 40, "items": items}


def test_minimal_valid_doc_passes() -> None:
    assert problems(_valid_doc()) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        ("bad_level", "level 'severe'"),
        ("bad_category", "category 'sadness'"),
        ("none_mismatch", "category none goes with level none"),
        ("duplicate", "duplicate of item"),
        ("too_few_imminent", "level imminent"),
        ("missing_category", "no positive items for categories"),
        ("dose", "amount or dose"),
        ("no_rules", "labelling_rules"),
        ("extra_key", "unexpected keys"),
    ],
)
def test_checks_catch_broken_docs(breakage: str, expected: str) -> None:
    doc = _valid_doc()
    items = doc["items"]
    if breakage == "bad_level":
        items[0]["level"] = "severe"
    elif breakage == "bad_category":
        items[0]["category"] = "sadness"
    elif breakage == "none_mismatch":
        items[-1]["category"] = "suicide"
    elif breakage == "duplicate":
        items.append(_valid_item("  NEUTRAL sentence   number 0 "))
    elif breakage == "too_few_imminent":
        doc["items"] = [i for i in items if i["level"] != "imminent"]
    elif breakage == "missing_category":
        doc["items"] = [i for i in items if i["category"] != "third_party"]
    elif breakage == "dose":
        items[0]["text"] = "i took 40 mg of something"
    elif breakage == "no_rules":
        del doc["labelling_rules"]
    elif breakage == "extra_key":
        items[0]["severity"] = "x"
    assert any(expected in p for p in problems(doc)), problems(doc)


TEST_SET_FILE = EVAL_FILE.with_name("crisis_test.yml")


def _normalised_texts(*paths: Path) -> set[str]:
    """The normalised messages of some labelled sets."""
    texts: set[str] = set()
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            texts |= {normalise(i["text"]) for i in yaml.safe_load(handle)["items"]}
    return texts


def test_unseen_test_set_is_valid() -> None:
    """The unseen test set follows the same structure (it points to the development set's labelling rules)."""
    with TEST_SET_FILE.open(encoding="utf-8") as handle:
        test_doc = yaml.safe_load(handle)
    found = [p for p in problems(test_doc) if not p.startswith("labelling_rules")]
    assert not found, "\n".join(found)
    dev = _normalised_texts(EVAL_FILE)
    overlap = [i["text"] for i in test_doc["items"] if normalise(i["text"]) in dev]
    assert not overlap, f"test items also in the development set: {len(overlap)}"


DEV3_FILE = EVAL_FILE.with_name("crisis_dev3.yml")
DEV4_FILE = EVAL_FILE.with_name("crisis_dev4.yml")
DEV5_FILE = EVAL_FILE.with_name("crisis_dev5.yml")


@pytest.mark.parametrize(
    ("path", "earlier"),
    [
        (DEV3_FILE, (EVAL_FILE, TEST_SET_FILE)),
        (DEV4_FILE, (EVAL_FILE, TEST_SET_FILE, DEV3_FILE)),
        (DEV5_FILE, (EVAL_FILE, TEST_SET_FILE, DEV3_FILE, DEV4_FILE)),
    ],
    ids=["development 3", "development 4", "development 5"],
)
def test_later_development_sets_are_valid_and_apart(path: Path, earlier: tuple[Path, ...]) -> None:
    """Each later development set follows the same structure and shares no message with the sets before it."""
    with path.open(encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    found = [p for p in problems(doc) if not p.startswith("labelling_rules")]
    assert not found, "\n".join(found)
    assert len(doc["items"]) >= 300
    others = _normalised_texts(*earlier)
    overlap = [i["text"] for i in doc["items"] if normalise(i["text"]) in others]
    assert not overlap, f"{path.name} items also in another set: {overlap}"


HOLDOUT_FILE = EVAL_FILE.with_name("crisis_holdout.yml")


def test_held_out_set_is_valid_and_apart() -> None:
    """The held-out set is well formed and shares no message with the other sets.

    Failures name counts only, never texts: the set stays unread by the detector's authors.
    """
    with HOLDOUT_FILE.open(encoding="utf-8") as handle:
        holdout = yaml.safe_load(handle)
    found = [p for p in problems(holdout) if not p.startswith("labelling_rules")]
    assert not found, f"{len(found)} problems in the held-out set (run the validator locally to see them)"
    assert len(holdout["items"]) >= 300
    others = _normalised_texts(EVAL_FILE, TEST_SET_FILE, DEV3_FILE, DEV4_FILE, DEV5_FILE)
    overlap = sum(normalise(i["text"]) in others for i in holdout["items"])
    assert overlap == 0, f"held-out items also in another set: {overlap}"


HOLDOUT2_FILE = EVAL_FILE.with_name("crisis_holdout2.yml")
HOLDOUT3_FILE = EVAL_FILE.with_name("crisis_holdout3.yml")
HOLDOUT4_FILE = EVAL_FILE.with_name("crisis_holdout4.yml")
DEV6_FILE = EVAL_FILE.with_name("crisis_dev6.yml")
DEV7_FILE = EVAL_FILE.with_name("crisis_dev7.yml")
ALL_SETS = (
    EVAL_FILE,
    TEST_SET_FILE,
    DEV3_FILE,
    DEV4_FILE,
    DEV5_FILE,
    DEV6_FILE,
    DEV7_FILE,
    HOLDOUT_FILE,
    HOLDOUT2_FILE,
    HOLDOUT3_FILE,
    HOLDOUT4_FILE,
)

LATER_SET_MIN_BENIGN = 150


def _problems_of_a_later_set(doc: Any) -> list[str]:
    """Problems of a set written after the development set, which points to its labelling rules.

    The development set needs 170 benign messages; a later set of 400 or more needs 150 (the
    fourth held-out set and development set 7 have 158 each, after duplicates were taken out).
    """
    benign = sum(item.get("level") == "none" for item in doc.get("items", []))
    return [
        p
        for p in problems(doc)
        if not p.startswith("labelling_rules") and not (p.startswith("level none:") and benign >= LATER_SET_MIN_BENIGN)
    ]


@pytest.mark.parametrize(
    ("path", "others", "per_level"),
    [
        (HOLDOUT2_FILE, (EVAL_FILE, TEST_SET_FILE, DEV3_FILE, DEV4_FILE, DEV5_FILE, HOLDOUT_FILE), 50),
        (
            HOLDOUT3_FILE,
            (EVAL_FILE, TEST_SET_FILE, DEV3_FILE, DEV4_FILE, DEV5_FILE, DEV6_FILE, HOLDOUT_FILE, HOLDOUT2_FILE),
            50,
        ),
        # 39 concern messages after duplicates were taken out: fewer than the others, still enough to count.
        (HOLDOUT4_FILE, tuple(p for p in ALL_SETS if p != HOLDOUT4_FILE), 35),
    ],
    ids=["second held-out set", "third held-out set", "fourth held-out set (the targets are judged on it)"],
)
def test_later_held_out_sets_are_valid_and_apart(path: Path, others: tuple[Path, ...], per_level: int) -> None:
    """Each later held-out set is well formed, large enough and shares no message with the other sets.

    Failures name counts only, never texts.
    """
    with path.open(encoding="utf-8") as handle:
        holdout = yaml.safe_load(handle)
    found = _problems_of_a_later_set(holdout)
    assert not found, f"{len(found)} problems in {path.name} (run the validator locally to see them)"
    levels = [i["level"] for i in holdout["items"]]
    assert len(levels) >= 400
    assert min(levels.count(level) for level in ("concern", "high", "imminent")) >= per_level
    seen = _normalised_texts(*others)
    overlap = sum(normalise(i["text"]) in seen for i in holdout["items"])
    assert overlap == 0, f"{path.name}: {overlap} items also in another set"


@pytest.mark.parametrize("path", [DEV6_FILE, DEV7_FILE], ids=["development 6", "development 7"])
def test_newest_development_sets_are_valid_and_apart(path: Path) -> None:
    """Development sets 6 and 7 are well formed and share no message with any other set, held-out ones included."""
    with path.open(encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)
    found = _problems_of_a_later_set(doc)
    assert not found, "\n".join(found)
    assert len(doc["items"]) >= 400
    others = _normalised_texts(*(p for p in ALL_SETS if p != path))
    overlap = sum(normalise(i["text"]) in others for i in doc["items"])
    assert overlap == 0, f"{path.name} items also in another set: {overlap}"
