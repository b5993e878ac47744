"""Safe-messaging scan of every response and data file.

No "committed suicide" or "successful suicide", no method or lethality detail anywhere, and every
crisis response names a resource.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.settings import PROJECT_ROOT

SCANNED = [
    PROJECT_ROOT / "domain.yml",
    *sorted((PROJECT_ROOT / "data").rglob("*.yml")),
    *sorted((PROJECT_ROOT / "bot").rglob("*.yml")),
]
UNSAFE = [
    re.compile(r"\bcommit(ted|s|ting)? suicide\b", re.I),
    re.compile(r"\bsuccessful suicide\b", re.I),
    re.compile(r"\b(lethal|fatal|deadly|overdose) (dose|amount|quantity)\b", re.I),
    re.compile(r"\bhow (many|much) .{0,30}\b(to die|to overdose|would kill|is lethal)\b", re.I),
    re.compile(r"\b\d+\s*(mg|milligrams?|g|grams?)\b.{0,40}\b(die|kill|lethal|overdose)\b", re.I),
    re.compile(r"\b(most|least) (painless|effective|lethal) (way|method)\b", re.I),
]
# The crisis detector's phrase lists must recognise the words people use, "commit suicide"
# included; they never reach a user. Everything else is scanned in full.
# The same holds for the crisis classifier's training corpus, which keeps users' own words.
EXEMPT_FROM_WORDING = {
    PROJECT_ROOT / "bot" / "crisis" / "phrases.yml",
    PROJECT_ROOT / "data" / "nlu" / "crisis.yml",
    *sorted((PROJECT_ROOT / "bot" / "crisis" / "corpus").glob("*.yml")),
}


def _responses() -> dict[str, list[dict[str, object]]]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    responses: dict[str, list[dict[str, object]]] = dict(domain["responses"])
    for path in (PROJECT_ROOT / "data").rglob("*.yml"):
        responses.update(yaml.safe_load(path.read_text()).get("responses") or {})
    return responses


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(Path(p).relative_to(PROJECT_ROOT)))
def test_no_unsafe_wording(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for pattern in UNSAFE:
        if path in EXEMPT_FROM_WORDING and "suicide" in pattern.pattern and "commit" in pattern.pattern:
            continue
        assert not pattern.search(text), f"{pattern.pattern!r} in {path}"


def test_every_crisis_response_names_a_resource() -> None:
    crisis = {
        name: v for name, v in _responses().items() if name.startswith("utter_crisis_") or name == "utter_help_now"
    }
    assert {"utter_crisis_concern", "utter_crisis_high", "utter_crisis_imminent"} <= set(crisis)
    for name, variants in crisis.items():
        for variant in variants:
            text = str(variant["text"])
            assert "{emergency_number}" in text or "911" in text, name
            assert "{crisis_line}" in text or "988" in text, name


def test_imminent_reply_leads_with_emergency_services() -> None:
    for variant in _responses()["utter_crisis_imminent"]:
        first_sentences = str(variant["text"]).split(".")[:2]
        assert any("{emergency_number}" in sentence for sentence in first_sentences), variant


def test_high_reply_asks_if_safe_and_gives_text_line() -> None:
    default = [v for v in _responses()["utter_crisis_high"] if "condition" not in v][0]
    assert "{crisis_text}" in str(default["text"]) and "Are you safe right now?" in str(default["text"])


def test_no_diagnostic_wording_in_any_response() -> None:
    pattern = re.compile(
        r"\byou (are|have) (an? )?(secure|anxious|avoidant|disorganized)\b|\bdiagnos(e|is|ed) you\b", re.I
    )
    for name, variants in _responses().items():
        for variant in variants:
            assert not pattern.search(str(variant.get("text", ""))), name
