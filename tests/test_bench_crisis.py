"""The crisis bench's scoring on a handful of made-up predictions."""

from __future__ import annotations

from bench.crisis import score


def test_score_counts_misses_false_alarms_and_each_category() -> None:
    items = [
        {"text": "a", "level": "imminent", "category": "suicide"},
        {"text": "b", "level": "imminent", "category": "suicide"},
        {"text": "c", "level": "high", "category": "abuse_or_violence"},
        {"text": "d", "level": "none", "category": "none"},
        {"text": "e", "level": "none", "category": "none"},
    ]
    predicted = [
        ("imminent", "suicide"),
        ("high", "suicide"),
        ("concern", "suicide"),
        ("high", "suicide"),
        ("none", "none"),
    ]
    metrics = score(items, predicted)
    assert metrics["recall_high_imminent"] == round(2 / 3, 4)
    assert metrics["imminent_as_imminent"] == 0.5
    assert metrics["false_alarm_rate"] == 0.5
    assert metrics["by_category"] == {
        "abuse_or_violence": {"serious": 1, "found": 0, "imminent": 0, "as_imminent": 0},
        "suicide": {"serious": 2, "found": 2, "imminent": 2, "as_imminent": 1},
    }
    assert [m["text"] for m in metrics["missed_high_imminent"]] == ["c"]
    assert metrics["confusion"]["imminent"]["high"] == 1
