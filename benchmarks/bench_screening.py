"""Median and p99 time to screen one party against a list of at least 10,000 names.

    python benchmarks/bench_screening.py [--size 10000] [--queries 3000]
    python benchmarks/bench_screening.py --against ../old-checkout   # side by side, one process

The real Entity List entries of the bundled ruleset are padded with generated
company names for the benchmark only (they never reach a ruleset). Target from the
screening issue: <= 200 µs median.

``--against DIR`` loads ``DIR/exportrules/screening.py`` (another checkout, say a
``git worktree`` of an earlier commit) beside this one and screens the same never-seen
names with both, round after round in alternating order, on the bundled lists alone and
on the largest of them padded with generated names, with names shaped as the other benchmarks make them. On a
shared machine whose speed drifts by half within an hour, only figures taken side by
side like this say whether a change made screening faster. Each figure is the best
round; every name is new to both (the caches are emptied between rounds).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

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
    ap.add_argument("--against", type=Path, default=None,
                    help="another checkout: compare its screening with this one's, side by side")
    args = ap.parse_args()
    if args.against is not None:
        compare(args.against, args.size)
        return
    rnd = random.Random(11)
    engine = exportrules.load()
    snap = engine.snapshot("2026-01-01")
    real = [(p.meta.id, (*p.names, *p.aliases), p.country) for rs in snap.rulesets for p in rs.parties]
    padding: list[tuple[str, tuple[str, ...], str | None]] = [(f"pad-{i}", (company(rnd),), "CN")
                                                             for i in range(max(0, args.size - len(real)))]
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


def _module(checkout: Path) -> ModuleType:
    """*checkout*'s screening module, loaded under a name of its own (it imports nothing of the package)."""
    path = checkout / "exportrules" / "screening.py"
    spec = importlib.util.spec_from_file_location("screening_against", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"no screening module at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ROUNDS = 6


def compare(checkout: Path, size: int) -> None:
    import exportrules.screening as this

    other = _module(checkout)
    engine = exportrules.load()
    snap = engine.snapshot("2026-03-01")
    lists = [([(p.meta.id, (*p.names, *p.aliases), p.country) for p in rs.parties], rs.screening)
             for rs in snap.rulesets if rs.parties]
    rnd = random.Random(5)
    generated: list[tuple[str, tuple[str, ...], str | None]] = [(f"pad-{i}", (company(rnd),), "CN")
                                                                for i in range(size)]
    largest = max(lists, key=lambda x: len(x[0]), default=([], this.ScreeningThresholds()))
    padded = (largest[0] + generated, largest[1])
    shapes: dict[str, Callable[[int], list[tuple[str, str | None]]]] = {
        "'Buyer s-k Trading' (bench_judge)": lambda r: [(f"Buyer {r}-{k} Trading", "CN") for k in range(3000)],
        "'Neue Kunde s-k GmbH' (bench_batch)": lambda r: [(f"Neue Kunde {r}-{k} GmbH", ("FR", "CN", "AE")[k % 3])
                                                          for k in range(3000)],
        "company names (this benchmark)": lambda r: [(company(random.Random(r * 100_003 + k)), "CN")
                                                     for k in range(3000)],
    }
    print(f"µs per never-seen name, best of {ROUNDS} rounds; `this` = {Path(this.__file__).parent.parent}, "
          f"`other` = {checkout}")
    for where, indexed in (("bundled lists", lists), (f"largest + {size:,} generated", [padded])):
        built = {m: [(m.NameIndex.build(entries), m.ScreeningThresholds(**_fields(th))) for entries, th in indexed]
                 for m in (this, other)}
        for label, names in shapes.items():
            best: dict[ModuleType, float] = {}
            for r in range(ROUNDS):
                for m in ((this, other) if r % 2 else (other, this)):
                    m.clear_caches()
                    batch = names(r * 2 + (m is this))
                    t = time.perf_counter()
                    for name, country in batch:
                        for index, th in built[m]:
                            m.search_undated(index, name, country, th)
                    best[m] = min(best.get(m, float("inf")), (time.perf_counter() - t) / len(batch) * 1e6)
            print(f"  {where:28s} {label:38s} this {best[this]:7.1f}  other {best[other]:7.1f}  "
                  f"({best[other] / best[this]:.2f}x)")


def _fields(th: Any) -> dict[str, float]:
    return {"review_score": th.review_score, "country_boost": th.country_boost,
            "country_penalty": th.country_penalty}


if __name__ == "__main__":
    main()
