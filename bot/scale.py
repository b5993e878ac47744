"""The scale-out topology as local processes (`make scale`, `python -m bot scale`).

HAProxy listens where the single Rasa server and action server would (RASA_PORT, ACTION_PORT) and
spreads the work over `SCALE_RASA_PROCESSES` Rasa servers, routed by sender, and
`SCALE_ACTION_PROCESSES` action servers, round robin. The Rasa servers share the PostgreSQL tracker
store and the Redis lock store and publish events to RabbitMQ, which the review service consumes.
Everything is configured by environment variables; `deploy/scale.env` holds the values for the
servers on this machine, and `deploy/docker-compose.yml` and `deploy/k8s/` the same topology for
containers.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import IO

from dotenv import load_dotenv

from bot import stack
from bot.settings import PROJECT_ROOT, Settings

logger = logging.getLogger(__name__)

SCALE_ENV_FILE = PROJECT_ROOT / "deploy" / "scale.env"
HAPROXY_TEMPLATE = PROJECT_ROOT / "deploy" / "haproxy.cfg.template"
# HAProxy refuses larger requests; smaller ones that are still too long get the channel's own message.
MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Topology:
    """Addresses (host:port) of the processes behind the load balancer."""

    rasa: tuple[str, ...]
    actions: tuple[str, ...]

    @classmethod
    def local(cls, rasa_ports: tuple[int, ...], action_ports: tuple[int, ...]) -> Topology:
        """Processes on this machine's loopback."""
        return cls(tuple(f"127.0.0.1:{p}" for p in rasa_ports), tuple(f"127.0.0.1:{p}" for p in action_ports))

    @property
    def rasa_ports(self) -> tuple[int, ...]:
        """Ports of the Rasa servers."""
        return tuple(int(address.rsplit(":", 1)[1]) for address in self.rasa)

    @property
    def action_ports(self) -> tuple[int, ...]:
        """Ports of the action servers."""
        return tuple(int(address.rsplit(":", 1)[1]) for address in self.actions)


