from __future__ import annotations

from pathlib import Path

from bot.training import fingerprint


def _project(root: Path) -> None:
    (root / "data" / "nlu").mkdir(parents=True)
    (root / "bot" / "rasa_addons").mkdir(parents=True)
    (root / "config.yml").write_text("pipeline:\n  - name: bot.rasa_addons.component.Component\n")
    (root / "domain.yml").write_text("intents: []\n")
    (root / "data" / "nlu" / "a.yml").write_text("nlu: []\n")
    (root / "bot" / "rasa_addons" / "component.py").write_text("X = 1\n")
    (root / "README.md").write_text("docs\n")


def test_fingerprint_changes_with_each_model_input(tmp_path: Path) -> None:
    _project(tmp_path)
    base = fingerprint(tmp_path)
    assert fingerprint(tmp_path) == base
    for relative in ("config.yml", "domain.yml", "data/nlu/a.yml", "bot/rasa_addons/component.py"):
        path = tmp_path / relative
        original = path.read_text()
        path.write_text(original + "# changed\n")
        assert fingerprint(tmp_path) != base, relative
        path.write_text(original)
    assert fingerprint(tmp_path) == base


def test_fingerprint_ignores_files_that_do_not_shape_the_model(tmp_path: Path) -> None:
    _project(tmp_path)
    base = fingerprint(tmp_path)
    (tmp_path / "README.md").write_text("other docs\n")
    (tmp_path / "bot" / "rasa_addons" / "channels.py").write_text("Y = 2\n")
    assert fingerprint(tmp_path) == base


def test_new_training_file_changes_fingerprint(tmp_path: Path) -> None:
    _project(tmp_path)
    base = fingerprint(tmp_path)
    (tmp_path / "data" / "nlu" / "b.yml").write_text("nlu: []\n")
    assert fingerprint(tmp_path) != base
