"""`exportrules batch --ray`: the same verdicts as the single-process batch, on a local Ray instance."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

import exportrules
from exportrules.testing.orders import order_rows

from .conftest import Run

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::ResourceWarning"),
              pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray = pytest.importorskip("ray", reason="the `ray` extra is part of `test`; this guards a partial install")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_batch_matches_the_single_process_batch(local_ray: None, cli: Callable[..., Run], tmp_path: Path,
                                                    engine: exportrules.Engine) -> None:
    rows = list(order_rows(engine, 4000, seed=12, fresh_names=0.2))
    cols = sorted({k for r in rows for k in r})
    src = tmp_path / "orders.parquet"
    pl.DataFrame({c: [r.get(c) for r in rows] for c in cols}, schema=dict.fromkeys(cols, pl.String)) \
        .write_parquet(src, row_group_size=1000)
    single = tmp_path / "single.parquet"
    assert cli("batch", str(src), "-o", str(single)).code == 3  # the generator writes a few malformed rows
    run = cli("batch", str(src), "--ray", "-o", str(tmp_path / "ray"))
    assert run.code == 3, run.err
    one = pl.read_parquet(single).sort("id")
    many = pl.read_parquet(tmp_path / "ray").sort("id")
    assert many.height == one.height > 3500
    assert many.select(one.columns).equals(one)
    assert "rejected" in run.err
    rejects = pl.read_ndjson(list((tmp_path / "ray.rejects").glob("*.json")))
    assert rejects.height == 4000 - one.height and rejects.get_column("outcome").is_null().all()
