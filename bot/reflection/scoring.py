"""Scores on the two attachment dimensions, and the pattern the answers echo.

Ratings are centred on the scale's midpoint (1..5 -> -1..1) and signed by each question's
direction; cues in free text add evidence, shrunk toward zero when there is little of it. The
picker names the pattern a pair of scores is nearest to and how clearly:

    secure: low anxiety and low avoidance    anxious: high anxiety
    avoidant: high avoidance                 disorganized: high on both

or a mixed picture when there is too little to go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.reflection.bank import DIMENSIONS, Bank
from bot.reflection.cues import Cue, CueAnalyzer

# How much a security cue lowers each dimension, relative to a direct cue.
SECURITY_PULL = 0.7
# Text evidence never outweighs this many rating questions.
MAX_TEXT_WEIGHT = 2.5


@dataclass(frozen=True)
class Scores:
    """Where a set of answers sits on the two dimensions, and what it rests on."""

    anxiety: float
    avoidance: float
    ratings_answered: int
    cues: tuple[Cue, ...] = field(default_factory=tuple)

    @property
    def evidence(self) -> int:
        """Answered ratings plus the cues that counted."""
        return self.ratings_answered + sum(1 for c in self.cues if not c.negated and c.weight > 0)


@dataclass(frozen=True)
class Picture:
    """The pattern the answers echo and how clearly (clear, moderate, tentative)."""

    pattern: str
    confidence: str


def score(answers: dict[str, Any], bank: Bank, analyzer: CueAnalyzer | None) -> Scores:
    """Score a set of answers.

    Args:
        answers: Question id -> a rating (int), free text (str), or None when skipped.
        bank: The question bank.
        analyzer: Finds cues in free text (None: ratings only).

    Returns:
        The scores, each between -1 and 1.
    """
    rated = {d: 0.0 for d in DIMENSIONS}
    rated_weight = {d: 0.0 for d in DIMENSIONS}
    text = {d: 0.0 for d in DIMENSIONS}
    text_mass = {d: 0.0 for d in DIMENSIONS}
    cues: list[Cue] = []
    ratings_answered = 0
    middle = (bank.scale_max + bank.scale_min) / 2
    half_range = (bank.scale_max - bank.scale_min) / 2
    for question in bank.questions:
        value = answers.get(question.id)
        if value is None:
            continue
        if question.is_rating and isinstance(value, int) and not isinstance(value, bool):
            ratings_answered += 1
            centred = (value - middle) / half_range
            for load in question.loads:
                rated[load.dimension] += centred * load.direction * load.weight
                rated_weight[load.dimension] += load.weight
        elif not question.is_rating and isinstance(value, str) and analyzer is not None:
            found = analyzer.analyze(value, question=question.id, early=question.context == "early")
            cues.extend(found)
            for cue in found:
                for dimension, sign in _effects(cue.dimension):
                    text[dimension] += sign * cue.weight
                    text_mass[dimension] += abs(sign) * cue.weight
    result = {}
    for dimension in DIMENSIONS:
        # Shrink text evidence toward zero: one cue says less than five.
        text_score = text[dimension] / (text_mass[dimension] + 1.0)
        text_weight = min(MAX_TEXT_WEIGHT, 0.5 * text_mass[dimension])
        total_weight = rated_weight[dimension] + text_weight
        result[dimension] = (rated[dimension] + text_score * text_weight) / total_weight if total_weight else 0.0
    return Scores(
        anxiety=round(max(-1.0, min(1.0, result["anxiety"])), 4),
        avoidance=round(max(-1.0, min(1.0, result["avoidance"])), 4),
        ratings_answered=ratings_answered,
        cues=tuple(cues),
    )


def _effects(cue_dimension: str) -> list[tuple[str, float]]:
    if cue_dimension == "anxiety":
        return [("anxiety", 1.0)]
    if cue_dimension == "avoidance":
        return [("avoidance", 1.0)]
    if cue_dimension == "both":
        return [("anxiety", 1.0), ("avoidance", 1.0)]
    return [("anxiety", -SECURITY_PULL), ("avoidance", -SECURITY_PULL)]  # security


def pick(scores: Scores, thresholds: dict[str, float]) -> Picture:
    """The pattern the scores are nearest to, and how clearly.

    Args:
        scores: The two dimension scores and their evidence.
        thresholds: `high`, `clear_margin`, `moderate_margin`, `min_ratings_for_clear`,
            `min_evidence` (see reflections.yml).

    Returns:
        The picture; `mixed` when the evidence is too thin to say anything.
    """
    if scores.evidence < thresholds["min_evidence"]:
        return Picture("mixed", "tentative")
    high = thresholds["high"]
    anxious, avoidant = scores.anxiety >= high, scores.avoidance >= high
    if anxious and avoidant:
        pattern = "disorganized"
    elif anxious:
        pattern = "anxious"
    elif avoidant:
        pattern = "avoidant"
    else:
        pattern = "secure"
    margin = min(abs(scores.anxiety - high), abs(scores.avoidance - high))
    if margin >= thresholds["clear_margin"] and scores.ratings_answered >= thresholds["min_ratings_for_clear"]:
        confidence = "clear"
    elif margin >= thresholds["moderate_margin"]:
        confidence = "moderate"
    else:
        confidence = "tentative"
    return Picture(pattern, confidence)
