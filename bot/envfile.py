"""Create `.env` from `.env.example` on first run, with a fresh random API token."""

from __future__ import annotations

import secrets
from pathlib import Path

TOKEN_PLACEHOLDER = "change-me"


def ensure_env_file(root: Path) -> bool:
    """Write `.env` from `.env.example` if it does not exist yet.

    Every variable whose value is the placeholder `change-me` gets a random secret.

    Args:
        root: The project root.

    Returns:
        True when `.env` was created.
    """
    target = root / ".env"
    if target.exists():
        return False
    lines = []
    for line in (root / ".env.example").read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.lstrip().startswith("#") and value.strip() == TOKEN_PLACEHOLDER:
            line = f"{key}={secrets.token_urlsafe(32)}"
        lines.append(line)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target.chmod(0o600)
    return True
