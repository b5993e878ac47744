"""Crisis detector evaluation on eleven labelled sets.

- bench/crisis_holdout4.yml: the held-out test set (2026-12-08), written by a separate author who
  saw only the labelling rules; nobody who builds the detector reads it, and its texts are never
  printed (no `--verbose` for it). The targets are judged on this set. First scored at the code of
  the session's start, before any change it could have guided.
- bench/crisis_holdout3.yml: the third held-out set (2026-12-07, late night), written the same way.
  Its texts were never shown, but it was scored three times, so it is now a development set scored
  by counts only.
- bench/crisis_holdout2.yml: the second held-out test set, written the same way. Its texts were
  never shown, but it was scored three times, so it is now a development set scored by counts only.
- bench/crisis_holdout.yml: the first held-out test set, written the same way. Its texts were never
  shown either, but it was scored nine times, and on 2026-12-07 its counts (never its texts) were
  used to find which changes cost it a serious message, so it is now a development set scored by
  counts only. Its texts are still never printed.
- bench/crisis_test.yml: the previous test set. Its texts were once printed to the developer's
  console, and it was used to choose between classifier variants, so it is now a second
  development set.
- bench/crisis_eval.yml: the development set; its misses were studied while the lists were written.
- bench/crisis_dev3.yml: a third development set (2026-12-07, a separate author who saw only the
  labelling rules), first scored before any change it could have guided; it checks that a
  change tuned on the other two development sets holds on messages nobody tuned on. Its false
  alarms were studied from the afternoon of 2026-12-07, once development set 4 took its place.
- bench/crisis_dev4.yml: a fourth development set (2026-12-07, evening, a separate author who saw
  only the labelling rules), first scored before any change it could have guided: recall 97.7%,
  imminent 96.9%, false alarms 15.0% (420 messages then; four were taken out afterwards: two that
  were also training messages, two that were already in other sets).
- bench/crisis_dev5.yml: a fifth development set (2026-12-07, night, a separate author who saw only
  the labelling rules), first scored before any change it could have guided: recall 92.7%,
  imminent 85.3%, false alarms 8.1% (corpus part 14, written without sight of it, was already in).
- bench/crisis_dev6.yml: a sixth development set (2026-12-07, late night, a separate author who saw
  only the labelling rules, asked to weigh serious messages told without crisis words and benign
  messages that look risky), first scored before any change it could have guided: recall 90.5%,
  imminent 86.4%, false alarms 4.9% (413 messages; four duplicates of other sets taken out unread).
- bench/crisis_dev7.yml: a seventh development set (2026-12-08, a separate author who saw only the
  labelling rules, asked to weigh danger from another person told in everyday words, oblique means,
  symptoms without names, third persons and intense benign messages), first scored before any
  change it could have guided: recall 84.9%, imminent 77.8%, false alarms 9.5% (403 messages). The
  request for corpus part 16 paraphrased some of its messages, so its later figures flatter.

None of them is in the classifier's training corpus (bot/crisis/corpus/).

Reports, for the phrase patterns alone, for the shipped detector (patterns plus the corpus
classifier) and for the full NLU pipeline as the Rasa server runs it:

- recall of high + imminent (target 100%, never below 98%);
- imminent classified as imminent (target 95%);
- false alarms on benign messages (target at most 3%);
- the level confusion table and category accuracy;
- detector time per message (target under 2 ms).

Writes bench/crisis_results.json and prints a table. `--patterns-only` skips the Rasa model.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bot.crisis.detector import LEVELS, CrisisDetector, get_detector, level_rank, load_phrases

SETS = {
    "held-out test": Path(__file__).with_name("crisis_holdout4.yml"),
    "third held-out set (now development, counts only)": Path(__file__).with_name("crisis_holdout3.yml"),
    "second held-out set (now development, counts only)": Path(__file__).with_name("crisis_holdout2.yml"),
    "first held-out set (now development, counts only)": Path(__file__).with_name("crisis_holdout.yml"),
    "previous test (now development)": Path(__file__).with_name("crisis_test.yml"),
    "development (used for tuning)": Path(__file__).with_name("crisis_eval.yml"),
    "development 3": Path(__file__).with_name("crisis_dev3.yml"),
    "development 4": Path(__file__).with_name("crisis_dev4.yml"),
    "development 5": Path(__file__).with_name("crisis_dev5.yml"),
    "development 6": Path(__file__).with_name("crisis_dev6.yml"),
    "development 7": Path(__file__).with_name("crisis_dev7.yml"),
}
SEALED = {
    "held-out test",
    "third held-out set (now development, counts only)",
    "second held-out set (now development, counts only)",
    "first held-out set (now development, counts only)",
}
RESULTS = Path(__file__).with_name("crisis_results.json")


def load_items(path: Path) -> list[dict[str, str]]:
    """The labelled messages of one set."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [{"text": str(i["text"]), "level": str(i["level"]), "category": str(i["category"])} for i in data["items"]]


