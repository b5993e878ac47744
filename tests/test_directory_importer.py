"""CSV import: every bad row reported with its line and reason, and nothing imported then."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import func, select

from bot.directory import db
from bot.directory.importer import COLUMNS, import_csv
from bot.directory.models import Therapist

GOOD = {
    "name": "Dana Real",
    "pronouns": "she/her",
    "gender": "woman",
    "license_type": "LMFT",
    "licensed_states": "OH;PA",
    "locations": "Columbus|OH|43215",
    "telehealth": "yes",
    "in_person": "yes",
    "populations": "individuals;Couples",
    "specialties": "anxiety;trauma",
    "methods": "Attachment-based;EFT",
    "insurances": "Aetna;BCBS",
    "fee": "$140",
    "sliding_scale": "yes",
    "sliding_scale_min": "60",
    "languages": "English;Spanish",
    "accepting_new_clients": "yes",
    "free_consultation": "no",
    "bio": "Real practice.",
    "phone": "(614) 555-0100",
    "email": "dana@example.org",
    "website": "",
}


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _count(url: str) -> int:
    with db.session_scope(url) as session:
        return int(session.execute(select(func.count(Therapist.id))).scalar_one())


def test_good_file_is_imported_with_normalised_values(directory_url: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "ok.csv", [GOOD, {**GOOD, "name": "Lee Real", "locations": "", "in_person": "no"}])
    with db.session_scope(directory_url) as session:
        report = import_csv(session, path)
    assert report.ok and report.imported == 2
    with db.session_scope(directory_url) as session:
        dana = session.execute(select(Therapist).where(Therapist.name == "Dana Real")).scalar_one()
        assert dana.license_type == "lmft" and dana.fee == 140 and not dana.is_sample
        assert {i.insurance for i in dana.insurances} == {"aetna", "bcbs"}
        assert {m.method for m in dana.methods} == {"attachment_based", "eft"}
        assert {lang.language for lang in dana.languages} == {"en", "es"}
        assert {lic.state for lic in dana.licenses} == {"OH", "PA"}


def test_bad_rows_are_all_reported_and_nothing_is_imported(directory_url: str, tmp_path: Path) -> None:
    rows = [
        GOOD,
        {**GOOD, "license_type": "wizard"},
        {**GOOD, "licensed_states": "OH;XX"},
        {**GOOD, "locations": "Austin|TX|78701"},
        {**GOOD, "telehealth": "maybe"},
        {**GOOD, "name": ""},
        {**GOOD, "specialties": "anxiety;juggling"},
        {**GOOD, "fee": "-5"},
        {**GOOD, "locations": "Columbus|OH|432"},
        {**GOOD, "in_person": "yes", "locations": ""},
    ]
    path = _write(tmp_path / "bad.csv", rows)
    with db.session_scope(directory_url) as session:
        report = import_csv(session, path)
    assert not report.ok and report.imported == 0
    by_line = dict(report.errors)
    assert sorted(by_line) == list(range(3, 12))
    assert "unknown license_type 'wizard'" in by_line[3]
    assert "'XX' is not a US state" in by_line[4]
    assert "not licensed there" in by_line[5]
    assert "telehealth must be yes or no" in by_line[6]
    assert "name is empty" in by_line[7]
    assert "unknown value 'juggling'" in by_line[8]
    assert "fee must be a whole number" in by_line[9]
    assert "five digits" in by_line[10]
    assert "locations is empty" in by_line[11]
    assert _count(directory_url) == 0


def test_missing_columns_and_non_utf8_are_refused(directory_url: str, tmp_path: Path) -> None:
    partial = tmp_path / "partial.csv"
    partial.write_text("name,license_type\nA,lcsw\n", encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(",".join(COLUMNS).encode() + b"\n\xe9\xe9\n")
    with db.session_scope(directory_url) as session:
        first, second = import_csv(session, partial), import_csv(session, latin)
    assert "missing columns" in first.errors[0][1]
    assert "not UTF-8" in second.errors[0][1]
    assert _count(directory_url) == 0
