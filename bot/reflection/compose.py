"""Turns scores and cues into the reflection and the summary, from `reflections.yml`.

Every sentence comes from the data file; this module only chooses and fills them in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.reflection.bank import Bank
from bot.reflection.cues import Cue
from bot.reflection.scoring import Picture, Scores

REFLECTIONS_FILE = Path(__file__).with_name("reflections.yml")
# Which cues speak for each pattern, in order of preference, when quoting the user.
QUOTE_DIMENSIONS = {
    "secure": ("security",),
    "anxious": ("anxiety", "both"),
    "avoidant": ("avoidance",),
    "disorganized": ("both", "anxiety", "avoidance"),
    "mixed": ("both", "anxiety", "avoidance", "security"),
}
MAX_QUOTE_WORDS = 25


@dataclass(frozen=True)
class Reflection:
    """The messages of a reflection, in order, and what they rest on."""

    pattern: str
    confidence: str
    messages: tuple[str, ...]
    practices: tuple[str, ...]
    quotes: tuple[str, ...]


@lru_cache(maxsize=1)
def get_wording() -> dict[str, Any]:
    """The reflection wording, read on first use."""
    data: dict[str, Any] = yaml.safe_load(REFLECTIONS_FILE.read_text(encoding="utf-8"))
    return data


def dimension_word(value: float, high: float) -> str:
    """Plain-words position of a dimension score."""
    words = get_wording()["dimension_words"]
    if value >= high:
        return str(words["high"])
    if value <= -high:
        return str(words["low"])
    return str(words["middle"])


def pick_quotes(cues: tuple[Cue, ...], answers: dict[str, Any], pattern: str, limit: int = 2) -> list[str]:
    """Up to `limit` of the user's own sentences that speak for the pattern, strongest first."""
    quotes: list[str] = []
    for dimension in QUOTE_DIMENSIONS[pattern]:
        ranked = sorted(
            (c for c in cues if c.dimension == dimension and not c.negated and c.weight > 0),
            key=lambda c: -c.weight,
        )
        for cue in ranked:
            sentence = _sentence_with(str(answers.get(cue.question) or ""), cue.phrase)
            if sentence and sentence not in quotes:
                quotes.append(sentence)
            if len(quotes) >= limit:
                return quotes
    return quotes


def _sentence_with(text: str, phrase: str) -> str:
    for sentence in _sentences(text):
        if phrase.lower() in sentence.lower():
            words = sentence.split()
            if len(words) > MAX_QUOTE_WORDS:
                start = max(0, [w.lower() for w in words].index(phrase.split()[0].lower()) - 8)
                return "..." + " ".join(words[start : start + MAX_QUOTE_WORDS]) + "..."
            return sentence
    return ""


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


def compose(scores: Scores, picture: Picture, answers: dict[str, Any]) -> Reflection:
    """The reflection for one set of answers.

    Args:
        scores: The dimension scores and cues.
        picture: The pattern and confidence chosen by `scoring.pick`.
        answers: The answers (for quoting the user's own words).

    Returns:
        The messages to send, in order.
    """
    wording = get_wording()
    data = wording["patterns"][picture.pattern]
    messages = [f"{_echo(picture)} {_dimension_line(scores)}"]
    quotes = pick_quotes(scores.cues, answers, picture.pattern)
    if len(quotes) == 2:
        messages.append(str(wording["quote_two_line"]).format(quote=quotes[0], quote2=quotes[1]))
    elif quotes:
        messages.append(str(wording["quote_line"]).format(quote=quotes[0]))
    messages.append(f"{data['forms']} {data['shows_up']}")
    messages.append(f"{data['strengths']} {data['struggles']}")
    practices = tuple(str(p) for p in data["practices"][:3])
    messages.append("\n".join(f"- {p}" for p in practices))
    messages.append(str(wording["closing"]))
    return Reflection(picture.pattern, picture.confidence, tuple(messages), practices, tuple(quotes))


def _echo(picture: Picture) -> str:
    wording = get_wording()
    data = wording["patterns"][picture.pattern]
    if picture.pattern == "mixed":
        return str(data["echo"])
    return str(wording["echo"][picture.confidence]).format(pattern_name=data["name"])


def _dimension_line(scores: Scores) -> str:
    wording = get_wording()
    high = float(wording["thresholds"]["high"])
    return str(wording["dimension_line"]).format(
        anxiety_word=dimension_word(scores.anxiety, high), avoidance_word=dimension_word(scores.avoidance, high)
    )


def summary_text(bank: Bank, answers: dict[str, Any], scores: Scores, picture: Picture) -> str:
    """The reflection summary as plain text (shown in chat and offered as a download).

    Args:
        bank: The question bank.
        answers: Question id -> rating, text or None when skipped.
        scores: The dimension scores.
        picture: The pattern and confidence.

    Returns:
        The summary, in short sections.
    """
    wording = get_wording()
    texts = wording["summary"]
    data = wording["patterns"][picture.pattern]
    lines = [str(texts["title"]), "", str(texts["answers_heading"])]
    for question in bank.questions:
        value = answers.get(question.id)
        if value is None:
            shown = str(texts["skipped"])
        elif question.is_rating:
            shown = str(texts["rating_answer"]).format(value=value, max=bank.scale_max)
        else:
            words = str(value).split()
            shown = " ".join(words[:30]) + ("..." if len(words) > 30 else "")
        lines.append(f"- {question.short}: {shown}")
    lines += ["", str(texts["dimensions_heading"]), _dimension_line(scores)]
    lines += ["", str(texts["pattern_heading"]), _echo(picture)]
    lines += ["", str(texts["practices_heading"])]
    lines += [f"- {p}" for p in data["practices"][:3]]
    lines += ["", str(texts["questions_heading"])]
    lines += [f"- {q}" for q in data["session_questions"]]
    lines += ["", str(texts["footer"])]
    return "\n".join(lines)
