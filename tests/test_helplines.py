"""The helplines data: every country has an emergency number and a crisis line, all well formed."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.crisis.helplines import (
    country_mentioned,
    helpline_slots,
    load_helplines,
    resolve_country,
    resource_markers,
)

REQUIRED_COUNTRIES = {"US", "CA", "GB", "IE", "AU", "NZ", "IN"}
PHONE = re.compile(r"^[0-9][0-9 \-]*[0-9]( or [0-9][0-9 \-]*[0-9])*$")


def _entries() -> list[tuple[str, dict[str, object]]]:
    result = []
    for code, country in load_helplines()["countries"].items():
        result.append((code, country["emergency"]))
        result.extend((code, line) for line in country["crisis_line"])
        for lines in (country.get("category_lines") or {}).values():
            result.extend((code, line) for line in lines)
    return result


def test_required_countries_and_default() -> None:
    data = load_helplines()
    assert REQUIRED_COUNTRIES <= set(data["countries"])
    assert data["default_country"] == "US"


@pytest.mark.parametrize("code", sorted(REQUIRED_COUNTRIES))
def test_country_has_emergency_number_and_crisis_line(code: str) -> None:
    country = load_helplines()["countries"][code]
    assert PHONE.match(str(country["emergency"]["number"]))
    assert country["crisis_line"], code
    assert any(line.get("number") or line.get("text") for line in country["crisis_line"])


@pytest.mark.parametrize(("code", "entry"), _entries())
def test_entry_is_well_formed(code: str, entry: dict[str, object]) -> None:
    assert entry.get("service"), code
    assert entry.get("number") or entry.get("text") or entry.get("url"), (code, entry)
    if entry.get("number"):
        assert PHONE.match(str(entry["number"])), (code, entry["number"])
    if entry.get("url"):
        assert str(entry["url"]).startswith("https://"), (code, entry["url"])
    assert str(entry.get("source", "")).startswith("https://"), (code, entry)
    verified = entry.get("last_verified")
    assert isinstance(verified, dt.date), (code, entry)
    assert verified <= dt.date.today()


def test_us_resources_match_the_issue() -> None:
    slots = helpline_slots("US", "abuse_or_violence")
    assert slots["emergency_number"] == "911"
    assert "988" in slots["crisis_line"]
    assert "HOME to 741741" in slots["crisis_text"]
    assert "1-800-799-7233" in slots["category_line"] and "1-800-656-4673" in slots["category_line"]
    assert "1-800-222-1222" in helpline_slots("US", "medical_emergency")["category_line"]


def test_country_resolution() -> None:
    assert resolve_country("uk") == "GB"
    assert resolve_country("New Zealand") == "NZ"
    assert resolve_country("atlantis") == "US"
    assert resolve_country(None) == "US"
    assert country_mentioned("I'm in the UK and I feel awful") == "GB"
    assert country_mentioned("i live in australia") == "AU"
    assert country_mentioned("my mother is from india") is None
    assert helpline_slots("GB")["emergency_number"] == "999"
    assert "116 123" in helpline_slots("IE")["crisis_line"]
    assert {"911", "988"} <= resource_markers("US")


def test_domain_defaults_match_us_data() -> None:
    """Crisis responses fall back to the slots' initial values: they must be the US entries."""
    import yaml

    from bot.settings import PROJECT_ROOT

    slots = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["slots"]
    us = helpline_slots("US")
    for name in ("country_name", "emergency_number", "crisis_line", "crisis_text"):
        assert slots[name]["initial_value"] == us[name], name
