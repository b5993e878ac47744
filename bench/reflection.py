"""How often the reflection names the pattern an answer set was written to show.

bench/reflection_eval.yml holds realistic answer sets written apart from the cue lists, each
labelled with the intended pattern. This scores each set exactly as `action_reflect` does and
reports accuracy (target at least 85%), the confusion table, and how often the picture was
mixed. Writes bench/reflection_results.json (counts only) and prints a table.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bot.reflection.bank import get_bank
from bot.reflection.compose import get_wording
from bot.reflection.cues import get_analyzer
from bot.reflection.scoring import pick, score

EVAL_FILE = Path(__file__).with_name("reflection_eval.yml")
RESULTS = Path(__file__).with_name("reflection_results.json")
PATTERNS = ("secure", "anxious", "avoidant", "disorganized", "mixed")


def answers_of(item: dict[str, Any]) -> dict[str, Any]:
    """An answer set as the intake stores it: `skip` becomes None."""
    return {qid: (None if value == "skip" else value) for qid, value in item["answers"].items()}


def evaluate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy and confusions of the picker on labelled answer sets."""
    bank, analyzer, thresholds = get_bank(), get_analyzer(), get_wording()["thresholds"]
    confusion = {gold: dict.fromkeys(PATTERNS, 0) for gold in PATTERNS[:4]}
    confidence: Counter[str] = Counter()
    for item in items:
        picture = pick(score(answers_of(item), bank, analyzer), thresholds)
        confusion[item["pattern"]][picture.pattern] += 1
        confidence[picture.confidence] += 1
    correct = sum(confusion[p][p] for p in PATTERNS[:4])
    return {
        "sets": len(items),
        "accuracy": round(correct / len(items), 4),
        "mixed": sum(row["mixed"] for row in confusion.values()),
        "confidence": dict(confidence),
        "confusion": confusion,
    }


def main() -> int:
    """Run the evaluation, print the table and write the JSON."""
    items = yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))["items"]
    result = evaluate(items)
    print(f"\n# Reflection: {result['sets']} answer sets")
    print(f"pattern named as intended: {result['accuracy']:.1%} (target >= 85%)")
    print(f"mixed picture: {result['mixed']}; confidence: {result['confidence']}")
    print("| intended \\ named | " + " | ".join(PATTERNS) + " |")
    print("|---|" + "---|" * len(PATTERNS))
    for gold, row in result["confusion"].items():
        print(f"| {gold} | " + " | ".join(str(row[p]) for p in PATTERNS) + " |")
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
