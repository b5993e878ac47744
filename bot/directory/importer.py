"""Import a real directory from CSV: every row is checked, and nothing is imported if any row is bad.

Columns (header row required; lists are separated by ";"):

    name, pronouns, gender, license_type, licensed_states, locations, telehealth, in_person,
    populations, specialties, methods, insurances, fee, sliding_scale, sliding_scale_min,
    languages, accepting_new_clients, free_consultation, bio, phone, email, website

`locations` holds offices as "City|ST|ZIP". List values may be the vocabulary's keys, labels or
aliases (bot/directory/vocab.yml). Yes/no columns take yes/no, true/false or 1/0.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bot.directory.seed import insert_profiles
from bot.directory.vocab import Vocab, get_vocab

COLUMNS = (
    "name",
    "pronouns",
    "gender",
    "license_type",
    "licensed_states",
    "locations",
    "telehealth",
    "in_person",
    "populations",
    "specialties",
    "methods",
    "insurances",
    "fee",
    "sliding_scale",
    "sliding_scale_min",
    "languages",
    "accepting_new_clients",
    "free_consultation",
    "bio",
    "phone",
    "email",
    "website",
)
REQUIRED = (
    "name",
    "license_type",
    "licensed_states",
    "telehealth",
    "in_person",
    "populations",
    "specialties",
    "methods",
)
_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0", ""}
_LIST_GROUPS = {
    "populations": "populations",
    "specialties": "specialties",
    "methods": "methods",
    "insurances": "insurances",
    "languages": "languages",
}


class RowError(ValueError):
    """A value in a row that cannot be imported."""


@dataclass
class ImportReport:
    """What an import did, or why it did nothing."""

    imported: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every row was valid (and so imported)."""
        return not self.errors


def _lookup(vocab: Vocab, group: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for key, info in vocab.terms(group).items():
        table[key.lower()] = key
        table[str(info["label"]).lower()] = key
        for alias in info.get("aliases") or []:
            table.setdefault(str(alias).lower(), key)
    return table


def _bool(row: dict[str, str], column: str) -> bool:
    raw = (row.get(column) or "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise RowError(f"{column} must be yes or no, not {row[column]!r}")


def _int(row: dict[str, str], column: str, low: int, high: int) -> int | None:
    raw = (row.get(column) or "").strip().lstrip("$")
    if not raw:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise RowError(f"{column} must be a whole number from {low} to {high}, not {row[column]!r}")
    return int(raw)


def _items(raw: str | None) -> list[str]:
    return [item.strip() for item in (raw or "").split(";") if item.strip()]


def parse_row(row: dict[str, str], vocab: Vocab) -> dict[str, Any]:
    """Check one CSV row and turn it into a profile for `insert_profiles`.

    Raises:
        RowError: With the first problem found.
    """
    for column in REQUIRED:
        if not (row.get(column) or "").strip():
            raise RowError(f"{column} is empty")
    name = row["name"].strip()
    if len(name) > 120:
        raise RowError("name is longer than 120 characters")
    licenses = _lookup(vocab, "license_types")
    license_type = licenses.get(row["license_type"].strip().lower())
    if license_type is None:
        raise RowError(
            f"unknown license_type {row['license_type']!r} (one of {', '.join(vocab.terms('license_types'))})"
        )
    states = [s.upper() for s in _items(row["licensed_states"])]
    for state in states:
        if state not in vocab.state_codes:
            raise RowError(f"licensed_states: {state!r} is not a US state or DC postal code")
    offices = []
    for office in _items(row.get("locations")):
        parts = [p.strip() for p in office.split("|")]
        if len(parts) != 3 or not parts[0]:
            raise RowError(f"locations: {office!r} is not City|ST|ZIP")
        city, state, zip_code = parts[0], parts[1].upper(), parts[2]
        if state not in states:
            raise RowError(f"locations: office in {state} but not licensed there")
        if not re.fullmatch(r"\d{5}", zip_code):
            raise RowError(f"locations: ZIP {zip_code!r} must be five digits")
        offices.append({"city": city[:80], "state": state, "zip": zip_code})
    telehealth, in_person = _bool(row, "telehealth"), _bool(row, "in_person")
    if not (telehealth or in_person):
        raise RowError("telehealth and in_person are both no")
    if in_person and not offices:
        raise RowError("in_person is yes but locations is empty")
    tags: dict[str, list[str]] = {}
    for column, group in _LIST_GROUPS.items():
        table = _lookup(vocab, group)
        keys = []
        for item in _items(row.get(column)):
            key = table.get(item.lower())
            if key is None:
                raise RowError(f"{column}: unknown value {item!r}")
            keys.append(key)
        tags[column] = list(dict.fromkeys(keys))
    gender = (row.get("gender") or "").strip().lower()
    if gender and gender not in vocab.terms("genders"):
        raise RowError(f"gender must be one of {', '.join(vocab.terms('genders'))} or empty")
    email = (row.get("email") or "").strip()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise RowError(f"email {email!r} is not an e-mail address")
    sliding = _bool(row, "sliding_scale")
    return {
        "name": name,
        "pronouns": (row.get("pronouns") or "").strip()[:30],
        "gender": gender,
        "license_type": license_type,
        "telehealth": telehealth,
        "in_person": in_person,
        "fee": _int(row, "fee", 0, 2000),
        "sliding_scale": sliding,
        "sliding_scale_min": _int(row, "sliding_scale_min", 0, 2000) if sliding else None,
        "accepting_new_clients": _bool(row, "accepting_new_clients"),
        "free_consultation": _bool(row, "free_consultation"),
        "bio": (row.get("bio") or "").strip()[:2000],
        "phone": (row.get("phone") or "").strip()[:40],
        "email": email[:200],
        "website": (row.get("website") or "").strip()[:300],
        "is_sample": False,
        "licenses": list(dict.fromkeys(states)),
        "locations": offices,
        **tags,
    }


def import_csv(session: Session, path: Path, vocab: Vocab | None = None) -> ImportReport:
    """Check every row of a CSV file and import all of them, or none.

    Args:
        session: An open session; the caller commits (or rolls back on errors).
        path: The CSV file (UTF-8).
        vocab: The directory vocabulary.

    Returns:
        The number imported, or every bad row with its line number and reason.
    """
    vocab = vocab or get_vocab()
    report = ImportReport()
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                report.errors.append((1, f"missing columns: {', '.join(missing)}"))
                return report
            unknown = [c for c in reader.fieldnames or [] if c not in COLUMNS]
            if unknown:
                report.errors.append((1, f"unknown columns: {', '.join(unknown)}"))
                return report
            profiles = []
            for row in reader:
                line = reader.line_num
                if None in row:
                    report.errors.append((line, "more values than columns"))
                    continue
                try:
                    profiles.append(parse_row(row, vocab))
                except RowError as exc:
                    report.errors.append((line, str(exc)))
    except UnicodeDecodeError:
        report.errors.append((0, "the file is not UTF-8 text"))
        return report
    except csv.Error as exc:
        report.errors.append((0, f"not a readable CSV file: {exc}"))
        return report
    if not profiles and not report.errors:
        report.errors.append((1, "no rows to import"))
    if report.ok:
        report.imported = insert_profiles(session, profiles)
    return report
