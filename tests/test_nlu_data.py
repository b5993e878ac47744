"""The NLU data: enough varied examples per intent, and a held-out set that never enters training."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

MIN_EXAMPLES = 15
MIN_HELDOUT = 150


def _examples(folder: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(folder.rglob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            lines = [
                line.strip()[2:].strip() for line in item["examples"].splitlines() if line.strip().startswith("- ")
            ]
            found.setdefault(item["intent"], []).extend(lines)
    return found


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def test_every_domain_intent_has_enough_training_examples() -> None:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    training = _examples(PROJECT_ROOT / "data")
    for intent in domain["intents"]:
        if intent == "faq":
            subs = [name for name in training if name.startswith("faq/")]
            assert subs, "faq has no sub-intents"
            for sub in subs:
                assert len(training[sub]) >= MIN_EXAMPLES, sub
        else:
            assert len(training.get(intent, [])) >= MIN_EXAMPLES, intent


def test_heldout_is_large_enough_and_never_in_training() -> None:
    training = {_normal(text) for texts in _examples(PROJECT_ROOT / "data").values() for text in texts}
    heldout = [text for texts in _examples(PROJECT_ROOT / "tests" / "heldout").values() for text in texts]
    assert len(heldout) >= MIN_HELDOUT
    leaked = sorted(text for text in heldout if _normal(text) in training)
    assert not leaked, f"held-out messages found in training data: {leaked}"


def test_heldout_covers_every_training_intent() -> None:
    training = set(_examples(PROJECT_ROOT / "data"))
    heldout = set(_examples(PROJECT_ROOT / "tests" / "heldout"))
    assert training <= heldout, sorted(training - heldout)
