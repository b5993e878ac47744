from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.rasa_addons.preflight import run_checks
from bot.settings import PROJECT_ROOT


def _root(tmp_path: Path, store_type: str, extra_pipeline: str = "") -> Path:
    shutil.copy(PROJECT_ROOT / "config.yml", tmp_path / "config.yml")
    if extra_pipeline:
        with (tmp_path / "config.yml").open("a") as handle:
            handle.write(extra_pipeline)
    (tmp_path / "endpoints.yml").write_text(f"tracker_store:\n  type: {store_type}\n")
    return tmp_path


def test_configured_project_passes(isolated_env: Path) -> None:
    run_checks(PROJECT_ROOT)


def test_unimportable_tracker_store_is_refused(tmp_path: Path, isolated_env: Path) -> None:
    root = _root(tmp_path, "bot.rasa_addons.no_such_module.Store")
    with pytest.raises(RuntimeError, match="cannot be imported"):
        run_checks(root)


def test_missing_tracker_store_is_refused(tmp_path: Path, isolated_env: Path) -> None:
    root = _root(tmp_path, "bot.rasa_addons.tracker_store.GuardedSQLTrackerStore")
    (root / "endpoints.yml").write_text("action_endpoint:\n  url: http://127.0.0.1:1/webhook\n")
    with pytest.raises(RuntimeError, match="names no tracker store"):
        run_checks(root)


def test_unimportable_custom_component_is_refused(tmp_path: Path, isolated_env: Path) -> None:
    root = _root(
        tmp_path,
        "bot.rasa_addons.tracker_store.GuardedSQLTrackerStore",
        "\n# appended by the test\n",
    )
    text = (
        (root / "config.yml")
        .read_text()
        .replace(
            "  - name: WhitespaceTokenizer",
            "  - name: WhitespaceTokenizer\n  - name: bot.rasa_addons.missing.Component",
        )
    )
    (root / "config.yml").write_text(text)
    with pytest.raises(RuntimeError, match="missing.Component"):
        run_checks(root)


def test_unreachable_store_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_STORE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    from bot.settings import get_settings

    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit):
            run_checks(PROJECT_ROOT)
    finally:
        get_settings.cache_clear()


def test_unimportable_lock_store_is_refused(tmp_path: Path, isolated_env: Path) -> None:
    root = _root(tmp_path, "bot.rasa_addons.tracker_store.GuardedSQLTrackerStore")
    with (root / "endpoints.yml").open("a") as handle:
        handle.write("lock_store:\n  type: bot.rasa_addons.no_such_module.LockStore\n")
    with pytest.raises(RuntimeError, match="Lock store class"):
        run_checks(root)


@pytest.mark.parametrize(
    ("variable", "url", "message"),
    [
        ("LOCK_STORE_URL", "redis://127.0.0.1:1/0", "Redis lock store"),
        ("RABBITMQ_URL", "amqp://guest:secret-pw@127.0.0.1:1/", "RabbitMQ"),
    ],
)
def test_unreachable_scale_out_servers_are_refused_without_showing_passwords(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, url: str, message: str
) -> None:
    from bot.rasa_addons.preflight import check_scale_out_services
    from bot.settings import get_settings

    monkeypatch.setenv(variable, url)
    get_settings.cache_clear()
    try:
        with pytest.raises(RuntimeError, match=message) as caught:
            check_scale_out_services()
        assert "secret-pw" not in str(caught.value)
    finally:
        get_settings.cache_clear()
