"""The review app's wording, read from `app.yml` (data, not code)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TEXTS_FILE = Path(__file__).with_name("app.yml")
REQUIRED_SECTIONS = frozenset(
    {"app", "nav", "login", "roles", "levels", "statuses", "yes_no", "filters", "conversations", "pagination"}
    | {"conversation", "flow", "crisis", "users", "audit", "errors"}
)


# Templates write `t.section.key`; Jinja looks up attributes first, so `t.filters.clear` would be
# the dict's method, not the text. No key may have the name of a dict attribute.
RESERVED_KEYS = frozenset(name for name in dir(dict) if not name.startswith("_"))


def _check(node: Any, where: str, bad: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            name = f"{where}.{key}" if where else str(key)
            if key in RESERVED_KEYS:
                bad.append(f"{name} (a reserved name)")
            _check(value, name, bad)
    elif not isinstance(node, str) or not node.strip():
        bad.append(where)


@lru_cache(maxsize=1)
def load_texts(path: Path = TEXTS_FILE) -> Mapping[str, Any]:
    """Load the app's wording once per process.

    Args:
        path: The YAML file.

    Returns:
        The nested mapping of section -> key -> text.

    Raises:
        ValueError: If a section is missing, a value is not non-empty text, or a key is the name of
            a dict method (`items`, `clear`, ...), which templates could not reach.
    """
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict):
        raise ValueError(f"{path} must be a mapping of sections")
    missing = sorted(REQUIRED_SECTIONS - data.keys())
    if missing:
        raise ValueError(f"{path} is missing sections: {', '.join(missing)}")
    bad: list[str] = []
    _check(data, "", bad)
    if bad:
        raise ValueError(f"{path}: these texts must be non-empty text: {', '.join(bad)}")
    return data


def error_text(key: str, **values: object) -> str:
    """One message of the `errors` section, with its `{placeholders}` filled in.

    Args:
        key: The key under `errors`.
        **values: Values for the placeholders.

    Returns:
        The message.
    """
    text = str(load_texts()["errors"][key]).strip()
    return text.format(**values) if values else text
