"""Batch throughput: rows per second through `exportrules batch` (in process), and peak memory.

    python benchmarks/bench_batch.py                 # 1M rows, Parquet and CSV, 0% and 20% new names
    python benchmarks/bench_batch.py --rows 200000   # quicker
    python benchmarks/bench_batch.py --memory 10000000   # peak RSS of a 10M-row Parquet batch (subprocess)
    python benchmarks/bench_batch.py --ray 2 --rows 1000000   # the same batch with Ray Data, 2 local workers

Orders come from `exportrules.testing.orders.order_rows(profile="procurement")`: 200 recurring buyers,
each with its own country, headquarters, end use and three items, dates over 2026 and any quantity; a
share of rows get a buyer name never seen before (each must be screened). Each figure is the best of
--rounds runs on a fresh engine (so no verdict is cached from a previous round); one core.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

import exportrules
from exportrules.batch import run_batch
from exportrules.screening import clear_caches
from exportrules.testing.orders import order_rows


def make(engine: exportrules.Engine, rows: int, fresh: float, seed: int) -> pl.DataFrame:
    data = list(order_rows(engine, rows, seed=seed, fresh_names=fresh, profile="procurement"))
    cols = sorted({k for r in data for k in r})
    return pl.DataFrame({c: [r.get(c) for r in data] for c in cols}, schema=dict.fromkeys(cols, pl.String))


def timed(src: Path, out: Path) -> tuple[float, int]:
    clear_caches()
    engine = exportrules.load()
    engine.judge({"date": "2026-03-01", "item": "nvidia-h100-sxm", "destination": "DE"})  # load, not judge
    t = time.perf_counter()
    summary = run_batch(engine, src, out)
    return time.perf_counter() - t, summary.judged + summary.rejected


def memory(rows: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = exportrules.load()
        base = make(engine, 1_000_000, 0.2, 11)
        src = Path(tmp) / "orders.parquet"
        reps = max(1, rows // base.height)
        import pyarrow.parquet as pq

        writer = None
        for k in range(reps):
            part = base.with_columns((pl.col("id") + f"-{k}").alias("id")).to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(src, part.schema)
            writer.write_table(part)
        assert writer is not None
        writer.close()
        # VmHWM, not ru_maxrss: ru_maxrss counts the pages a child shares with this (large) parent before exec
        code = ("import sys,exportrules;from pathlib import Path;from exportrules.batch import run_batch;"
                "s=run_batch(exportrules.load(),Path(sys.argv[1]),Path(sys.argv[2]));"
                "hwm=[l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1];"
                "print(s.judged+s.rejected, int(hwm)//1024)")
        t = time.perf_counter()
        res = subprocess.run([sys.executable, "-c", code, str(src), str(Path(tmp) / "out.parquet")],
                             capture_output=True, text=True, check=True)
        n, peak = res.stdout.split()
        took = time.perf_counter() - t
        print(f"{int(n):,} rows (Parquet, 20% new names): {took:.1f} s, {int(n) / took:,.0f} rows/s, "
              f"peak RSS {int(peak):,} MB")


def ray_run(rows: int, workers: int) -> None:
    import ray

    from exportrules.ray import run_ray_batch

    engine = exportrules.load()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "orders.parquet"
        make(engine, rows, 0.2, 3).write_parquet(src, row_group_size=100_000)
        ray.init(num_cpus=workers + 1, include_dashboard=False, log_to_driver=False)
        t = time.perf_counter()
        summary = run_ray_batch(src, Path(tmp) / "out", workers=workers)
        took = time.perf_counter() - t
        ray.shutdown()
    print(f"{rows:,} rows, Ray Data with {workers} workers (20% new names): {rows / took:,.0f} rows/s "
          f"({took:.1f} s, Ray start-up not counted; {summary.judged:,} judged)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--memory", type=int, default=0, help="measure peak RSS of a batch of this many rows")
    ap.add_argument("--ray", type=int, default=0, help="run with Ray Data on this many local workers")
    args = ap.parse_args()
    if args.memory:
        memory(args.memory)
        return
    if args.ray:
        ray_run(args.rows, args.ray)
        return
    engine = exportrules.load()
    with tempfile.TemporaryDirectory() as tmp:
        for fresh in (0.0, 0.2):
            frame = make(engine, args.rows, fresh, 3)
            for fmt in ("parquet", "csv"):
                src = Path(tmp) / f"orders.{fmt}"
                frame.write_parquet(src) if fmt == "parquet" else frame.write_csv(src)
                best = min(timed(src, Path(tmp) / "out.parquet")[0] for _ in range(args.rounds))
                print(f"{args.rows:,} rows {fmt:<7} new names {fresh:>4.0%}: {args.rows / best:>12,.0f} rows/s "
                      f"({best:.2f} s)")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024:,} MB")


if __name__ == "__main__":
    main()
