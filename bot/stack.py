"""Start and stop the local stack: action server, Rasa server and web page.

Used by `python -m bot run` (what `make run` calls), by the live tests and by the benchmark,
so all three run the assistant the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bot.settings import Settings

logger = logging.getLogger(__name__)
# Rasa SDK's server, started once the actions' language resources are loaded.
ACTION_SERVER = "bot.rasa_addons.action_server"


class StackError(RuntimeError):
    """A service of the stack failed to start or stopped unexpectedly."""


@dataclass
class Service:
    """One process of the stack and how to tell that it is ready."""

    name: str
    argv: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None


def child_environment(settings: Settings) -> dict[str, str]:
    """Environment shared by every process of the stack."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(p for p in (str(settings.project_root), env.get("PYTHONPATH", "")) if p),
            "ACTION_ENDPOINT_URL": settings.action_url,
            "TRACKER_STORE_URL": settings.tracker_store_url,
            "DATABASE_URL": settings.database_url,
            "EVENT_BROKER_DB": str(settings.event_broker_db),
            "REVIEW_DATABASE_URL": settings.review_database_url,
            "REVIEW_PORT": str(settings.review_port),
            "BOT_VAR_DIR": str(settings.var_dir),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore",
        }
    )
    return env


def services(
    settings: Settings, *, with_actions: bool = True, with_web: bool = True, with_review: bool = False
) -> list[Service]:
    """The processes of the stack, in start order.

    Args:
        settings: Ports, hosts, model and token.
        with_actions: Start the action server.
        with_web: Start the web page server.
        with_review: Start the review service (the clinicians' app and the ingest).

    Returns:
        The services to start.
    """
    python = sys.executable
    rasa = str(Path(python).with_name("rasa"))
    result: list[Service] = []
    if with_actions:
        result.append(
            Service(
                name="action server",
                argv=[python, "-m", ACTION_SERVER, "--actions", "actions", "--port", str(settings.action_port)],
                health_url=f"http://{settings.action_host}:{settings.action_port}/health",
                env={"SANIC_HOST": settings.action_host},
            )
        )
    rasa_argv = [
        rasa,
        "run",
        "--model",
        str(settings.model_path),
        "--endpoints",
        "endpoints.yml",
        "--credentials",
        "credentials.yml",
        "--interface",
        settings.rasa_host,
        "--port",
        str(settings.rasa_port),
    ]
    if settings.rasa_api_token:
        rasa_argv += ["--enable-api", "--auth-token", settings.rasa_api_token]
    result.append(Service(name="Rasa server", argv=rasa_argv, health_url=f"{settings.rasa_url}/"))
    if with_web:
        result.append(
            Service(
                name="web page",
                argv=[python, "-m", "bot.web.server"],
                health_url=f"{settings.web_url}/healthz",
            )
        )
    if with_review:
        result.append(
            Service(
                name="review service",
                argv=[python, "-m", "bot", "review", "serve"],
                health_url=f"{settings.review_url}/healthz",
            )
        )
    return result


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback URL)
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(service: Service, timeout: float) -> None:
    """Wait until a service answers its health URL.

    Args:
        service: A started service.
        timeout: Seconds to wait at most.

    Raises:
        StackError: The process exited or did not become ready in time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process is not None and service.process.poll() is not None:
            raise StackError(f"The {service.name} exited with code {service.process.returncode} while starting.")
        if _ready(service.health_url):
            return
        time.sleep(0.5)
    raise StackError(f"The {service.name} did not answer {service.health_url} within {timeout:.0f} s.")


def stop(started: list[Service], grace: float = 15.0) -> None:
    """Stop services in reverse start order: SIGTERM, then SIGKILL after `grace` seconds."""
    for service in reversed(started):
        process = service.process
        if process is None or process.poll() is not None:
            continue
        process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for service in reversed(started):
        process = service.process
        if process is None:
            continue
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def preflight(settings: Settings, env: dict[str, str]) -> None:
    """Check the configured tracker store and custom classes before Rasa starts.

    Raises:
        StackError: The check failed; its output says why.
    """
    result = subprocess.run(
        [sys.executable, "-m", "bot.rasa_addons.preflight"],
        cwd=settings.project_root,
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise StackError((result.stderr.strip() or result.stdout.strip()).splitlines()[-1])


@contextmanager
def started_services(
    to_start: list[Service], *, cwd: Path, env: dict[str, str], log: IO[bytes] | None = None, timeout: float = 180.0
) -> Iterator[list[Service]]:
    """Start services in order, each once the previous one is ready; stop them all on exit.

    Args:
        to_start: The services, in start order.
        cwd: Working directory of every process.
        env: Environment shared by every process (each service may add to it).
        log: Where the services' output goes (inherits the terminal when None).
        timeout: Seconds each service may take to become ready.

    Yields:
        The started services.
    """
    started: list[Service] = []
    try:
        for service in to_start:
            service.process = subprocess.Popen(
                service.argv,
                cwd=cwd,
                env={**env, **service.env},
                stdout=log,
                stderr=subprocess.STDOUT if log is not None else None,
            )
            started.append(service)
            wait_ready(service, timeout)
        yield started
    finally:
        stop(started)


def prepare(settings: Settings, env: dict[str, str], *, seed_directory: bool = True) -> None:
    """What must hold before any process starts: var/, the key, the classifier, preflight, the directory.

    The review hash key and the crisis classifier's cache are made here, before processes could race.

    Raises:
        StackError: The preflight check failed.
    """
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    from bot.envfile import TOKEN_PLACEHOLDER

    if settings.review_hash_key in ("", TOKEN_PLACEHOLDER):
        from bot.review.store import ensure_key_file

        ensure_key_file(settings.var_dir)  # before any process could race to create it
    from bot.crisis.classifier import get_classifier

    get_classifier()  # fitted and cached once here, not by every Rasa process at the same time
    preflight(settings, env)
    if seed_directory:
        from bot.directory.cli import ensure_directory

        if ensure_directory(settings.database_url):
            logger.info("Seeded the therapist directory with the fictional sample.")


@contextmanager
def running(
    settings: Settings,
    *,
    with_actions: bool = True,
    with_web: bool = True,
    with_review: bool = False,
    log: IO[bytes] | None = None,
    timeout: float = 180.0,
) -> Iterator[list[Service]]:
    """Run the assistant's stack for the duration of a `with` block, after the preflight check.

    Args:
        settings: Ports, hosts, model and token.
        with_actions: Start the action server.
        with_web: Start the web page server.
        with_review: Start the review service (the clinicians' app and the ingest).
        log: Where the services' output goes (inherits the terminal when None).
        timeout: Seconds each service may take to become ready.

    Yields:
        The started services.
    """
    env = child_environment(settings)
    prepare(settings, env, seed_directory=with_actions)
    with started_services(
        services(settings, with_actions=with_actions, with_web=with_web, with_review=with_review),
        cwd=settings.project_root,
        env=env,
        log=log,
        timeout=timeout,
    ) as started:
        yield started


def supervise(started: list[Service]) -> int:
    """Block until Ctrl-C/SIGTERM (returns 0) or until a service dies (returns 1)."""
    stopping = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    while not stopping:
        for service in started:
            if service.process is not None and service.process.poll() is not None:
                code = service.process.returncode
                print(f"The {service.name} stopped unexpectedly (exit code {code}).", file=sys.stderr)
                return 1
        time.sleep(0.5)
    return 0
