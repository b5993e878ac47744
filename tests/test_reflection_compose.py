"""The reflection and the summary: wording from data, never a diagnosis, the user's own words."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from bot.reflection.bank import get_bank
from bot.reflection.compose import REFLECTIONS_FILE, compose, get_wording, summary_text
from bot.reflection.cues import get_analyzer
from bot.reflection.scoring import Picture, pick, score
from bot.settings import PROJECT_ROOT

STYLES = r"(secure|anxious|avoidant|disorgani[sz]ed|fearful)"
DIAGNOSTIC = [
    re.compile(rf"\byou(?:'re| are| have| seem| sound)\b[^.!?]{{0,25}}\b{STYLES}", re.I),
    re.compile(r"diagnos", re.I),
    re.compile(rf"\byour {STYLES} (attachment|style)\b", re.I),
]


def _all_strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _all_strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _all_strings(value)]
    return []


def _reflection_texts() -> list[str]:
    texts = _all_strings(yaml.safe_load(REFLECTIONS_FILE.read_text(encoding="utf-8")))
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    for name, variants in domain["responses"].items():
        if "reflect" in name or "intake" in name or "summary" in name:
            texts += [s for v in variants for s in _all_strings(v)]
    return texts


def test_no_reflection_text_diagnoses() -> None:
    texts = _reflection_texts()
    assert len(texts) > 40
    for text in texts:
        for pattern in DIAGNOSTIC:
            assert not pattern.search(text), f"diagnostic phrasing: {text!r}"


@pytest.mark.parametrize("text", ["You are anxious.", "you have avoidant attachment", "This is not a diagnosis"])
def test_the_scan_catches_diagnostic_phrasing(text: str) -> None:
    assert any(pattern.search(text) for pattern in DIAGNOSTIC)


ANXIOUS_ANSWERS: dict[str, Any] = {
    "caregiver_comfort": "my mum was loving but sometimes she just wasn't there",
    "distance_inside": "I panic straight away. I always assume they're going to leave me.",
    "late_reply": 5,
    "reassurance": 5,
    "abandonment": 5,
    "closeness_uneasy": 1,
    "self_reliance": 2,
    "express_needs": 3,
}


def _reflect(answers: dict[str, Any]) -> tuple[Any, Picture]:
    scores = score(answers, get_bank(), get_analyzer())
    picture = pick(scores, get_wording()["thresholds"])
    return compose(scores, picture, answers), picture


def test_reflection_echoes_the_pattern_and_quotes_the_user() -> None:
    reflection, picture = _reflect(ANXIOUS_ANSWERS)
    assert picture.pattern == "anxious"
    text = "\n".join(reflection.messages)
    assert "patterns often described as anxious attachment" in text
    assert "I always assume they're going to leave me." in text
    assert 2 <= len(reflection.practices) <= 3
    assert "not a therapist" in text


def test_every_pattern_names_strengths_practices_and_session_questions() -> None:
    for name, data in get_wording()["patterns"].items():
        assert data["strengths"] and data["struggles"] and data["learn_more"], name
        assert len(data["practices"]) >= 3 and len(data["session_questions"]) >= 2, name


def test_summary_lists_answers_dimensions_pattern_practices_and_questions() -> None:
    answers = {**ANXIOUS_ANSWERS, "conflict": None}
    scores = score(answers, get_bank(), get_analyzer())
    picture = pick(scores, get_wording()["thresholds"])
    text = summary_text(get_bank(), answers, scores, picture)
    sections = get_wording()["summary"]
    for heading in ("answers_heading", "dimensions_heading", "pattern_heading", "practices_heading"):
        assert sections[heading] in text
    assert sections["questions_heading"] in text
    assert "- In conflict: (skipped)" in text
    assert "- Worry at a slow reply: 5 of 5" in text
    assert "anxious attachment" in text
