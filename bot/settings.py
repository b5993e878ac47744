"""One frozen Settings object, built once from the environment.

A `.env` file in the project root is read first (python-dotenv); variables that are
already set in the environment win over it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from dotenv import load_dotenv

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError as exc:
        raise ValueError(f"Environment variable {name} must be a whole number, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Every field comes from an environment variable."""

    project_root: Path
    var_dir: Path
    cache_dir: Path
    rasa_host: str
    rasa_port: int
    rasa_api_token: str
    action_host: str
    action_port: int
    web_host: str
    web_port: int
    tracker_store_url: str
    database_url: str
    retention_days: int
    model_path: Path
    web_origins: tuple[str, ...]
    rasa_public_url: str
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_number: str = ""
    twilio_webhook_url: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    telegram_token: str = ""
    telegram_secret_token: str = ""
    telegram_webhook_url: str = ""
    telegram_api_base: str = "https://api.telegram.org"
    review_database_url: str = ""
    event_broker_db: Path = Path("var/events.db")
    review_hash_key: str = ""
    review_host: str = "127.0.0.1"
    review_port: int = 8090
    review_session_minutes: int = 30
    rabbitmq_url: str = ""
    rabbitmq_queue: str = "rasa_events"
    lock_store_url: str = ""
    action_timeout_seconds: int = 10
    rate_limit_burst: int = 30
    rate_limit_per_minute: int = 60

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://{self.rasa_host}:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        """Webhook URL of the action server."""
        return f"http://{self.action_host}:{self.action_port}/webhook"

    @property
    def event_broker_url(self) -> str:
        """SQLAlchemy URL of the SQL event broker's database (Rasa writes it, ingest reads it)."""
        return f"sqlite:///{self.event_broker_db}"

    @property
    def review_url(self) -> str:
        """URL of the clinicians' review app."""
        return f"http://{self.review_host}:{self.review_port}"

    @property
    def web_url(self) -> str:
        """URL of the chat page."""
        return f"http://{self.web_host}:{self.web_port}"


def _origins(raw: str, web_port: int) -> tuple[str, ...]:
    """Allowed browser origins: a comma-separated list, or the chat page's own addresses."""
    listed = tuple(item.strip().rstrip("/") for item in raw.split(",") if item.strip())
    return listed or (f"http://localhost:{web_port}", f"http://127.0.0.1:{web_port}")


def build_settings() -> Settings:
    """Build settings from the environment (and `.env`), without caching."""
    load_dotenv(PROJECT_ROOT / ".env", override=False)
    var_dir = Path(os.environ.get("BOT_VAR_DIR", str(PROJECT_ROOT / "var")))
    rasa_host = os.environ.get("RASA_HOST", "127.0.0.1")
    rasa_port = _int("RASA_PORT", 5005)
    web_port = _int("WEB_PORT", 8080)
    return Settings(
        project_root=PROJECT_ROOT,
        var_dir=var_dir,
        # Shared by every process of this checkout, including test stacks with their own var dir.
        cache_dir=Path(os.environ.get("BOT_CACHE_DIR", "") or PROJECT_ROOT / "var" / "cache"),
        rasa_host=rasa_host,
        rasa_port=rasa_port,
        rasa_api_token=os.environ.get("RASA_API_TOKEN", ""),
        action_host=os.environ.get("ACTION_HOST", "127.0.0.1"),
        action_port=_int("ACTION_PORT", 5055),
        web_host=os.environ.get("WEB_HOST", "127.0.0.1"),
        web_port=web_port,
        tracker_store_url=os.environ.get("TRACKER_STORE_URL", f"sqlite:///{var_dir / 'tracker.db'}"),
        database_url=os.environ.get("DATABASE_URL", "") or f"sqlite:///{var_dir / 'directory.db'}",
        retention_days=_int("RETENTION_DAYS", 30),
        model_path=Path(os.environ.get("RASA_MODEL", str(PROJECT_ROOT / "models" / "current.tar.gz"))),
        web_origins=_origins(os.environ.get("WEB_ORIGINS", ""), web_port),
        rasa_public_url=(
            os.environ.get("RASA_PUBLIC_URL", "").strip().rstrip("/") or f"http://{rasa_host}:{rasa_port}"
        ),
        twilio_account_sid=os.environ.get("TWILIO_ACCOUNT_SID", "").strip(),
        twilio_auth_token=os.environ.get("TWILIO_AUTH_TOKEN", "").strip(),
        twilio_number=os.environ.get("TWILIO_NUMBER", "").strip(),
        twilio_webhook_url=os.environ.get("TWILIO_WEBHOOK_URL", "").strip(),
        twilio_api_base=os.environ.get("TWILIO_API_BASE", "").strip().rstrip("/") or "https://api.twilio.com",
        telegram_token=os.environ.get("TELEGRAM_TOKEN", "").strip(),
        telegram_secret_token=os.environ.get("TELEGRAM_SECRET_TOKEN", "").strip(),
        telegram_webhook_url=os.environ.get("TELEGRAM_WEBHOOK_URL", "").strip(),
        telegram_api_base=os.environ.get("TELEGRAM_API_BASE", "").strip().rstrip("/") or "https://api.telegram.org",
        review_database_url=os.environ.get("REVIEW_DATABASE_URL", "") or f"sqlite:///{var_dir / 'review.db'}",
        event_broker_db=Path(os.environ.get("EVENT_BROKER_DB", "") or var_dir / "events.db"),
        review_hash_key=os.environ.get("REVIEW_HASH_KEY", "").strip(),
        review_host=os.environ.get("REVIEW_HOST", "127.0.0.1"),
        review_port=_int("REVIEW_PORT", 8090),
        review_session_minutes=_int("REVIEW_SESSION_MINUTES", 30),
        rabbitmq_url=os.environ.get("RABBITMQ_URL", "").strip(),
        rabbitmq_queue=os.environ.get("RABBITMQ_QUEUE", "").strip() or "rasa_events",
        lock_store_url=os.environ.get("LOCK_STORE_URL", "").strip(),
        action_timeout_seconds=_int("ACTION_TIMEOUT_SECONDS", 10),
        rate_limit_burst=_int("RATE_LIMIT_BURST", 30),
        rate_limit_per_minute=_int("RATE_LIMIT_PER_MINUTE", 60),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, built on first use."""
    return build_settings()
