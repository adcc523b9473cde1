"""Batches beyond one machine, with Ray Data (the ``ray`` extra).

``run_ray_batch(source, out)`` reads a Parquet file or dataset directory (or CSV), judges it with
``map_batches`` — each worker loads the rulesets once, in its actor, and keeps its answers for the
groups it has seen — and writes the verdicts as a Parquet dataset directory *out* (the same columns as
``exportrules batch``), and the rows it could not judge to ``OUT.rejects/`` (JSON Lines). Ray is started locally
unless one is running; to use a cluster, set ``RAY_ADDRESS`` (``ray://head:10001`` or ``auto``) before
calling, or call ``ray.init(address=...)`` yourself. The rulesets directory must be readable at the
same path on every node (or use the bundled ones).

Why Ray and not Dask: the work is a stateful map (an engine per worker, loaded once, with its caches),
which Ray Data expresses as an actor pool with ``map_batches``, with streaming execution so that a
dataset larger than memory flows through; Dask's ``map_partitions`` would reload or pickle the engine
per partition.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .batch import OUTPUT_COLUMNS, BatchSummary

__all__ = ["judge_dataset", "run_ray_batch"]


class _Judge:
    """One Ray actor: an engine loaded once, judging Arrow batches."""

    def __init__(self, rulesets: str | None, as_of: str | None, mapping: Mapping[str, str] | None,
                 explain: bool) -> None:
        from . import load

        self.engine = load(rulesets)
        self.as_of, self.mapping, self.explain = as_of, dict(mapping or {}), explain
        self.memo: dict[tuple[Any, ...], dict[str, str | None]] = {}

    def __call__(self, batch: Any) -> Any:
        import polars as pl

        from .table import canonical_columns, judge_table

        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        frame = frame.with_columns(pl.all().cast(pl.String))
        cols = canonical_columns(frame.columns, self.mapping)
        judged = judge_table(self.engine, frame, as_of=self.as_of, mapping=self.mapping, explain=self.explain,
                             memo=self.memo)
        out = judged.select([
            (pl.col(cols[f]) if f in cols else pl.lit(None, dtype=pl.String)).alias(name)
            for f, name in (("id", "id"), ("date", "date"), ("item", "item"), ("destination", "destination"),
                            ("buyer.name", "buyer"))
        ] + [pl.col(c) if c in judged.columns else pl.lit(None, dtype=pl.String).alias(c)
             for c in (*OUTPUT_COLUMNS[5:], "error")])
        return out.to_arrow()


def judge_dataset(ds: Any, *, rulesets: str | Path | None = None, as_of: str | None = None,
                  mapping: Mapping[str, str] | None = None, explain: bool = True, workers: int | None = None,
                  batch_size: int = 100_000) -> Any:
    """A Ray Dataset of orders → a Ray Dataset of verdicts (with an ``error`` column, null when judged)."""
    import ray

    # one CPU is left for reading and writing, or a small machine starves its own pipeline
    cpus = ray.available_resources().get("CPU", os.cpu_count() or 1)  # type: ignore[no-untyped-call]
    n = workers or max(1, int(cpus) - 1)
    return ds.map_batches(_Judge, fn_constructor_args=(str(rulesets) if rulesets else None, as_of, mapping, explain),
                          batch_format="pyarrow", batch_size=batch_size, compute=ray.data.ActorPoolStrategy(size=n))


def run_ray_batch(source: Path, out: Path | None, *, rulesets: Path | None = None, as_of: str | None = None,
                  mapping: Mapping[str, str] | None = None, explain: bool = True,
                  workers: int | None = None) -> BatchSummary:
    """Judge *source* (Parquet file or directory, or CSV) into the Parquet dataset directory *out*."""
    import ray

    from .table import TableInvalid

    if out is None:
        raise TableInvalid("--ray writes a Parquet dataset: give -o DIRECTORY")
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS"), include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    suffix = source.suffix.lower()
    if source.is_dir() or suffix in (".parquet", ".pq"):
        ds = ray.data.read_parquet(str(source))
    elif suffix == ".csv":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        with source.open(encoding="utf-8-sig") as fh:
            header = fh.readline().rstrip("\r\n").split(",")
        ds = ray.data.read_csv(str(source), convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=True))
    else:
        raise TableInvalid(f"--ray reads Parquet or CSV, not `{source.name}`")
    judged = judge_dataset(ds, rulesets=rulesets, as_of=as_of, mapping=mapping, explain=explain,
                           workers=workers).materialize()
    from ray.data.expressions import col

    good = judged.filter(expr=col("error").is_null()).drop_columns(["error"])
    bad = judged.filter(expr=col("error").is_not_null())
    good.write_parquet(str(out))
    summary = BatchSummary()
    import polars as pl

    for batch in good.iter_batches(batch_format="pyarrow", batch_size=1_000_000):
        frame = pl.from_arrow(batch)
        assert isinstance(frame, pl.DataFrame)
        summary.judged += frame.height
        summary.add(frame)
    summary.rejected = bad.count()
    if summary.rejected:
        bad.write_json(str(out.with_name(out.name + ".rejects")))
    summary.rows = summary.judged + summary.rejected
    return summary


def __dir__() -> list[str]:
    return list(__all__)
