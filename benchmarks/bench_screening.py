"""Median and p99 time to screen one party against a list of at least 10,000 names.

    python benchmarks/bench_screening.py [--size 10000] [--queries 3000]

The real Entity List entries of the bundled ruleset are padded with generated
company names for the benchmark only (they never reach a ruleset). Target from the
screening issue: <= 200 µs median.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from common import percentile

import exportrules
from exportrules.screening import NameIndex

SYLLABLES = ["hua", "xin", "tai", "long", "feng", "ming", "zhong", "guo", "tian", "rui", "kang", "sheng", "bao",
             "jin", "yuan", "hong", "da", "li", "wei", "an", "chen", "hai", "yu", "xing", "fu", "dong", "nan"]
WORDS = ["Electronics", "Trading", "Semiconductor", "Logistics", "Precision", "Optical", "Software", "Materials",
         "Energy", "Pharmaceutical", "Machinery", "Textiles", "Data", "Cloud", "Robotics", "Instruments"]
PLACES = ["Shenzhen", "Shanghai", "Beijing", "Suzhou", "Wuhan", "Xiamen", "Chengdu", "Dongguan", "Ningbo"]
SUFFIXES = ["Co., Ltd.", "Limited", "Technology Co., Ltd.", "Group", "Inc.", "Corporation"]


def company(rnd: random.Random) -> str:
    core = "".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(2, 3))).capitalize()
    return f"{rnd.choice(PLACES)} {core} {rnd.choice(WORDS)} {rnd.choice(SUFFIXES)}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=3000)
    args = ap.parse_args()
    rnd = random.Random(11)
    engine = exportrules.load()
    snap = engine.snapshot("2026-01-01")
    real = [(p.meta.id, (*p.names, *p.aliases), p.country) for rs in snap.rulesets for p in rs.parties]
    padding = [(f"pad-{i}", (company(rnd),), "CN") for i in range(max(0, args.size - len(real)))]
    t0 = time.perf_counter()
    index = NameIndex.build(real + padding)
    build = time.perf_counter() - t0
    listed = [names[0] for _, names, _ in real + padding]
    queries = []
    for _ in range(args.queries):
        kind = rnd.random()
        if kind < 0.4:
            queries.append(company(rnd))  # unlisted, similar shape
        elif kind < 0.7:
            n = rnd.choice(listed)
            i = rnd.randrange(1, max(2, len(n) - 1))
            queries.append(n[:i] + n[i + 1 :])  # one-letter typo of a listed name
        else:
            queries.append(rnd.choice(listed).upper())  # exact after normalisation
    times = []
    for q in queries:
        t = time.perf_counter_ns()
        index.search(q, country="CN")
        times.append((time.perf_counter_ns() - t) / 1000)
    print(f"list size: {len(index)} names ({len(real)} real entries, {len(padding)} generated)")
    print(f"index build: {build * 1000:.0f} ms")
    print(f"screen one name: median {statistics.median(times):.1f} µs, p99 {percentile(times, 0.99):.1f} µs "
          f"(target <= 200 µs median) over {len(queries)} queries")


if __name__ == "__main__":
    main()
