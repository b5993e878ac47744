"""Content checks for the FAQ retrieval intent (data/nlu/faq.yml)."""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FAQ_FILE = ROOT / "data" / "nlu" / "faq.yml"
HELDOUT_FILE = ROOT / "tests" / "heldout" / "faq.yml"

SUB_INTENTS = [
    "what_is_abt",
    "styles_overview",
    "secure",
    "anxious",
    "avoidant",
    "disorganized",
    "not_one_style",
    "change_style",
    "origins",
    "strange_situation",
    "when_used",
    "conditions",
    "how_it_works",
    "sessions",
    "effectiveness",
    "providers",
    "finding_therapist",
]
MIN_EXAMPLES = 15
MENU_PAYLOAD = "what are the attachment styles"  # sent by the main menu button

FORBIDDEN = [
    re.compile(r"\byou(?:'re| are| have) (?:an? )?(?:secure|anxious|avoidant|disorganized)", re.I),
    re.compile(r"diagnos", re.I),
    re.compile(r"committed suicide", re.I),
]


def _examples(block: str) -> list:
    return [line.strip()[2:].strip() for line in block.splitlines() if line.strip().startswith("- ")]


def _load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    examples: dict[str, list[str]] = {}
    for item in data.get("nlu", []):
        examples.setdefault(item["intent"], []).extend(_examples(item["examples"]))
    return {"examples": examples, "responses": data.get("responses") or {}}


@pytest.fixture(scope="module")
def faq() -> dict[str, Any]:
    return _load(FAQ_FILE)


def _all_texts(variant: dict) -> list:
    return [variant.get("text", "")] + [b.get("title", "") for b in variant.get("buttons", [])]


@pytest.mark.parametrize("name", SUB_INTENTS)
def test_sub_intent_has_examples_and_response(faq: dict[str, Any], name: str) -> None:
    assert len(faq["examples"].get(f"faq/{name}", [])) >= MIN_EXAMPLES
    assert faq["responses"].get(f"utter_faq/{name}"), f"no response for faq/{name}"


def test_no_unexpected_sub_intents(faq: dict[str, Any]) -> None:
    expected = {f"faq/{n}" for n in SUB_INTENTS}
    assert set(faq["examples"]) == expected
    assert set(faq["responses"]) == {f"utter_{i}" for i in expected}


def test_menu_text_is_a_styles_overview_example(faq: dict[str, Any]) -> None:
    assert MENU_PAYLOAD in faq["examples"]["faq/styles_overview"]


def test_every_response_ends_with_buttons(faq: dict[str, Any]) -> None:
    for name, variants in faq["responses"].items():
        for v in variants:
            assert list(v)[-1] == "buttons", f"{name}: buttons must come last"
            assert 2 <= len(v["buttons"]) <= 4, name
            for b in v["buttons"]:
                assert b.get("title") and b.get("payload"), name


def test_no_diagnostic_or_harmful_phrasing(faq: dict[str, Any]) -> None:
    for name, variants in faq["responses"].items():
        for v in variants:
            for text in _all_texts(v):
                for pattern in FORBIDDEN:
                    assert not pattern.search(text), f"{name}: {pattern.pattern!r} in {text!r}"


def test_text_button_payloads_are_training_examples(faq: dict[str, Any]) -> None:
    owner = {ex: intent for intent, exs in faq["examples"].items() for ex in exs}
    for name, variants in faq["responses"].items():
        for v in variants:
            for b in v["buttons"]:
                payload = b["payload"]
                if not payload.startswith("/"):
                    assert payload in owner, f"{name}: payload {payload!r} is not a training example"
                    assert owner[payload] != name[len("utter_") :], f"{name}: button loops to itself"


def test_examples_unique_across_sub_intents(faq: dict[str, Any]) -> None:
    seen: dict[str, str] = {}
    for intent, exs in faq["examples"].items():
        for ex in exs:
            key = ex.lower()
            assert key not in seen or seen[key] == intent, f"{ex!r} in {seen.get(key)} and {intent}"
            seen[key] = intent


def test_heldout_is_disjoint_from_training(faq: dict[str, Any]) -> None:
    heldout = _load(HELDOUT_FILE)["examples"]
    training = {ex.lower() for exs in faq["examples"].values() for ex in exs}
    for name in SUB_INTENTS:
        assert len(heldout.get(f"faq/{name}", [])) >= 4, name
    overlap = {ex for exs in heldout.values() for ex in exs if ex.lower() in training}
    assert not overlap, f"held-out examples also in training: {sorted(overlap)}"