def _count(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError as exc:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def topology_from_env() -> Topology:
    """The topology the `SCALE_*` variables describe (2 Rasa and 2 action servers by default)."""
    rasa_base = _count("SCALE_RASA_BASE_PORT", 5105)
    action_base = _count("SCALE_ACTION_BASE_PORT", 5155)
    return Topology.local(
        tuple(rasa_base + i for i in range(_count("SCALE_RASA_PROCESSES", 2))),
        tuple(action_base + i for i in range(_count("SCALE_ACTION_PROCESSES", 2))),
    )


def load_scale_env(path: Path = SCALE_ENV_FILE) -> None:
    """Read the scale-out variables (the environment wins over the file) and rebuild the settings."""
    from bot.settings import get_settings

    load_dotenv(path, override=False)
    get_settings.cache_clear()


def render_haproxy(
    settings: Settings, topology: Topology, template: Path = HAPROXY_TEMPLATE, bind_host: str | None = None
) -> str:
    """HAProxy's configuration for the topology.

    Args:
        settings: RASA_PORT and ACTION_PORT (where HAProxy listens) and the action timeout.
        topology: The servers behind it.
        template: The configuration template.
        bind_host: Address HAProxy listens on (RASA_HOST when None; 0.0.0.0 inside a container).

    Returns:
        The configuration text.
    """

    def servers(prefix: str, addresses: tuple[str, ...]) -> str:
        return "\n".join(
            f"    server {prefix}{n} {address} check inter 1s fall 2 rise 1" for n, address in enumerate(addresses, 1)
        )

    return Template(template.read_text(encoding="utf-8")).substitute(
        bind_host=bind_host or settings.rasa_host,
        rasa_port=settings.rasa_port,
        action_port=settings.action_port,
        max_body_bytes=MAX_BODY_BYTES,
        action_server_timeout=settings.action_timeout_seconds + 5,
        rasa_servers=servers("rasa", topology.rasa),
        action_servers=servers("actions", topology.actions),
    )


def ensure_postgres_database(url: str) -> bool:
    """Create the PostgreSQL database a URL names, when it does not exist yet.

    Args:
        url: SQLAlchemy URL; other databases than PostgreSQL are left alone.

    Returns:
        Whether the database was created.
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql") or not parsed.database:
        return False
    engine = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).scalar()
            if exists:
                return False
            quoted = engine.dialect.identifier_preparer.quote(parsed.database)
            connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
            return True
    finally:
        engine.dispose()


@contextmanager
def temporary_postgres_databases(admin_url: str, names: list[str]) -> Iterator[list[str]]:
    """URLs of PostgreSQL databases that are dropped when the block ends (`running` creates them).

    For tests and benchmarks that run the topology on their own databases.

    Args:
        admin_url: A URL of the server's maintenance database ("postgres"), with a user that may
            drop databases.
        names: The databases.
    """
    import sqlalchemy as sa

    # Pre-ping: a test restarts PostgreSQL, which leaves this pool's connection dead.
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    base = admin_url.rsplit("/", 1)[0]
    try:
        yield [f"{base}/{name}" for name in names]
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def delete_rabbitmq_queue(amqp_url: str, name: str) -> None:
    """Delete a RabbitMQ queue (what a test or a benchmark declared for itself).

    Args:
        amqp_url: The broker, `amqp://user:password@host:port/`.
        name: The queue.
    """
    import asyncio

    import aio_pika

    async def delete() -> None:
        connection = await aio_pika.connect(amqp_url, timeout=5)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(name)

    asyncio.run(delete())


def haproxy_executable() -> str:
    """Path of HAProxy, or a StackError saying how to install it."""
    found = shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if Path(p).is_file()), None
    )
    if not found:
        raise stack.StackError("HAProxy is not installed: `make haproxy` installs Debian's package.")
    return found


def scale_services(
    settings: Settings, topology: Topology, haproxy_config: Path, *, with_web: bool = True, with_review: bool = True
) -> list[stack.Service]:
    """The processes of the topology, in start order.

    Args:
        settings: The settings (RASA_PORT and ACTION_PORT are the load balancer's).
        topology: Ports of the Rasa and action servers behind it.
        haproxy_config: The rendered HAProxy configuration.
        with_web: Start the chat page.
        with_review: Start the review service (consumes RabbitMQ).

    Returns:
        The services to start.
    """
    single = stack.services(settings, with_actions=True, with_web=with_web, with_review=with_review)
    by_name = {service.name: service for service in single}
    actions, rasa = by_name["action server"], by_name["Rasa server"]
    result: list[stack.Service] = []
    for n, port in enumerate(topology.action_ports, 1):
        argv = [*actions.argv[:-1], str(port)]
        result.append(
            stack.Service(
                name=f"action server {n}",
                argv=argv,
                health_url=f"http://127.0.0.1:{port}/health",
                env={"SANIC_HOST": "127.0.0.1"},
            )
        )
    port_index = rasa.argv.index("--port") + 1
    host_index = rasa.argv.index("--interface") + 1
    for n, port in enumerate(topology.rasa_ports, 1):
        argv = list(rasa.argv)
        argv[port_index], argv[host_index] = str(port), "127.0.0.1"
        result.append(stack.Service(name=f"Rasa server {n}", argv=argv, health_url=f"http://127.0.0.1:{port}/"))
    result.append(
        stack.Service(
            name="load balancer",
            argv=[haproxy_executable(), "-W", "-db", "-f", str(haproxy_config)],
            health_url=f"{settings.rasa_url}/",
        )
    )
    result.extend(by_name[name] for name in ("web page", "review service") if name in by_name)
    return result


@contextmanager
def running(
    settings: Settings,
    topology: Topology,
    *,
    with_web: bool = True,
    with_review: bool = True,
    log: IO[bytes] | None = None,
    timeout: float = 240.0,
) -> Iterator[list[stack.Service]]:
    """Run the scale-out topology for the duration of a `with` block.

    Creates the PostgreSQL databases when missing, seeds the directory, runs the preflight check
    (which also connects to Redis and RabbitMQ), then starts the processes.

    Yields:
        The started services.
    """
    for url in (settings.tracker_store_url, settings.database_url, settings.review_database_url):
        if ensure_postgres_database(url):
            logger.info("Created the PostgreSQL database for %s.", url.rsplit("/", 1)[-1])
    env = stack.child_environment(settings)
    # Every process, whichever port it serves, tells browsers and channels the balancer's address.
    env["RASA_PUBLIC_URL"] = settings.rasa_public_url
    config = settings.var_dir / "scale" / "haproxy.cfg"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(render_haproxy(settings, topology), encoding="utf-8")
    stack.prepare(settings, env)
    with stack.started_services(
        scale_services(settings, topology, config, with_web=with_web, with_review=with_review),
        cwd=settings.project_root,
        env=env,
        log=log,
        timeout=timeout,
    ) as started:
        yield started


def main_run(settings: Settings) -> int:
    """`python -m bot scale`: start the topology and block until Ctrl-C."""
    topology = topology_from_env()
    try:
        with running(settings, topology) as started:
            print(
                f"Scale-out topology up: {len(topology.rasa_ports)} Rasa servers "
                f"({', '.join(map(str, topology.rasa_ports))}) and {len(topology.action_ports)} action servers "
                f"({', '.join(map(str, topology.action_ports))}) behind HAProxy at {settings.rasa_url} "
                f"(actions {settings.action_url}).\nChat at {settings.web_url}; review app at {settings.review_url}. "
                "Ctrl-C stops everything."
            )
            return stack.supervise(started)
    except stack.StackError as exc:
        print(f"Could not start the scale-out topology: {exc}", file=sys.stderr)
        return 1
