"""Train the Rasa model only when its inputs changed.

The fingerprint covers everything that shapes the model: config, domain, training data, the
source of the custom components and policies that config.yml names, and the locked dependency
versions. Rasa's own `--dry-run` check ignores custom component code, so we keep our own
fingerprint beside the model.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import yaml

from bot.settings import Settings

FINGERPRINT_GLOBS = ("config.yml", "domain.yml", "data/**/*.yml", "requirements.lock")


def rasa_executable() -> str:
    """Path of the `rasa` command inside the running virtualenv."""
    return str(Path(sys.executable).with_name("rasa"))


def custom_sources(root: Path) -> set[Path]:
    """Source files of the custom components and policies named in config.yml."""
    config_file = root / "config.yml"
    if not config_file.is_file():
        return set()
    config = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    names = [str(item.get("name", "")) for key in ("pipeline", "policies") for item in config.get(key) or []]
    return {root.joinpath(*name.split(".")[:-1]).with_suffix(".py") for name in names if "." in name}


def fingerprint(root: Path) -> str:
    """Hash of every file that shapes the model, with its path.

    Args:
        root: The project root.

    Returns:
        A hex digest that changes whenever any input changes.
    """
    digest = hashlib.sha256()
    files = sorted({path for pattern in FINGERPRINT_GLOBS for path in root.glob(pattern)} | custom_sources(root))
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def fingerprint_file(model_path: Path) -> Path:
    """Where the fingerprint of a model is kept."""
    return model_path.with_name(model_path.name.removesuffix(".tar.gz") + ".fingerprint")


def model_is_current(settings: Settings) -> bool:
    """Whether the model exists and was trained from the current inputs."""
    stamp = fingerprint_file(settings.model_path)
    return (
        settings.model_path.is_file()
        and stamp.is_file()
        and stamp.read_text().strip() == fingerprint(settings.project_root)
    )


def train(settings: Settings, *, force: bool = False) -> bool:
    """Train the model unless it is current.

    Args:
        settings: Runtime settings (project root, model path).
        force: Train even when the fingerprint matches.

    Returns:
        True when a model was trained, False when the existing one was reused.

    Raises:
        subprocess.CalledProcessError: `rasa train` failed.
    """
    if not force and model_is_current(settings):
        return False
    model = settings.model_path
    model.parent.mkdir(parents=True, exist_ok=True)
    stamp = fingerprint_file(model)
    stamp.unlink(missing_ok=True)
    digest = fingerprint(settings.project_root)
    subprocess.run(
        [
            rasa_executable(),
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            str(model.parent),
            "--fixed-model-name",
            model.name.removesuffix(".tar.gz"),
        ],
        cwd=settings.project_root,
        check=True,
    )
    stamp.write_text(digest + "\n")
    return True
