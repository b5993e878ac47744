"""Check, before `rasa run`, what Rasa would otherwise replace silently.

Rasa falls back to an in-memory tracker store, with only a warning, when the configured class
cannot be imported; this check fails instead. It also imports every custom pipeline component
and policy named in config.yml, and connects to the tracker store. Exit code 0 when all is
well, 1 with a one-line reason otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from bot.settings import get_settings


def _custom_class_paths(config_file: Path) -> list[str]:
    with config_file.open(encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    names = [str(item.get("name", "")) for key in ("pipeline", "policies") for item in (config.get(key) or [])]
    return [name for name in names if "." in name]


def run_checks(root: Path) -> None:
    """Run every check, raising on the first failure.

    Args:
        root: The project root (holds endpoints.yml and config.yml).

    Raises:
        RuntimeError: A class is missing or of the wrong kind.
        SystemExit: The tracker store cannot be reached.
    """
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.utils.common import class_from_module_path
    from rasa.utils.endpoints import read_endpoint_config

    # endpoints.yml names the action server through this variable; the launcher sets it, and
    # reading the file fails without it, so default it here the same way.
    os.environ.setdefault("ACTION_ENDPOINT_URL", get_settings().action_url)
    os.environ.setdefault("EVENT_BROKER_DB", str(get_settings().event_broker_db))
    for path in _custom_class_paths(root / "config.yml"):
        try:
            class_from_module_path(path)
        except (ImportError, AttributeError) as exc:
            raise RuntimeError(f"Custom component {path!r} in config.yml cannot be imported: {exc}") from exc

    store_config = read_endpoint_config(str(root / "endpoints.yml"), "tracker_store")
    if store_config is None or not store_config.type:
        raise RuntimeError("endpoints.yml names no tracker store; conversations would only live in memory.")
    try:
        store_class = class_from_module_path(store_config.type)
    except (ImportError, AttributeError) as exc:
        raise RuntimeError(
            f"Tracker store class {store_config.type!r} cannot be imported ({exc}); "
            "Rasa would silently keep conversations in memory only."
        ) from exc
    if not (isinstance(store_class, type) and issubclass(store_class, TrackerStore)):
        raise RuntimeError(f"{store_config.type!r} is not a tracker store class.")
    store_class(host=store_config.url, domain=None, event_broker=None, **store_config.kwargs)

    # Rasa runs without its event broker, with only a warning, when the class cannot be imported:
    # clinicians would silently stop seeing conversations.
    for section, label in (("event_broker", "Event broker"), ("lock_store", "Lock store")):
        config = read_endpoint_config(str(root / "endpoints.yml"), section)
        if config is not None and config.type and "." in config.type:
            try:
                class_from_module_path(config.type)
            except (ImportError, AttributeError) as exc:
                raise RuntimeError(f"{label} class {config.type!r} cannot be imported ({exc}).") from exc
    check_scale_out_services()


def check_scale_out_services() -> None:
    """Connect to Redis and RabbitMQ when they are configured; a wrong URL must not start a server.

    Raises:
        RuntimeError: A configured server cannot be reached.
    """
    settings = get_settings()
    if settings.lock_store_url:
        import redis

        try:
            redis.Redis.from_url(settings.lock_store_url, socket_connect_timeout=3, socket_timeout=3).ping()
        except (redis.exceptions.RedisError, ValueError) as exc:
            raise RuntimeError(
                f"The Redis lock store at {_hide_password(settings.lock_store_url)} cannot be reached ({exc})."
            ) from exc
    if settings.rabbitmq_url:
        import asyncio

        import aio_pika

        async def connect() -> None:
            connection = await aio_pika.connect(settings.rabbitmq_url, timeout=5)
            await connection.close()

        try:
            asyncio.run(connect())
        except Exception as exc:  # noqa: BLE001 (aio_pika raises many kinds; all mean the same here)
            raise RuntimeError(
                f"RabbitMQ at {_hide_password(settings.rabbitmq_url)} cannot be reached "
                f"({type(exc).__name__}); events would not reach the review service."
            ) from exc


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 (not a URL SQLAlchemy parses; show only the scheme)
        return url.split("://", 1)[0] + "://..."


def main() -> int:
    """Entry point: print the reason and return 1 on failure."""
    try:
        run_checks(get_settings().project_root)
    except SystemExit as exc:
        print(f"Preflight failed: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 (report any failure as one clear line)
        print(f"Preflight failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
