"""The aggregate flow of the dialogue: how many conversations reached each step, and who went on.

A conversation *reached* a step when the step is in its `Conversation.steps` (once, however often
it came back). Between two consecutive steps A and B of `STEPS`, *continued* counts the
conversations that reached both, and *dropped* those that reached A but not B. The diagram is an
inline SVG made here, on the server (no JavaScript), styled by classes from `review.css`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

INTAKE_QUESTIONS = 14
STEPS: tuple[str, ...] = (
    "entry",
    "consent",
    "intake_started",
    *(f"intake_{n}" for n in range(1, INTAKE_QUESTIONS + 1)),
    "reflection",
    "finder",
    "results",
    "consultation",
    "referral",
)

# Layout of the diagram, in SVG user units.
_WIDTH = 640
_BOX_X = 20
_BOX_WIDTH = 300
_BOX_HEIGHT = 40
_GAP = 34
_ROW = _BOX_HEIGHT + _GAP
_MARGIN = 10


@dataclass(frozen=True)
class StepCount:
    """One step and how many conversations reached it."""

    name: str
    reached: int


@dataclass(frozen=True)
class Transition:
    """From one step to the next: how many of those who reached `source` also reached `target`."""

    source: str
    target: str
    continued: int
    dropped: int

    @property
    def drop_rate(self) -> float:
        """The share (0 to 1) of the conversations at `source` that did not reach `target`."""
        total = self.continued + self.dropped
        return self.dropped / total if total else 0.0


@dataclass(frozen=True)
class Flow:
    """The counts behind the diagram."""

    conversations: int
    steps: tuple[StepCount, ...]
    transitions: tuple[Transition, ...]


def parse_steps(raw: str | None) -> set[str]:
    """The known steps named in a `Conversation.steps` JSON list (anything else is ignored).

    Args:
        raw: The column's JSON text.

    Returns:
        The set of steps of `STEPS` that it names.
    """
    try:
        names = json.loads(raw or "[]")
    except ValueError:
        return set()
    if not isinstance(names, list):
        return set()
    return {name for name in names if isinstance(name, str) and name in STEPS}


def compute_flow(step_lists: Iterable[str | None]) -> Flow:
    """Count conversations per step and the drop-off between consecutive steps.

    Args:
        step_lists: One `Conversation.steps` JSON text per conversation.

    Returns:
        The counts.
    """
    reached_sets = [parse_steps(raw) for raw in step_lists]
    steps = tuple(StepCount(name, sum(name in reached for reached in reached_sets)) for name in STEPS)
    transitions = []
    for source, target in zip(STEPS, STEPS[1:], strict=False):
        continued = sum(source in reached and target in reached for reached in reached_sets)
        dropped = sum(source in reached and target not in reached for reached in reached_sets)
        transitions.append(Transition(source, target, continued, dropped))
    return Flow(conversations=len(reached_sets), steps=steps, transitions=tuple(transitions))


def step_label(name: str, labels: Mapping[str, str]) -> str:
    """A step's label for people.

    Args:
        name: The step name, e.g. "intake_3".
        labels: The `flow.steps` texts of `app.yml`.

    Returns:
        The label, e.g. "Intake answer 3".
    """
    if name.startswith("intake_") and name.removeprefix("intake_").isdigit():
        return labels["intake_n"].format(n=name.removeprefix("intake_"))
    return labels.get(name, name)


def percent(rate: float) -> str:
    """A share as a whole percentage, e.g. "25%"."""
    return f"{round(rate * 100)}%"


def render_svg(flow: Flow, texts: Mapping[str, Any]) -> Markup:
    """The flow diagram as inline SVG: one box per step, an arrow with the drop-off between boxes.

    Args:
        flow: The counts.
        texts: The `flow` section of `app.yml`.

    Returns:
        Safe markup to place in the page (every text in it is escaped).
    """
    labels: Mapping[str, str] = texts["steps"]
    most = max((step.reached for step in flow.steps), default=0) or 1
    height = 2 * _MARGIN + len(flow.steps) * _ROW - _GAP
    parts = [
        f'<svg class="flow-svg" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
        'role="img" aria-labelledby="flow-svg-title flow-svg-desc">',
        f'<title id="flow-svg-title">{escape(texts["svg_title"])}</title>',
        f'<desc id="flow-svg-desc">{escape(texts["svg_desc"])}</desc>',
        '<defs><marker id="flow-arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path class="flow-arrowhead" d="M 0 0 L 10 5 L 0 10 z"/>'
        "</marker></defs>",
    ]
    for index, step in enumerate(flow.steps):
        top = _MARGIN + index * _ROW
        bar = round(_BOX_WIDTH * step.reached / most)
        reached = str(texts["reached"]).format(count=step.reached)
        parts.append(
            f'<g class="flow-step"><rect class="flow-box" x="{_BOX_X}" y="{top}" width="{_BOX_WIDTH}" '
            f'height="{_BOX_HEIGHT}" rx="4"/>'
            f'<rect class="flow-bar" x="{_BOX_X}" y="{top + _BOX_HEIGHT - 6}" width="{bar}" height="6"/>'
            f'<text class="flow-label" x="{_BOX_X + 10}" y="{top + 22}">{escape(step_label(step.name, labels))}</text>'
            f'<text class="flow-count" x="{_BOX_X + _BOX_WIDTH - 10}" y="{top + 22}" text-anchor="end">'
            f"{escape(reached)}</text></g>"
        )
    for index, transition in enumerate(flow.transitions):
        start = _MARGIN + index * _ROW + _BOX_HEIGHT
        middle = _BOX_X + _BOX_WIDTH // 2
        dropped = str(texts["dropped"]).format(count=transition.dropped, percent=percent(transition.drop_rate))
        parts.append(
            f'<g class="flow-transition"><line class="flow-arrow" x1="{middle}" y1="{start + 2}" x2="{middle}" '
            f'y2="{start + _GAP - 3}" marker-end="url(#flow-arrowhead)"/>'
            f'<text class="flow-drop" x="{middle + 14}" y="{start + _GAP // 2 + 5}">{escape(dropped)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
