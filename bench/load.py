"""Load benchmark: many concurrent conversations through the intake and the therapist search.

Runs, in one run, the same load against the single-process default (`make run`: one Rasa server,
one action server, SQLite stores, the SQL event broker and the review service) and against the
scale-out topology (`make scale`: HAProxy, two Rasa servers, two action servers, PostgreSQL,
Redis, RabbitMQ and the review service), both on this machine.

Each of `--clients` (default 50) virtual users runs whole conversations for `--seconds` (default
300): consent, the 14 reflection questions to the reflection, then a therapist search to its
results and the next page, then a new conversation. Measured: reply latency p50/p95/p99,
messages/s, errors (a non-200 answer, an empty reply or the "something went wrong" reply; must be
0), conversations that did not reach the reflection or the results, lost messages (sent messages
that are not in the tracker store afterwards; must be 0), and the peak resident memory of every
process. Figures go to bench/results.json (key "load") and a table is printed. `make bench` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.run import _free_port, percentile, rss_mb, write_results
from bot import scale, stack
from bot.reflection.bank import get_bank
from bot.settings import PROJECT_ROOT, Settings, build_settings, get_settings

PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
AMQP_URL = os.environ.get("BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
OPEN_ANSWER = "they were kind but often busy, and i learned to sort things out on my own"
SEARCH = ["/find_therapist", "Ohio", "aetna", "anxiety and relationships", "online", "just me", "no preference"]
SENDER_PREFIX = "load-"


def conversation_script() -> list[str]:
    """The messages of one conversation: consent, the whole intake, a search and its next page."""
    intake = [
        f'/rate{{"rating": "{1 + n % 5}"}}' if question.is_rating else OPEN_ANSWER
        for n, question in enumerate(get_bank().questions)
    ]
    return ["hello", "yes", "/reflect_start", *intake, *SEARCH, "/more_results"]


@lru_cache(maxsize=1)
def failure_text() -> str:
    """The start of the reply Rasa sends when an action failed or timed out (utter_no_reply)."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return str(domain["responses"]["utter_no_reply"][0]["text"]).split(".")[0]


@dataclass
class Tally:
    """What the virtual users saw."""

    latencies_ms: list[float] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    conversations: int = 0
    flow_failures: int = 0
    error_samples: list[str] = field(default_factory=list)


async def _turn(session: aiohttp.ClientSession, url: str, sender: str, text: str, tally: Tally) -> list[dict[str, Any]]:
    tally.sent[sender] = tally.sent.get(sender, 0) + 1
    start = time.perf_counter()
    replies: list[dict[str, Any]] = []
    problem = ""
    try:
        async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}) as response:
            if response.status != 200:
                problem = f"HTTP {response.status}"  # (an error page is not JSON: the status says more)
            else:
                body = await response.json(content_type=None)
                if not isinstance(body, list) or not body:
                    problem = "empty reply"
                else:
                    replies = body
    except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError) as exc:
        problem = type(exc).__name__
    tally.latencies_ms.append((time.perf_counter() - start) * 1000)
    if not problem and any(failure_text() in str(reply.get("text", "")) for reply in replies):
        problem = "action failed or timed out"
    if problem:
        tally.errors += 1
        if len(tally.error_samples) < 10:
            tally.error_samples.append(problem)
    return replies



async def _user(url: str, script: list[str], deadline: float, tally: Tally, session: aiohttp.ClientSession) -> None:
    reflect_at = script.index(SEARCH[0]) - 1
    while time.monotonic() < deadline:
        sender = f"{SENDER_PREFIX}{uuid.uuid4().hex[:16]}"
        reached_reflection = reached_results = False
        for n, text in enumerate(script):
            replies = await _turn(session, url, sender, text, tally)
            if n == reflect_at:
                reached_reflection = any("not a therapist" in str(r.get("text", "")) for r in replies)
            if text == SEARCH[-1]:
                reached_results = any(
                    isinstance(r.get("custom"), dict) and r["custom"].get("type") == "therapist_cards" for r in replies
                )
        tally.conversations += 1
        tally.flow_failures += not (reached_reflection and reached_results)