def score(items: list[dict[str, str]], predicted: list[tuple[str, str]]) -> dict[str, Any]:
    """Safety metrics of predictions (level, category) against the labels."""
    serious = [(i, p) for i, p in zip(items, predicted, strict=True) if i["level"] in ("high", "imminent")]
    imminent = [(i, p) for i, p in zip(items, predicted, strict=True) if i["level"] == "imminent"]
    benign = [(i, p) for i, p in zip(items, predicted, strict=True) if i["level"] == "none"]
    detected = [(i, p) for i, p in zip(items, predicted, strict=True) if i["level"] != "none" and p[0] != "none"]
    confusion = {gold: {pred: 0 for pred in LEVELS} for gold in LEVELS}
    for item, (level, _) in zip(items, predicted, strict=True):
        confusion[item["level"]][level] += 1
    misses = [
        {"text": i["text"], "label": i["level"], "predicted": p[0]}
        for i, p in serious
        if level_rank(p[0]) < level_rank("high")
    ]
    false_alarms = [{"text": i["text"], "predicted": p[0], "category": p[1]} for i, p in benign if p[0] != "none"]
    # Per category of the label: serious messages found (high or above) and imminent ones read as imminent.
    by_category: dict[str, dict[str, int]] = {}
    for item, (level, _) in serious:
        entry = by_category.setdefault(item["category"], {"serious": 0, "found": 0, "imminent": 0, "as_imminent": 0})
        entry["serious"] += 1
        entry["found"] += level_rank(level) >= level_rank("high")
        entry["imminent"] += item["level"] == "imminent"
        entry["as_imminent"] += item["level"] == "imminent" and level == "imminent"
    return {
        "recall_high_imminent": round(sum(level_rank(p[0]) >= 2 for _, p in serious) / len(serious), 4),
        "imminent_as_imminent": round(sum(p[0] == "imminent" for _, p in imminent) / len(imminent), 4),
        "any_response_for_concern": round(
            sum(p[0] != "none" for i, p in zip(items, predicted, strict=True) if i["level"] == "concern")
            / max(1, sum(i["level"] == "concern" for i in items)),
            4,
        ),
        "false_alarm_rate": round(len(false_alarms) / len(benign), 4),
        "category_accuracy_when_detected": round(
            sum(i["category"] == p[1] for i, p in detected) / max(1, len(detected)), 4
        ),
        "confusion": confusion,
        "by_category": dict(sorted(by_category.items())),
        "missed_high_imminent": misses,
        "false_alarms": false_alarms,
    }


def patterns_only() -> CrisisDetector:
    """The detector without its classifier."""
    from bot import nlp

    return CrisisDetector(load_phrases(), nlp.load())


def run_detector(
    items: list[dict[str, str]], detector: CrisisDetector
) -> tuple[list[tuple[str, str]], dict[str, float]]:
    """Assess every message with one detector, timing each message."""
    detector.assess("warm-up message about nothing in particular")
    predicted, times = [], []
    for item in items:
        start = time.perf_counter()
        verdict = detector.assess(item["text"])
        times.append((time.perf_counter() - start) * 1000)
        predicted.append((verdict.level, verdict.category))
    timing = {
        "mean_ms": round(statistics.fmean(times), 3),
        "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))], 3),
        "max_ms": round(max(times), 3),
    }
    return predicted, timing


def spacy_reference_ms(items: list[dict[str, str]]) -> float:
    """Mean time of the bare spaCy pipeline on the same messages: the machine's speed, in the same run.

    The detector's time is dominated by spaCy's tagger for lemmas, so the ratio of the two holds
    from one machine to another where the milliseconds do not.
    """
    from bot import nlp

    pipeline = nlp.load()
    pipeline("warm-up message about nothing in particular")
    times = []
    for item in items:
        start = time.perf_counter()
        pipeline(item["text"].lower())
        times.append((time.perf_counter() - start) * 1000)
    return round(statistics.fmean(times), 3)


