"""Options for the two-stage fallback, chosen from the NLU ranking.

The button titles and payloads are data (`suggestions.yml`), loaded once on first use.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, TypedDict

import yaml

SUGGESTIONS_FILE = Path(__file__).with_name("suggestions.yml")
NEVER_SUGGESTED = frozenset({"nlu_fallback", "out_of_scope", "affirm", "deny", "thanks", "inform"})


class Button(TypedDict):
    """A quick-reply button as Rasa responses carry it."""

    title: str
    payload: str


@lru_cache(maxsize=1)
def load_suggestions() -> dict[str, Any]:
    """Return the suggestion table from `suggestions.yml` (read once)."""
    with SUGGESTIONS_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def _full_name(intent: str, response_selector: dict[str, Any]) -> str:
    """Turn a retrieval intent into its full name (faq -> faq/anxious) when known."""
    selected = response_selector.get(intent) or response_selector.get("default") or {}
    utter_action = (selected.get("response") or {}).get("utter_action") or ""
    prefix = f"utter_{intent}/"
    return utter_action[len("utter_") :] if utter_action.startswith(prefix) else intent


def suggest_options(
    intent_ranking: list[dict[str, Any]],
    response_selector: dict[str, Any] | None = None,
    *,
    limit: int = 3,
    min_confidence: float = 0.05,
) -> list[Button]:
    """Pick the likely options for a message the assistant did not understand.

    Args:
        intent_ranking: The NLU intent ranking, best first (`name`, `confidence`).
        response_selector: The NLU `response_selector` output, to name retrieval intents.
        limit: How many options at most.
        min_confidence: Intents below this confidence are not offered.

    Returns:
        Buttons for the likely intents; always at least the "help" option.
    """
    table: dict[str, Button] = load_suggestions()["options"]
    chosen: list[Button] = []
    for entry in intent_ranking:
        name = str(entry.get("name", ""))
        if name in NEVER_SUGGESTED or float(entry.get("confidence") or 0.0) < min_confidence:
            continue
        option = table.get(_full_name(name, response_selector or {}))
        if option and option not in chosen:
            chosen.append(option)
        if len(chosen) == limit:
            break
    if not chosen:
        chosen.append(table["help"])
    return chosen


def none_of_these_payload() -> str:
    """Payload of the final "something else" button."""
    return str(load_suggestions()["none_of_these"]["payload"])
