"""Print latency and throughput figures for the native engine on the bundled rulesets.

    python benchmarks/bench_judge.py [--n 20000]

Targets (from the core issue): judge() on validated transactions <= 10 µs median
with reasons; end-to-end from a dict <= 25 µs; judge_many >= 100,000 per second on
one core; cold start of exportrules.load() <= 300 ms. These are targets to watch,
not assertions: no test depends on wall-clock time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from typing import Any

from common import percentile

import exportrules

CHIPS = ["nvidia-h100-sxm", "nvidia-h200", "nvidia-h20", "nvidia-rtx-4090", "nvidia-l40", "amd-mi325x",
         "nvidia-a800", "intel-gaudi3", "nvidia-b200", "nvidia-rtx-4090d"]
DESTINATIONS = ["CN", "DE", "MY", "AE", "VN", "SG", "IN", "HK", "MO", "US", "SA", "KH", "JP", "BR"]


def transactions(n: int, seed: int = 7, buyers: int = 0) -> list[dict[str, Any]]:
    """*n* orders; with *buyers*, drawn from a pool of that many customers (0: a new buyer every order)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        dest = rnd.choice(DESTINATIONS)
        who = rnd.randrange(buyers) if buyers else i
        out.append({
            "id": f"po-{i}",
            "date": f"{rnd.randint(2023, 2026)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
            "item": rnd.choice(CHIPS),
            "quantity": rnd.randint(1, 5000),
            "destination": dest,
            "buyer": {"name": f"Buyer {who}", "country": dest, "headquarters": rnd.choice([dest, dest, "CN", "US"])},
            "evidence": rnd.choice([[], ["nac_notification"]]),
        })
    return out


def measure(label: str, raw: list[dict[str, Any]]) -> None:
    """Judge *raw* once to compile and warm, then time it again per call and in bulk."""
    engine = exportrules.load()
    parsed = [exportrules.parse_transaction(t) for t in raw]
    t0 = time.perf_counter()
    for t in parsed:  # first sight: compiles snapshots and fills the memos
        engine.judge(t)
    first = (time.perf_counter() - t0) / len(parsed) * 1e6
    per_validated = []
    for t in parsed:
        t0 = time.perf_counter_ns()
        engine.judge(t)
        per_validated.append((time.perf_counter_ns() - t0) / 1000)
    per_dict = []
    for t in raw:
        t0 = time.perf_counter_ns()
        engine.judge(t)
        per_dict.append((time.perf_counter_ns() - t0) / 1000)
    t0 = time.perf_counter()
    count = sum(1 for _ in engine.judge_many(parsed))
    rate = count / (time.perf_counter() - t0)
    print(f"-- {label}")
    print(f"judge(), first sight:   mean   {first:8.1f} µs   (includes compiling {engine.compiler.compiled} snapshots)")
    print(f"judge(), validated tx:  median {statistics.median(per_validated):8.1f} µs   "
          f"p99 {percentile(per_validated, 0.99):8.1f} µs   (target <= 10 µs)")
    print(f"judge(), from dict:     median {statistics.median(per_dict):8.1f} µs   "
          f"p99 {percentile(per_dict, 0.99):8.1f} µs   (target <= 25 µs)")
    print(f"judge_many throughput:  {rate:10,.0f} per second (target >= 100,000)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    args = ap.parse_args()

    code = "import time; t=time.perf_counter(); import exportrules; e=exportrules.load(); print(time.perf_counter()-t)"
    colds = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
             for _ in range(5)]
    print(f"transactions: {args.n} (dates 2023-2026, {len(CHIPS)} chips, {len(DESTINATIONS)} destinations)")
    measure("a new buyer on every order (no repeats to memoise)", transactions(args.n))
    measure("an order book of 500 customers", transactions(args.n, buyers=500))
    print(f"cold start (import + load): median {statistics.median(colds) * 1000:6.0f} ms (target <= 300 ms)")


if __name__ == "__main__":
    main()
