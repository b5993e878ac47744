"""`python -m bot therapists ...`: seed, search (text and JSON), import, migrate down and up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture()
def seeded(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["therapists", "--database", url, "seed", "--count", "600"]) == 0
    return url


def test_search_prints_json_with_cards(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = main(
        [
            "therapists",
            "--database",
            seeded,
            "search",
            "--state",
            "TX",
            "--insurance",
            "aetna",
            "--need",
            "anxiety",
            "--format",
            "telehealth",
            "--json",
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["total"] >= 1 and 1 <= len(result["results"]) <= 3
    for card in result["results"]:
        assert "Online (licensed in Texas)" in card["where"]
        assert "Attachment-based" in card["methods"]
        assert card["sample"] is True


def test_search_accepts_names_and_zips_and_rejects_unknown_values(
    seeded: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["therapists", "--database", seeded, "search", "--state", "78701", "--insurance", "BCBS"]) == 0
    assert "match(es)" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="Unknown state"):
        main(["therapists", "--database", seeded, "search", "--state", "Atlantis"])
    with pytest.raises(SystemExit, match="Unknown insurance"):
        main(["therapists", "--database", seeded, "search", "--state", "TX", "--insurance", "acme"])


def test_seed_twice_is_refused(seeded: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["therapists", "--database", seeded, "seed", "--count", "10"]) == 1
    assert "not empty" in capsys.readouterr().err


def test_import_reports_bad_rows_with_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'import.db'}"
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "name,license_type,licensed_states,telehealth,in_person,populations,specialties,methods\n"
        "A Person,lcsw,OH,yes,no,individuals,anxiety,cbt\n"
        "B Person,astrologer,OH,yes,no,individuals,anxiety,cbt\n",
        encoding="utf-8",
    )
    assert main(["therapists", "--database", url, "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: unknown license_type 'astrologer'" in err
    assert "Nothing imported" in err
    assert main(["therapists", "--database", url, "import", str(tmp_path / "missing.csv")]) == 1


def test_migrate_down_and_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(["therapists", "--database", url, "migrate"]) == 0
    assert main(["therapists", "--database", url, "migrate", "--down", "base"]) == 0
    assert main(["therapists", "--database", url, "migrate"]) == 0
