"""Anonymizer evaluation on bench/anonymization_eval.yml (written apart from the anonymizer).

For our anonymizer (bot.review.anonymize) and, as the baseline in the same run, Presidio's default
analyzer on the same spaCy model with its default recognizers and replacement:

- personal data removed: the share of marked spans of which nothing identifying is left (the span
  itself, or any of its words or numbers that the rest of the message does not contain anyway);
  target 100%, never below 97%;
- clinical words kept: the share of the marked clinical and relational words still there
  (target at least 97%);
- messages per second on one core, and the removal rate per kind of data;
- the worst time over adversarial inputs of 5,000 characters (runs of "a.", "1-", "(" ...).

Writes bench/anonymize_results.json and prints a table. Message texts are never printed unless
`--verbose` is given (they are fictional, but the habit matters).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

EVAL_FILE = Path(__file__).with_name("anonymization_eval.yml")
# Written by a second author and used while building the anonymizer; the held-out set above is not.
DEV_FILE = Path(__file__).with_name("anonymization_dev.yml")
DEV2_FILE = Path(__file__).with_name("anonymization_dev2.yml")  # a third author's hard cases
DEV3_FILE = Path(__file__).with_name("anonymization_dev3.yml")  # a fourth author's realistic mix
DEV4_FILE = Path(__file__).with_name("anonymization_dev4.yml")  # a fifth author's ages, addresses, places
DEV5_FILE = Path(__file__).with_name("anonymization_dev5.yml")  # a sixth author's addresses abroad, house names
RESULTS = Path(__file__).with_name("anonymize_results.json")
# Words of a span that identify nobody on their own ("14 Oak St": "St" may stay).
GENERIC = frozenset(
    "st street ave avenue rd road dr drive ln lane apt apartment unit suite ste blvd ct way pl place the of and at in "
    "on to id no member policy group number box po mr mrs ms dr. my is year years yr yrs old yo".split()
)
_WORD = re.compile(r"[\w@.+-]+")


def load_items(path: Path) -> list[dict[str, Any]]:
    """The evaluation messages with their marked personal data and clinical words."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["items"])


def _words(text: str) -> list[str]:
    return [w.strip(".,;:!?()").lower() for w in _WORD.findall(text) if w.strip(".,;:!?()")]


def leaked(item: dict[str, Any], output: str, span: str) -> bool:
    """Whether anything identifying of one marked span is left in the output."""
    if re.search(rf"(?<!\w){re.escape(span)}(?!\w)", output):
        return True
    background = item["text"]
    for pii in item.get("pii") or []:
        background = background.replace(pii["text"], " ")
    remaining = Counter(_words(output))
    expected = Counter(_words(background))
    for word in _words(span):
        if word in GENERIC or (len(word) < 2 and not word.isdigit()):
            continue
        if remaining[word] > expected[word]:
            return True
    return False


def kept(output: str, word: str) -> bool:
    """Whether a clinical word survived as a whole word."""
    return re.search(rf"(?<![\w-]){re.escape(word.lower())}(?![\w-])", output.lower()) is not None


def evaluate(items: list[dict[str, Any]], anonymize: Callable[[str], str], verbose: bool = False) -> dict[str, Any]:
    """Score one anonymizer on every item (each item is its own conversation)."""
    anonymize("warm-up: my sister Maya lives in Dayton")
    spans = removed = words = words_kept = 0
    by_kind: dict[str, list[int]] = {}
    start = time.perf_counter()
    outputs = [anonymize(item["text"]) for item in items]
    elapsed = time.perf_counter() - start
    for item, output in zip(items, outputs, strict=True):
        for pii in item.get("pii") or []:
            spans += 1
            ok = not leaked(item, output, pii["text"])
            removed += ok
            by_kind.setdefault(pii["type"], [0, 0])
            by_kind[pii["type"]][0] += ok
            by_kind[pii["type"]][1] += 1
            if verbose and not ok:
                print(f"  left {pii['type']}: {pii['text']!r} in {output!r}")
        for word in item.get("keep") or []:
            words += 1
            ok = kept(output, word)
            words_kept += ok
            if verbose and not ok:
                print(f"  lost clinical word {word!r}: {output!r}")
    return {
        "messages": len(items),
        "pii_spans": spans,
        "pii_removed": round(removed / max(1, spans), 4),
        "clinical_words": words,
        "clinical_kept": round(words_kept / max(1, words), 4),
        "messages_per_second": round(len(items) / elapsed, 1),
        "removed_by_kind": {kind: round(ok / total, 4) for kind, (ok, total) in sorted(by_kind.items())},
    }


