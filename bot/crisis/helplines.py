"""Helplines by country, read from helplines.yml, and the slot values crisis replies use.

Crisis replies are static responses in domain.yml that name their resources through slots
(`{emergency_number}`, `{crisis_line}`, ...). This module turns the helplines data for the user's
country and the crisis category into those slot values, so the wording stays in domain.yml and
the numbers stay in one reviewed data file.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

HELPLINES_FILE = Path(__file__).with_name("helplines.yml")
HELPLINE_SLOTS = ("country_name", "emergency_number", "crisis_line", "crisis_text", "category_line")


@lru_cache(maxsize=1)
def load_helplines(path: Path = HELPLINES_FILE) -> dict[str, Any]:
    """The helplines data (read once)."""
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    return data


def default_country() -> str:
    """ISO code of the country used when the user's country is unknown."""
    return str(load_helplines()["default_country"])


def resolve_country(value: str | None) -> str:
    """Map a country code, name or alias to a supported ISO code, else the default country.

    Args:
        value: What the user or the channel said ("UK", "gb", "New Zealand", None).

    Returns:
        A key of `countries` in helplines.yml.
    """
    countries = load_helplines()["countries"]
    if value:
        wanted = value.strip().lower()
        for code, country in countries.items():
            if wanted == code.lower() or wanted in country["aliases"]:
                return str(code)
    return default_country()


@lru_cache(maxsize=1)
def _alias_pattern() -> re.Pattern[str]:
    aliases = sorted(
        {alias for country in load_helplines()["countries"].values() for alias in country["aliases"]},
        key=len,
        reverse=True,
    )
    return re.compile(
        r"\b(?:i'?m|i am|i live|living|based|located|here)\b[^.!?]{0,20}?\b(?:in|from)\s+(?:the\s+)?("
        + "|".join(re.escape(a) for a in aliases)
        + r")\b",
        re.IGNORECASE,
    )


def country_mentioned(text: str) -> str | None:
    """The country a user says they are in ("I'm in the UK"), if any."""
    match = _alias_pattern().search(text or "")
    return resolve_country(match.group(1)) if match else None


def _describe(entry: dict[str, Any]) -> str:
    parts = []
    if entry.get("number"):
        parts.append(f"call {entry['number']}")
    if entry.get("text"):
        parts.append(f"text {entry['text']}")
    if entry.get("chat"):
        parts.append(f"chat at {entry['chat']}")
    if not parts:
        parts.append(f"visit {entry.get('url', '')}")
    how = ", ".join(parts[:-1]) + f" or {parts[-1]}" if len(parts) > 1 else parts[0]
    return f"{entry['service']}: {how}"


def helpline_slots(country: str | None, category: str | None = None) -> dict[str, str]:
    """Slot values that crisis responses interpolate, for one country and crisis category.

    Args:
        country: ISO code, name or alias; unknown or None means the default country.
        category: The crisis category, for category-specific resources.

    Returns:
        A value for each name in `HELPLINE_SLOTS`.
    """
    code = resolve_country(country)
    data = load_helplines()["countries"][code]
    lines = data["crisis_line"]
    call_line = next((line for line in lines if line.get("number")), lines[0])
    text_line = next((line for line in lines if line.get("text") and line is not call_line), None)
    extra = (data.get("category_lines") or {}).get(category or "", [])
    return {
        "country_name": str(data["name"]),
        "emergency_number": str(data["emergency"]["number"]),
        "crisis_line": _describe(call_line),
        "crisis_text": f"You can also reach {_describe(text_line)}." if text_line else "",
        "category_line": ("More help: " + "; ".join(_describe(entry) for entry in extra) + ".") if extra else "",
    }


def resource_markers(country: str | None) -> set[str]:
    """Numbers whose presence shows that a reply names the country's crisis resources."""
    data = load_helplines()["countries"][resolve_country(country)]
    markers = {str(data["emergency"]["number"])}
    markers.update(str(line["number"]) for line in data["crisis_line"] if line.get("number"))
    return markers
