"""Scoring tables, negation and hedging in answers, and the pattern picker at its boundaries."""

from __future__ import annotations

from typing import Any

import pytest

from bot.reflection.bank import QUESTIONS_FILE, get_bank, parse_bank
from bot.reflection.compose import get_wording
from bot.reflection.cues import get_analyzer
from bot.reflection.scoring import Scores, pick, score

THRESHOLDS = get_wording()["thresholds"]
RATINGS = [q.id for q in get_bank().questions if q.is_rating]


def _ratings(**values: int) -> dict[str, Any]:
    return {qid: values.get(qid) for qid in RATINGS}


def test_bank_has_the_required_coverage() -> None:
    bank = get_bank()
    assert len(bank.questions) >= 8
    assert any(q.is_rating for q in bank.questions) and any(not q.is_rating for q in bank.questions)
    assert {load.dimension for q in bank.questions for load in q.loads} == {"anxiety", "avoidance"}
    assert all(q.why and q.short and q.text for q in bank.questions)
    assert "comfort" in bank.questions[0].text  # the article's own example question comes first


def test_bank_rejects_a_rating_without_loads() -> None:
    import yaml

    data = yaml.safe_load(QUESTIONS_FILE.read_text())
    next(q for q in data["questions"] if q["type"] == "rating")["loads"] = []
    with pytest.raises(ValueError, match="needs loads"):
        parse_bank(data)


@pytest.mark.parametrize(
    ("question", "rating", "anxiety_sign", "avoidance_sign"),
    [
        ("late_reply", 5, 1, 0),
        ("late_reply", 1, -1, 0),
        ("closeness_uneasy", 5, 0, 1),
        ("express_needs", 5, 0, -1),  # reverse-keyed
        ("express_needs", 1, 0, 1),
        ("trust", 5, -1, -1),
        ("push_pull", 5, 1, 1),
        ("reassurance", 3, 0, 0),  # the midpoint says nothing
    ],
)
def test_each_rating_moves_its_dimensions(question: str, rating: int, anxiety_sign: int, avoidance_sign: int) -> None:
    scores = score({question: rating}, get_bank(), None)

    def sign(x: float) -> int:
        return (x > 0) - (x < 0)

    assert (sign(scores.anxiety), sign(scores.avoidance)) == (anxiety_sign, avoidance_sign)


def test_skipped_answers_count_for_nothing() -> None:
    scores = score({"late_reply": None, "conflict": None}, get_bank(), get_analyzer())
    assert (scores.anxiety, scores.avoidance, scores.ratings_answered) == (0.0, 0.0, 0)


def _cues(text: str, early: bool = False) -> list[tuple[str, float, bool]]:
    return [(c.dimension, c.weight, c.negated) for c in get_analyzer().analyze(text, early=early)]


def test_a_worry_cue_counts() -> None:
    assert ("anxiety", 1.0, False) in _cues("I worry when he takes ages to reply")


def test_negated_worry_is_not_a_worry_cue() -> None:
    found = _cues("I don't worry when he takes ages to reply")
    assert all(weight == 0 for dim, weight, _ in found if dim == "anxiety")
    assert any(negated for dim, _, negated in found if dim == "anxiety")


def test_used_to_is_weaker_than_always() -> None:
    past = max(w for d, w, _ in _cues("I used to worry about it") if d == "anxiety")
    always = max(w for d, w, _ in _cues("I always worry about it") if d == "anxiety")
    plain = max(w for d, w, _ in _cues("I worry about it") if d == "anxiety")
    assert past < plain < always


def test_hedges_weaken() -> None:
    hedged = max(w for d, w, _ in _cues("maybe I pull away a bit") if d == "avoidance")
    plain = max(w for d, w, _ in _cues("I pull away") if d == "avoidance")
    assert hedged < plain


def test_childhood_answers_count_for_half() -> None:
    early = max(w for d, w, _ in _cues("they told me to stop crying", early=True) if d == "avoidance")
    now = max(w for d, w, _ in _cues("they told me to stop crying") if d == "avoidance")
    assert early == pytest.approx(now / 2)


def test_seeking_and_pushing_away_spans_a_but() -> None:
    assert any(d == "both" for d, _, _ in _cues("I want to be close but then I push them away"))


def test_text_moves_scores_the_way_it_reads() -> None:
    bank, analyzer = get_bank(), get_analyzer()
    anxious = score({"distance_inside": "i panic and assume they are going to leave me"}, bank, analyzer)
    avoidant = score({"distance_inside": "honestly i feel relieved, i need my space"}, bank, analyzer)
    secure = score({"distance_inside": "i figure they're probably just busy and i trust them"}, bank, analyzer)
    assert anxious.anxiety > 0 and avoidant.avoidance > 0
    assert secure.anxiety < 0 and secure.avoidance < 0


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            _ratings(late_reply=5, reassurance=5, abandonment=5, closeness_uneasy=1, self_reliance=2, express_needs=4),
            "anxious",
        ),
        (
            _ratings(late_reply=1, reassurance=2, abandonment=1, closeness_uneasy=5, self_reliance=5, express_needs=1),
            "avoidant",
        ),
        (
            _ratings(late_reply=5, reassurance=4, abandonment=5, closeness_uneasy=5, self_reliance=4, push_pull=5),
            "disorganized",
        ),
        (
            _ratings(
                late_reply=2,
                reassurance=2,
                abandonment=1,
                closeness_uneasy=1,
                self_reliance=2,
                express_needs=5,
                trust=5,
            ),
            "secure",
        ),
    ],
)
def test_clear_answer_sets_get_their_pattern(answers: dict[str, Any], expected: str) -> None:
    assert pick(score(answers, get_bank(), None), THRESHOLDS).pattern == expected


def _scores(anxiety: float, avoidance: float, ratings: int = 8) -> Scores:
    return Scores(anxiety=anxiety, avoidance=avoidance, ratings_answered=ratings)


@pytest.mark.parametrize(
    ("anxiety", "avoidance", "pattern"),
    [
        (0.15, 0.0, "anxious"),  # exactly at the threshold counts as high
        (0.1499, 0.0, "secure"),
        (0.0, 0.15, "avoidant"),
        (0.15, 0.15, "disorganized"),
        (0.1499, 0.1499, "secure"),
    ],
)
def test_picker_boundaries(anxiety: float, avoidance: float, pattern: str) -> None:
    assert pick(_scores(anxiety, avoidance), THRESHOLDS).pattern == pattern


def test_confidence_follows_the_margin_and_evidence() -> None:
    assert pick(_scores(0.8, -0.5), THRESHOLDS).confidence == "clear"
    assert pick(_scores(0.8, -0.5, ratings=3), THRESHOLDS).confidence == "moderate"
    assert pick(_scores(0.3, -0.5), THRESHOLDS).confidence == "moderate"
    assert pick(_scores(0.2, -0.5), THRESHOLDS).confidence == "tentative"


def test_too_little_evidence_gives_a_mixed_picture() -> None:
    assert pick(_scores(0.9, 0.9, ratings=1), THRESHOLDS).pattern == "mixed"