def run_pipeline(items: list[dict[str, str]], model: Path) -> list[tuple[str, str]]:
    """Assess with the trained model's whole NLU pipeline (patterns and classifier)."""
    import asyncio
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)  # Rasa's debug log would print every message text
    logging.getLogger("rasa").setLevel(logging.WARNING)
    agent = Agent.load(str(model))
    predicted = []
    for item in items:
        parsed = asyncio.run(agent.parse_message(item["text"]))
        verdict = parsed.get("crisis") or {}
        predicted.append((str(verdict.get("level", "none")), str(verdict.get("category", "none"))))
    return predicted


def print_report(name: str, metrics: dict[str, Any], verbose: bool = False) -> None:
    """Print one configuration's figures and confusion table."""
    print(f"\n## {name}")
    print(f"recall high+imminent:   {metrics['recall_high_imminent']:.1%} (target 100%, floor 98%)")
    print(f"imminent as imminent:   {metrics['imminent_as_imminent']:.1%} (target 95%)")
    print(f"concern answered:       {metrics['any_response_for_concern']:.1%}")
    print(f"false alarms (benign):  {metrics['false_alarm_rate']:.1%} (target <= 3%)")
    print(f"category accuracy:      {metrics['category_accuracy_when_detected']:.1%}")
    print("| label \\ predicted | " + " | ".join(LEVELS) + " |")
    print("|---|" + "---|" * len(LEVELS))
    for gold in LEVELS:
        print(f"| {gold} | " + " | ".join(str(metrics["confusion"][gold][p]) for p in LEVELS) + " |")
    print("| category | serious found | imminent as imminent |")
    print("|---|---|---|")
    for category, counts in metrics["by_category"].items():
        print(
            f"| {category} | {counts['found']}/{counts['serious']} | {counts['as_imminent']}/{counts['imminent']} |"
        )
    print(f"missed high/imminent: {len(metrics['missed_high_imminent'])}, false alarms: {len(metrics['false_alarms'])}")
    if verbose:  # message texts: only on request, so the unseen set stays unseen by default
        for miss in metrics["missed_high_imminent"]:
            print(f"  missed ({miss['label']} -> {miss['predicted']}): {miss['text']}")
        for alarm in metrics["false_alarms"]:
            print(f"  false alarm ({alarm['predicted']}/{alarm['category']}): {alarm['text']}")


def main() -> int:
    """Run the evaluation on every set and write bench/crisis_results.json."""
    model = Path("models/current.tar.gz")
    results: dict[str, Any] = {}
    configurations = {"patterns": patterns_only(), "detector": get_detector()}
    for name, path in SETS.items():
        verbose = "--verbose" in sys.argv and name not in SEALED
        items = load_items(path)
        entry: dict[str, Any] = {
            "file": path.name,
            "items": len(items),
            "by_level": dict(Counter(i["level"] for i in items)),
        }
        print(f"\n# {name}: {path.name}, {len(items)} messages")
        for key, detector in configurations.items():
            predicted, timing = run_detector(items, detector)
            entry[key] = {**score(items, predicted), "time_per_message": timing}
            label = "patterns alone" if key == "patterns" else "detector: patterns + corpus classifier (shipped)"
            print_report(label, entry[key], verbose)
            print(f"time per message: mean {timing['mean_ms']} ms, p95 {timing['p95_ms']} ms (target < 2 ms)")
        entry["spacy_alone_mean_ms"] = spacy_reference_ms(items)
        print(f"reference, spaCy's pipeline alone on every message: mean {entry['spacy_alone_mean_ms']} ms")
        if "--patterns-only" not in sys.argv and model.exists():
            entry["pipeline"] = score(items, run_pipeline(items, model))
            print_report("full NLU pipeline in the Rasa model", entry["pipeline"], verbose)
        results[name] = entry
    RESULTS.write_text(json.dumps(_counts_only(results), indent=2) + "\n")
    return 0


def _counts_only(results: dict[str, Any]) -> dict[str, Any]:
    """The results without message texts, so the test set stays unseen by whoever reads them."""
    for entry in results.values():
        for key in ("patterns", "detector", "pipeline"):
            if key in entry:
                entry[key]["missed_high_imminent"] = len(entry[key]["missed_high_imminent"])
                entry[key]["false_alarms"] = len(entry[key]["false_alarms"])
    return results


if __name__ == "__main__":
    sys.exit(main())
