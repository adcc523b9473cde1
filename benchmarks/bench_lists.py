"""A restricted-party list at scale: 100,000 parties listed on 10,000 dates, as a JSON Lines list file.

    python benchmarks/bench_lists.py [--parties 100000] [--dates 10000] [--n 5000]

Prints the time to load the rulesets, to build the dated name index (on the first
judgment), how many date-states were compiled, and the median time of ``judge()`` on
first-seen buyers against this list and against the bundled rulesets' own list, as a
ratio. The list is generated into a temporary directory; nothing is kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path

import exportrules

HEADER = ("ruleset: big/list\njurisdiction: US\nversion: 2000-01-01\neffective: 2000-01-01\n"
          "citation: generated for the benchmark\nparties_from: [parties.jsonl]\n")


def make(root: Path, parties: int, dates: int) -> Path:
    folder = root / "big" / "list"
    folder.mkdir(parents=True)
    start = dt.date(2000, 1, 1)
    with (folder / "parties.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(parties):
            fh.write(json.dumps({"id": f"p{i}", "names": [f"Listed Party {i} Holdings"], "country": "CN",
                                 "listed": (start + dt.timedelta(days=i % dates)).isoformat(),
                                 "effect": "licence", "citation": "generated"}) + "\n")
    (folder / "2000-01-01.yaml").write_text(HEADER, encoding="utf-8")
    return root


def judge_times(engine: exportrules.Engine, n: int, tag: str) -> float:
    times = []
    for i in range(n):
        tx = {"id": f"{tag}{i}", "date": "2024-06-01", "item": "nvidia-h20", "destination": "DE",
              "buyer": {"name": f"Customer {tag} {i} Trading", "country": "DE"}}
        t0 = time.perf_counter_ns()
        engine.judge(tx)
        times.append((time.perf_counter_ns() - t0) / 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parties", type=int, default=100_000)
    ap.add_argument("--dates", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=5000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make(Path(tmp), args.parties, args.dates)
        t0 = time.perf_counter()
        big = exportrules.load(root)
        loaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        big.judge({"date": "2024-06-01", "item": "nvidia-h20", "destination": "DE", "buyer": {"name": "warm"}})
        indexed = time.perf_counter() - t0
        big_median = judge_times(big, args.n, "b")
    small = exportrules.load()
    small.judge({"date": "2024-06-01", "item": "nvidia-h20", "destination": "DE", "buyer": {"name": "warm"}})
    small_median = judge_times(small, args.n, "s")
    print(f"{args.parties:,} parties listed on {args.dates:,} dates: load {loaded:.2f} s (target < 2 s), "
          f"name index built on first use in {indexed:.2f} s, {big.compiler.compiled} date-state(s) compiled")
    print(f"judge() on first-seen buyers: {big_median:.1f} µs against it, {small_median:.1f} µs on the bundled "
          f"rulesets: {big_median / small_median:.2f}× (target <= 2×)")


if __name__ == "__main__":
    main()
