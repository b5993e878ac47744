"""Benchmark the assistant against Rasa's default configuration, in one run.

Both are trained on the same domain and data. Ours runs with its SQL tracker store and the
action server; the baseline is what `rasa init` generates: its config.yml (which leaves the
pipeline and policies to Rasa's defaults) and an in-memory tracker store. Both are measured
with the same scripted 12-turn conversation over the REST channel:

- reply latency p50/p95 with 1 client and with 20 concurrent clients, messages/s, errors;
- latency at turn 5 and at turn 100 of one long conversation;
- resident memory of the Rasa server and the action server;
- cold training time (empty cache) and cached training time (unchanged data).

Figures go to bench/results.json and a table is printed. Run with `make bench`.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot import stack
from bot.settings import PROJECT_ROOT, build_settings

SCRIPT = [
    "hello",
    "yes",
    "what can you do",
    "what is anxious attachment",
    "what is avoidant attachment",
    "are you a bot",
    "what is the strange situation",
    "who provides attachment based therapy",
    "i need help now",
    "thanks",
    "what are the attachment styles",
    "bye",
]
LONG_TURNS = 105
RESULTS = PROJECT_ROOT / "bench" / "results.json"
# Keys other benchmarks keep in the same file (bench/load.py writes "load").
OTHER_BENCHMARKS = ("load",)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


@dataclass
class Target:
    """A running Rasa server to measure."""

    name: str
    url: str


async def _send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> tuple[float, bool]:
    start = time.perf_counter()
    try:
        async with session.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}) as response:
            body = await response.json()
            ok = response.status == 200 and isinstance(body, list) and len(body) > 0
    except (aiohttp.ClientError, asyncio.TimeoutError, json.JSONDecodeError):
        ok = False
    return (time.perf_counter() - start) * 1000, ok


async def _client(session: aiohttp.ClientSession, url: str, rounds: int, out: list[tuple[float, bool]]) -> None:
    for _ in range(rounds):
        sender = f"bench-{uuid.uuid4().hex[:12]}"
        for text in SCRIPT:
            out.append(await _send(session, url, sender, text))


async def measure_load(url: str, clients: int, rounds: int) -> dict[str, float]:
    """Run `clients` concurrent scripted conversations, `rounds` each."""
    results: list[tuple[float, bool]] = []
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await _client(session, url, 1, [])  # warm-up, not counted
        start = time.perf_counter()
        await asyncio.gather(*(_client(session, url, rounds, results) for _ in range(clients)))
        elapsed = time.perf_counter() - start
    latencies = [ms for ms, _ in results]
    return {
        "clients": clients,
        "messages": len(results),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "messages_per_s": round(len(results) / elapsed, 1),
        "errors": sum(1 for _, ok in results if not ok),
    }


async def measure_long_conversation(url: str, conversations: int = 3) -> dict[str, float]:
    """Latency by turn over long conversations: median of turns 3-7 vs turns 98-102."""
    by_turn: dict[int, list[float]] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for _ in range(conversations):
            sender = f"bench-long-{uuid.uuid4().hex[:10]}"
            for turn in range(1, LONG_TURNS + 1):
                ms, _ = await _send(session, url, sender, SCRIPT[2 + turn % 9])
                by_turn.setdefault(turn, []).append(ms)
    early = [ms for turn in range(3, 8) for ms in by_turn[turn]]
    late = [ms for turn in range(98, 103) for ms in by_turn[turn]]
    turn5, turn100 = statistics.median(early), statistics.median(late)
    return {"turn5_ms": round(turn5, 1), "turn100_ms": round(turn100, 1), "ratio": round(turn100 / turn5, 2)}


def train_timed(config: Path, out_dir: Path, cache_dir: Path) -> float:
    """Train into out_dir with the given cache directory; return the wall time in seconds."""
    env = {**stack.child_environment(build_settings()), "RASA_CACHE_DIRECTORY": str(cache_dir)}
    start = time.perf_counter()
    subprocess.run(
        [
            str(Path(sys.executable).with_name("rasa")),
            "train",
            "--config",
            str(config),
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            str(out_dir),
            "--fixed-model-name",
            "model",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return round(time.perf_counter() - start, 1)


def baseline_config() -> Path:
    """The config.yml that `rasa init` writes (pipeline and policies left to Rasa's defaults)."""
    import rasa.cli

    return Path(rasa.cli.__file__).parent / "initial_project" / "config.yml"


def measure_stack(
    name: str, services: list[stack.Service], env: dict[str, str], log_path: Path, quick: bool
) -> dict[str, Any]:
    """Start one stack, measure it, stop it."""
    rasa_service = next(s for s in services if s.name == "Rasa server")
    url = rasa_service.health_url.rstrip("/")
    with log_path.open("wb") as log, stack.started_services(services, cwd=PROJECT_ROOT, env=env, log=log) as started:
        rounds = 2 if quick else 5
        one = asyncio.run(measure_load(url, 1, rounds * 2))
        many = asyncio.run(measure_load(url, 20, rounds))
        long = asyncio.run(measure_long_conversation(url, 1 if quick else 3))
        memory = {s.name: round(rss_mb(s.process.pid), 0) for s in started if s.process is not None}
    return {"name": name, "one_client": one, "twenty_clients": many, "long_conversation": long, "rss_mb": memory}


def main() -> int:
    """Run the benchmark and write bench/results.json."""
    quick = "--quick" in sys.argv
    work = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        timings: dict[str, dict[str, float]] = {}
        models: dict[str, Path] = {}
        for name, config in (("ours", PROJECT_ROOT / "config.yml"), ("baseline", baseline_config())):
            cache = work / f"cache-{name}"
            out = work / f"models-{name}"
            print(f"Training {name} (cold, then cached)...", flush=True)
            cold = train_timed(config, out, cache)
            cached = train_timed(config, out, cache)
            timings[name] = {"cold_s": cold, "cached_s": cached}
            models[name] = out / "model.tar.gz"

        results: dict[str, Any] = {"script_turns": len(SCRIPT), "machine_cores": os.cpu_count()}
        for name in ("ours", "baseline"):
            os.environ.update(
                {
                    "RASA_PORT": str(_free_port()),
                    "ACTION_PORT": str(_free_port()),
                    "BOT_VAR_DIR": str(work / f"var-{name}"),
                    "TRACKER_STORE_URL": f"sqlite:///{work / f'var-{name}' / 'tracker.db'}",
                    "RASA_MODEL": str(models[name]),
                    "RASA_API_TOKEN": "bench",
                    # Scripted clients send far faster than a person; the limiter still runs.
                    "RATE_LIMIT_BURST": "1000000",
                }
            )
            settings = build_settings()
            env = stack.child_environment(settings)
            services = stack.services(settings, with_web=False)
            if name == "baseline":
                endpoints = work / "baseline-endpoints.yml"
                endpoints.write_text(f"action_endpoint:\n  url: {settings.action_url}\n")
                rasa_service = next(s for s in services if s.name == "Rasa server")
                rasa_service.argv[rasa_service.argv.index("endpoints.yml")] = str(endpoints)
            else:
                settings.var_dir.mkdir(parents=True, exist_ok=True)
                stack.preflight(settings, env)
            print(f"Serving and measuring {name}...", flush=True)
            measured = measure_stack(name, services, env, work / f"{name}.log", quick)
            measured["training"] = timings[name]
            results[name] = measured

        ours, base = results["ours"], results["baseline"]
        results["ratios"] = {
            "p50_1_client": round(ours["one_client"]["p50_ms"] / base["one_client"]["p50_ms"], 2),
            "p95_1_client": round(ours["one_client"]["p95_ms"] / base["one_client"]["p95_ms"], 2),
            "p50_20_clients": round(ours["twenty_clients"]["p50_ms"] / base["twenty_clients"]["p50_ms"], 2),
            "p95_20_clients": round(ours["twenty_clients"]["p95_ms"] / base["twenty_clients"]["p95_ms"], 2),
            "messages_per_s_20_clients": round(
                ours["twenty_clients"]["messages_per_s"] / base["twenty_clients"]["messages_per_s"], 2
            ),
        }
        write_results(results)
        print_table(results)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def write_results(figures: dict[str, Any], key: str | None = None) -> None:
    """Write figures to bench/results.json, keeping the other benchmark's part of the file.

    Args:
        figures: The serving benchmark's figures (key None), or another benchmark's.
        key: Where another benchmark keeps its figures in the file (bench/load.py: "load").
    """
    previous: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    if key is None:
        merged = {**figures, **{k: v for k, v in previous.items() if k in OTHER_BENCHMARKS}}
    else:
        merged = {**previous, key: figures}
    RESULTS.write_text(json.dumps(merged, indent=2) + "\n", encoding="utf-8")


def print_table(results: dict[str, Any]) -> None:
    """Print the results as a Markdown table (ours, baseline, ratio)."""
    ours, base = results["ours"], results["baseline"]

    def row(label: str, a: float, b: float, ratio: bool = True) -> str:
        r = f"{a / b:.2f}" if ratio and b else ""
        return f"| {label} | {a} | {b} | {r} |"

    lines = [
        "| measure | ours | Rasa default | ours / default |",
        "|---|---|---|---|",
        row("p50 latency, 1 client (ms)", ours["one_client"]["p50_ms"], base["one_client"]["p50_ms"]),
        row("p95 latency, 1 client (ms)", ours["one_client"]["p95_ms"], base["one_client"]["p95_ms"]),
        row("p50 latency, 20 clients (ms)", ours["twenty_clients"]["p50_ms"], base["twenty_clients"]["p50_ms"]),
        row("p95 latency, 20 clients (ms)", ours["twenty_clients"]["p95_ms"], base["twenty_clients"]["p95_ms"]),
        row(
            "messages/s, 20 clients",
            ours["twenty_clients"]["messages_per_s"],
            base["twenty_clients"]["messages_per_s"],
        ),
        row(
            "errors",
            ours["one_client"]["errors"] + ours["twenty_clients"]["errors"],
            base["one_client"]["errors"] + base["twenty_clients"]["errors"],
            ratio=False,
        ),
        row("latency turn 5 (ms)", ours["long_conversation"]["turn5_ms"], base["long_conversation"]["turn5_ms"]),
        row("latency turn 100 (ms)", ours["long_conversation"]["turn100_ms"], base["long_conversation"]["turn100_ms"]),
        row("turn 100 / turn 5", ours["long_conversation"]["ratio"], base["long_conversation"]["ratio"], ratio=False),
        row("Rasa server RSS (MB)", ours["rss_mb"].get("Rasa server", 0), base["rss_mb"].get("Rasa server", 0)),
        row("action server RSS (MB)", ours["rss_mb"].get("action server", 0), base["rss_mb"].get("action server", 0)),
        row("training, cold (s)", ours["training"]["cold_s"], base["training"]["cold_s"]),
        row("training, cached (s)", ours["training"]["cached_s"], base["training"]["cached_s"]),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
