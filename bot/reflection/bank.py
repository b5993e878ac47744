"""The intake question bank (`questions.yml`), loaded once on first use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

QUESTIONS_FILE = Path(__file__).with_name("questions.yml")
DIMENSIONS = ("anxiety", "avoidance")


@dataclass(frozen=True)
class Load:
    """How a rating question loads on one dimension."""

    dimension: str
    direction: int
    weight: float


@dataclass(frozen=True)
class Question:
    """One intake question."""

    id: str
    type: str
    context: str
    text: str
    why: str
    short: str
    loads: tuple[Load, ...]

    @property
    def is_rating(self) -> bool:
        """Whether the answer is a 1-5 rating (otherwise free text)."""
        return self.type == "rating"


@dataclass(frozen=True)
class Bank:
    """The ordered questions and the rating scale."""

    questions: tuple[Question, ...]
    scale_min: int
    scale_max: int
    scale_prompt: str
    scale_labels: dict[int, str]
    scale_words: dict[int, tuple[str, ...]]
    progress: str
    controls: dict[str, frozenset[str]]

    def index(self, question_id: str) -> int:
        """Position of a question (0-based)."""
        return [q.id for q in self.questions].index(question_id)


def parse_bank(data: dict[str, Any]) -> Bank:
    """Build and check a bank from parsed YAML.

    Raises:
        ValueError: A question is malformed (unknown type or dimension, a rating without loads).
    """
    questions = []
    for raw in data["questions"]:
        loads = tuple(
            Load(str(x["dimension"]), int(x["direction"]), float(x["weight"])) for x in raw.get("loads") or []
        )
        question = Question(
            id=str(raw["id"]),
            type=str(raw["type"]),
            context=str(raw["context"]),
            text=str(raw["text"]),
            why=str(raw["why"]),
            short=str(raw["short"]),
            loads=loads,
        )
        if question.type not in ("open", "rating"):
            raise ValueError(f"{question.id}: unknown type {question.type!r}")
        if question.is_rating and not loads:
            raise ValueError(f"{question.id}: a rating question needs loads")
        if any(load.dimension not in DIMENSIONS or load.direction not in (-1, 1) for load in loads):
            raise ValueError(f"{question.id}: loads need a dimension in {DIMENSIONS} and a direction of 1 or -1")
        questions.append(question)
    if len({q.id for q in questions}) != len(questions):
        raise ValueError("question ids must be unique")
    scale = data["scale"]
    return Bank(
        questions=tuple(questions),
        scale_min=int(scale["min"]),
        scale_max=int(scale["max"]),
        scale_prompt=str(scale["prompt"]),
        scale_labels={int(k): str(v) for k, v in scale["labels"].items()},
        scale_words={int(k): tuple(str(w).lower() for w in v) for k, v in scale.get("words", {}).items()},
        progress=str(data["progress"]),
        controls={str(k): frozenset(str(w).lower() for w in v) for k, v in (data.get("controls") or {}).items()},
    )


@lru_cache(maxsize=1)
def get_bank() -> Bank:
    """The question bank, read on first use."""
    return parse_bank(yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8")))
