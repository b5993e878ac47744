"""Therapist search latency over 1,000 random filter combinations.

Builds the 2,000-therapist sample and a generated 100,000-therapist directory (SQLite, in a
temporary folder), and times `bot.directory.search.search` (ranked first page, total count and the
three profiles) for the same 1,000 random searches on each. Baseline in the same run: the
100,000-therapist directory without the secondary indexes (only primary keys), on the first
BASELINE_QUERIES of the same searches (each takes seconds there), compared with ours on those
same searches. Target: p95 under 20 ms at 100,000. Writes bench/directory_results.json and prints
a table.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bot.directory import db
from bot.directory.models import Base
from bot.directory.search import ANY_METHOD, ATTACHMENT, Criteria, search
from bot.directory.seed import seed
from bot.directory.vocab import get_vocab

RESULTS = Path(__file__).with_name("directory_results.json")
QUERIES = 1000
BASELINE_QUERIES = 30
TARGET_P95_MS = 20.0


def random_criteria(rng: random.Random, count: int) -> list[Criteria]:
    """`count` random searches over every filter, the way people combine them."""
    vocab = get_vocab()
    states = vocab.state_codes
    specialties = list(vocab.terms("specialties"))
    insurances = [*vocab.terms("insurances"), None, None]
    populations = [None, "individuals", "individuals", "couples", "families", "children"]
    result = []
    for _ in range(count):
        result.append(
            Criteria(
                state=rng.choice(states),
                format=rng.choice(["telehealth", "in_person", "either", "either"]),
                population=rng.choice(populations),
                needs=tuple(rng.sample(specialties, k=rng.randint(0, 3))),
                insurance=rng.choice(insurances),
                budget=rng.choice([None, None, None, 60, 100, 150]),
                method=ATTACHMENT if rng.random() < 0.85 else ANY_METHOD,
                language=rng.choice([None] * 8 + ["es", "zh"]),
                gender=rng.choice([None] * 6 + ["woman", "man"]),
                license_type=rng.choice([None] * 8 + ["psychologist", "lcsw"]),
            )
        )
    return result


def build(url: str, total: int) -> float:
    """Migrate and seed a directory; returns the seconds it took."""
    started = time.perf_counter()
    db.migrate(url)
    with db.session_scope(url) as session:
        seed(session, total, seed_value=11)
    with db.get_engine(url).begin() as connection:
        connection.execute(text("ANALYZE"))
    return time.perf_counter() - started


def drop_secondary_indexes(url: str) -> None:
    """Remove every index the migrations added beyond primary keys (the baseline)."""
    with db.get_engine(url).begin() as connection:
        for table in Base.metadata.sorted_tables:
            for index in table.indexes:
                connection.execute(text(f'DROP INDEX IF EXISTS "{index.name}"'))
        connection.execute(text("ANALYZE"))


def measure(url: str, queries: list[Criteria]) -> dict[str, Any]:
    """Latency of each search, in ms, after a short warm-up."""
    timings = []
    empty = 0
    with db.session_scope(url) as session:
        for criteria in queries[: min(20, len(queries) // 3)]:
            search(session, criteria=criteria)
        for criteria in queries:
            started = time.perf_counter()
            page = search(session, criteria=criteria)
            timings.append((time.perf_counter() - started) * 1000)
            empty += not page.matches
            session.expunge_all()
    timings.sort()
    return {
        "queries": len(timings),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(0.95 * len(timings)) - 1], 2),
        "p99_ms": round(timings[int(0.99 * len(timings)) - 1], 2),
        "max_ms": round(timings[-1], 2),
        "no_match_share": round(empty / len(timings), 3),
    }


def main() -> int:
    """Build both directories, time the searches, write JSON and print a table."""
    queries = random_criteria(random.Random(5), QUERIES)
    results: dict[str, Any] = {"target_p95_ms_at_100k": TARGET_P95_MS, "sets": {}}
    with tempfile.TemporaryDirectory() as folder:
        for name, total in (("2,000 (sample)", 2000), ("100,000", 100_000)):
            url = f"sqlite:///{Path(folder) / f'dir{total}.db'}"
            build_s = build(url, total)
            results["sets"][name] = {"therapists": total, "build_s": round(build_s, 1), **measure(url, queries)}
            if total == 100_000:
                paired = measure(url, queries[:BASELINE_QUERIES])
                drop_secondary_indexes(url)
                base = measure(url, queries[:BASELINE_QUERIES])
                results["sets"][f"100,000, first {BASELINE_QUERIES} searches"] = {
                    "therapists": total,
                    "build_s": None,
                    **paired,
                }
                results["sets"][f"100,000 without indexes, first {BASELINE_QUERIES} (baseline)"] = {
                    "therapists": total,
                    "build_s": None,
                    **base,
                }
                results["p50_speedup_over_baseline"] = round(base["p50_ms"] / paired["p50_ms"], 1)
            db.get_engine(url).dispose()
    ours = results["sets"]["100,000"]["p95_ms"]
    results["target_met"] = ours < TARGET_P95_MS
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nTherapist search, {QUERIES} random filter combinations (SQLite)")
    print(f"{'directory':<48} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'no match':>9}")
    for name, row in results["sets"].items():
        print(f"{name:<48} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['p99_ms']:>8} {row['no_match_share']:>9.1%}")
    verdict = "met" if results["target_met"] else "NOT met"
    speedup = results["p50_speedup_over_baseline"]
    print(
        f"p95 at 100,000: {ours} ms (target < {TARGET_P95_MS} ms: {verdict}); "
        f"p50 {speedup}x faster than without indexes"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