def presidio_default() -> Callable[[str], str]:
    """Presidio's analyzer and anonymizer with their defaults, on the same spaCy model.

    Its e-mail recognizer tries to download the public-suffix list and logs the failure offline;
    that log is silenced here.
    """
    import logging

    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_anonymizer import AnonymizerEngine

    from bot import nlp

    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}])
    engine.nlp = {"en": nlp.load(with_ner=True)}  # type: ignore[assignment]
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    anonymizer = AnonymizerEngine()

    def run(text: str) -> str:
        from presidio_anonymizer.entities import RecognizerResult as Replacement

        found = analyzer.analyze(text=text, language="en")
        spans = [Replacement(r.entity_type, r.start, r.end, r.score) for r in found]
        return str(anonymizer.anonymize(text=text, analyzer_results=spans).text)

    return run


# Inputs of the longest size the channels accept (5,000 characters) that make regular expressions
# backtrack: the worst time over them is reported for both anonymizers.
ADVERSARIAL = {
    "a.": "a." * 2500,
    "1.": "1." * 2500,
    "a-": "a-" * 2500,
    "1-": "1-" * 2500,
    "(": "(" * 5000,
    "a.a@": "a.a@" * 1250,
    "at 13": "at 13 " * 833,
    "Name Name": "Maple " * 833,
    "flat 1, ": "flat 1, " * 625,  # addresses widened comma by comma
}


def worst_case_seconds(anonymize: Callable[[str], str]) -> dict[str, float]:
    """Seconds for each adversarial input, and the worst of them."""
    seconds = {}
    for name, text in ADVERSARIAL.items():
        start = time.perf_counter()
        anonymize(text)
        seconds[name] = round(time.perf_counter() - start, 2)
    return {"worst": max(seconds.values()), **seconds}


def main() -> int:
    """Evaluate both anonymizers, write the JSON and print the table."""
    import logging

    from bot.review.anonymize import Pseudonyms, get_anonymizer

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    ours = get_anonymizer()
    baseline = presidio_default()
    results: dict[str, Any] = {}
    development = [
        ("development", DEV_FILE),
        ("development 2", DEV2_FILE),
        ("development 3", DEV3_FILE),
        ("development 4", DEV4_FILE),
        ("development 5", DEV5_FILE),
    ]
    sets = development if "--dev" in sys.argv else [("held-out", EVAL_FILE), *development]
    for name, path in sets:
        items = load_items(path)
        # Texts of the held-out set are never printed, so that it stays unseen.
        verbose = "--verbose" in sys.argv and name.startswith("development")
        results[name] = {
            "file": path.name,
            "ours": evaluate(items, lambda text: ours.anonymize(text, Pseudonyms()), verbose),
            "presidio_default": evaluate(items, baseline),
        }
        print_table(name, path, results[name])
    if "--adversarial" in sys.argv or "--dev" not in sys.argv:
        results["adversarial, 5,000 characters (seconds)"] = {
            "ours": worst_case_seconds(lambda text: ours.anonymize(text, Pseudonyms())),
            "presidio_default": worst_case_seconds(baseline),
        }
        worst = results["adversarial, 5,000 characters (seconds)"]
        print("\n# adversarial inputs of 5,000 characters: seconds, ours / Presidio default")
        for name in worst["ours"]:
            print(f"| {name} | {worst['ours'][name]} | {worst['presidio_default'][name]} |")
    if "--dev" not in sys.argv:
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    elif "--adversarial" in sys.argv and RESULTS.exists():  # keep the last full run's figures beside it
        stored = json.loads(RESULTS.read_text(encoding="utf-8"))
        stored["adversarial, 5,000 characters (seconds)"] = results["adversarial, 5,000 characters (seconds)"]
        RESULTS.write_text(json.dumps(stored, indent=2) + "\n")
    return 0


def print_table(name: str, path: Path, result: dict[str, Any]) -> None:
    """Print one set's figures, ours beside Presidio's defaults."""
    a, b = result["ours"], result["presidio_default"]
    print(f"\n# {name}: {path.name}, {a['messages']} messages, {a['pii_spans']} marked spans")
    print("| measure (target) | ours | Presidio default |")
    print("|---|---|---|")
    print(f"| personal data removed (100%, floor 97%) | {a['pii_removed']:.1%} | {b['pii_removed']:.1%} |")
    print(f"| clinical words kept (at least 97%) | {a['clinical_kept']:.1%} | {b['clinical_kept']:.1%} |")
    print(f"| messages per second, one core | {a['messages_per_second']} | {b['messages_per_second']} |")
    for kind in a["removed_by_kind"]:
        print(f"| removed: {kind} | {a['removed_by_kind'][kind]:.1%} | {b['removed_by_kind'].get(kind, 0):.1%} |")


if __name__ == "__main__":
    sys.exit(main())
