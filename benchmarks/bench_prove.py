"""Verification speed: `exportrules prove` and `exportrules test` on the bundled rulesets.

    python benchmarks/bench_prove.py            # both, once each, in this process
    python benchmarks/bench_prove.py --examples 300

Prints the wall time of deciding every bundled property with z3 (and how many were proved, refuted or
sampled), and of sampling them with Hypothesis at the given budget.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

import exportrules
from exportrules.prove import prove_properties
from exportrules.testing import check_properties


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    engine = exportrules.load()
    t = time.perf_counter()
    proofs = prove_properties(engine, jobs=args.jobs)
    took = time.perf_counter() - t
    counts = Counter(r.status for r in proofs)
    print(f"prove ({args.jobs} processes): {len(proofs)} properties in {took:.1f} s ({dict(counts)}); slowest: "
          + ", ".join(f"{r.property} {r.seconds:.1f} s" for r in sorted(proofs, key=lambda r: -r.seconds)[:3]))
    t = time.perf_counter()
    sampled = check_properties(engine, max_examples=args.examples)
    print(f"test:  {len(sampled)} properties, {args.examples} examples each, in {time.perf_counter() - t:.1f} s "
          f"({sum(r.passed for r in sampled)} passed)")


if __name__ == "__main__":
    main()