async def drive(url: str, clients: int, seconds: float) -> tuple[Tally, float]:
    """Run `clients` virtual users until `seconds` have passed (each finishes its conversation)."""
    tally = Tally()
    script = conversation_script()
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=clients + 5)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        warm = Tally()
        await _user(url, script, time.monotonic(), warm, session)  # one conversation, not counted
        start = time.perf_counter()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_user(url, script, deadline, tally, session) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return tally, elapsed


class MemorySampler:
    """Samples the resident memory of the started processes every two seconds; keeps the peak."""

    def __init__(self, services: list[stack.Service]) -> None:
        """Watch these services' processes."""
        self.services = [s for s in services if s.process is not None]
        self.peak: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for service in self.services:
                assert service.process is not None
                value = rss_mb(service.process.pid)
                self.peak[service.name] = max(self.peak.get(service.name, 0.0), round(value, 0))
            self._stop.wait(2.0)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def stored_user_messages(tracker_store_url: str) -> dict[str, int]:
    """User messages stored per load-test sender in the tracker store."""
    import sqlalchemy as sa

    engine = sa.create_engine(tracker_store_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT sender_id, count(*) FROM events WHERE type_name = 'user' AND sender_id LIKE :prefix "
                    "GROUP BY sender_id"
                ),
                {"prefix": f"{SENDER_PREFIX}%"},
            ).all()
    finally:
        engine.dispose()
    return {str(sender): int(count) for sender, count in rows}


def summarise(tally: Tally, elapsed: float, stored: dict[str, int], memory: dict[str, float]) -> dict[str, Any]:
    """The figures of one run."""
    lost = sum(max(0, count - stored.get(sender, 0)) for sender, count in tally.sent.items())
    return {
        "messages": len(tally.latencies_ms),
        "conversations": tally.conversations,
        "seconds": round(elapsed, 1),
        "p50_ms": round(percentile(tally.latencies_ms, 50), 1),
        "p95_ms": round(percentile(tally.latencies_ms, 95), 1),
        "p99_ms": round(percentile(tally.latencies_ms, 99), 1),
        "messages_per_s": round(len(tally.latencies_ms) / elapsed, 1),
        "errors": tally.errors,
        "error_samples": tally.error_samples,
        "flow_failures": tally.flow_failures,
        "lost_messages": lost,
        "peak_rss_mb": memory,
    }


def _environment(work: Path, name: str, extra: dict[str, str]) -> Settings:
    """Point the settings at this run's own ports, folder and stores."""
    for key in ("LOCK_STORE_URL", "RABBITMQ_URL", "RABBITMQ_QUEUE", "TRACKER_STORE_URL", "DATABASE_URL"):
        os.environ.pop(key, None)
    os.environ.pop("REVIEW_DATABASE_URL", None)
    var_dir = work / f"var-{name}"
    os.environ.update(
        {
            "RASA_PORT": str(_free_port()),
            "ACTION_PORT": str(_free_port()),
            "REVIEW_PORT": str(_free_port()),
            "BOT_VAR_DIR": str(var_dir),
            "EVENT_BROKER_DB": str(var_dir / "events.db"),
            "RASA_API_TOKEN": "bench",
            # Scripted users send far faster than people; the limiter still runs on every message.
            "RATE_LIMIT_BURST": "1000000",
            **extra,
        }
    )
    get_settings.cache_clear()
    return build_settings()


def measure_single(work: Path, clients: int, seconds: float) -> dict[str, Any]:
    """The single-process default under the load."""
    settings = _environment(work, "single", {})
    print("Single process: starting...", flush=True)
    with (work / "single.log").open("wb") as log, stack.running(
        settings, with_web=False, with_review=True, log=log
    ) as started:
        print(f"Single process: {clients} users for {seconds:.0f} s...", flush=True)
        with MemorySampler(started) as sampler:
            tally, elapsed = asyncio.run(drive(settings.rasa_url, clients, seconds))
    return summarise(tally, elapsed, stored_user_messages(settings.tracker_store_url), sampler.peak)


def measure_scaled(work: Path, clients: int, seconds: float) -> dict[str, Any]:
    """The scale-out topology under the same load."""
    suffix = uuid.uuid4().hex[:8]
    queue = f"bench_load_{suffix}"
    names = [f"bench_load_{kind}_{suffix}" for kind in ("tracker", "directory", "review")]
    with scale.temporary_postgres_databases(PG_ADMIN_URL, names) as (tracker_url, directory_url, review_url):
        settings = _environment(
            work,
            "scale",
            {
                "LOCK_STORE_URL": REDIS_URL,
                "RABBITMQ_URL": AMQP_URL,
                "RABBITMQ_QUEUE": queue,
                "TRACKER_STORE_URL": tracker_url,
                "DATABASE_URL": directory_url,
                "REVIEW_DATABASE_URL": review_url,
            },
        )
        topology = scale.topology_from_env()
        topology = scale.Topology.local(
            tuple(_free_port() for _ in topology.rasa_ports), tuple(_free_port() for _ in topology.action_ports)
        )
        try:
            print("Scale-out: starting...", flush=True)
            with (work / "scale.log").open("wb") as log, scale.running(
                settings, topology, with_web=False, with_review=True, log=log
            ) as started:
                print(f"Scale-out: {clients} users for {seconds:.0f} s...", flush=True)
                with MemorySampler(started) as sampler:
                    tally, elapsed = asyncio.run(drive(settings.rasa_url, clients, seconds))
            stored = stored_user_messages(settings.tracker_store_url)
        finally:
            scale.delete_rabbitmq_queue(AMQP_URL, queue)
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            client.flushdb()
    result = summarise(tally, elapsed, stored, sampler.peak)
    result["topology"] = {"rasa_processes": len(topology.rasa), "action_processes": len(topology.actions)}
    return result


def print_table(results: dict[str, Any]) -> None:
    """Print the results as a Markdown table (single process, scale-out, ratio)."""
    single, scaled = results["single"], results["scale_out"]

    def row(label: str, key: str, ratio: bool = True) -> str:
        a, b = single[key], scaled[key]
        r = f"{b / a:.2f}" if ratio and a else ""
        return f"| {label} | {a} | {b} | {r} |"

    lines = [
        "| measure | single process | scale-out | scale-out / single |",
        "|---|---|---|---|",
        row("messages", "messages"),
        row("conversations", "conversations"),
        row("p50 latency (ms)", "p50_ms"),
        row("p95 latency (ms)", "p95_ms"),
        row("p99 latency (ms)", "p99_ms"),
        row("messages/s", "messages_per_s"),
        row("errors", "errors", ratio=False),
        row("conversations off the expected path", "flow_failures", ratio=False),
        row("lost messages", "lost_messages", ratio=False),
    ]
    for name in sorted(set(single["peak_rss_mb"]) | set(scaled["peak_rss_mb"])):
        a, b = single["peak_rss_mb"].get(name, ""), scaled["peak_rss_mb"].get(name, "")
        lines.append(f"| peak RSS, {name} (MB) | {a} | {b} | |")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Run both configurations under the same load and write the figures to bench/results.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        results: dict[str, Any] = {
            "clients": args.clients,
            "seconds": args.seconds,
            "turns_per_conversation": len(conversation_script()),
            "machine_cores": os.cpu_count(),
            "single": measure_single(work, args.clients, args.seconds),
            "scale_out": measure_scaled(work, args.clients, args.seconds),
        }
        results["ratios"] = {
            "messages_per_s": round(
                results["scale_out"]["messages_per_s"] / max(results["single"]["messages_per_s"], 1e-9), 2
            ),
            "p95_ms": round(results["scale_out"]["p95_ms"] / max(results["single"]["p95_ms"], 1e-9), 2),
        }
        write_results(results, key="load")
        print_table(results)
        failed = [
            name
            for name in ("single", "scale_out")
            if results[name]["errors"] or results[name]["lost_messages"] or results[name]["flow_failures"]
        ]
        if failed:
            print(f"Errors, lost messages or broken conversations in: {', '.join(failed)}", file=sys.stderr)
            return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
