"""judge_table and `exportrules batch`: every row's answer is the one judge() gives it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import exportrules
from exportrules.corpus import load_cases
from exportrules.errors import TransactionInvalid
from exportrules.table import RESULT_COLUMNS, TableInvalid, flatten, judge_table, row_transaction, verdict_row
from exportrules.testing.orders import order_rows

from .conftest import ROOT, Run

ANSWER = ("outcome", "jurisdictions", "classifications", "rulesets", "error")


def frame(rows: Iterable[Mapping[str, str | None]]) -> pl.DataFrame:
    rows = list(rows)
    cols = sorted({k for r in rows for k in r})
    return pl.DataFrame({c: [r.get(c) for r in rows] for c in cols}, schema=dict.fromkeys(cols, pl.String))


def expected(engine: exportrules.Engine, row: Mapping[str, str | None], as_of: Any = None,
             explain: bool = True) -> dict[str, str | None]:
    """What judge() says of one row, in the table's columns."""
    try:
        got = verdict_row(engine.judge(row_transaction(row), as_of=as_of), explain=explain)
    except TransactionInvalid as exc:
        got = dict.fromkeys(RESULT_COLUMNS if explain else ANSWER)
        got["error"] = "; ".join(d.message for d in exc.diagnostics)
    return got


def assert_agrees(engine: exportrules.Engine, rows: list[dict[str, str | None]], as_of: Any = None,
                  explain: bool = True) -> pl.DataFrame:
    out = judge_table(engine, frame(rows), as_of=as_of, explain=explain)
    cols = RESULT_COLUMNS if explain else ANSWER
    got = out.select(cols).to_dicts()
    wrong = [(r, g, w) for r, g in zip(rows, got, strict=True) if g != (w := expected(engine, r, as_of, explain))]
    assert not wrong, f"{len(wrong)} of {len(rows)} rows differ; first: {wrong[0]}"
    return out


def test_every_corpus_case_agrees_with_judge(engine: exportrules.Engine) -> None:
    cases = [c for c in load_cases(ROOT / "tests" / "corpus") if "date" in c.transaction]  # not membership cases
    by_as_of: dict[Any, list[dict[str, str | None]]] = {}
    for c in cases:
        by_as_of.setdefault(c.as_of, []).append({**flatten(c.transaction), "id": c.note})
    assert sum(len(v) for v in by_as_of.values()) == len(cases) >= 300
    for as_of, rows in by_as_of.items():
        out = assert_agrees(engine, rows, as_of)
        assert set(out.get_column("outcome").drop_nulls()) <= {"permitted", "flagged", "blocked"}


def test_generated_rows_agree_with_judge(engine: exportrules.Engine) -> None:
    """20,000 rows explained in full, 100,000 more for the answer: every field drawn independently, listed
    names, near misses, malformed quantities and licences and an end use outside the vocabulary among them."""
    rows = list(order_rows(engine, 20_000, seed=5))
    out = assert_agrees(engine, rows)
    counts = dict(out.get_column("outcome").value_counts().iter_rows())
    assert counts.get("permitted", 0) and counts.get("flagged", 0) and counts.get("blocked", 0)
    assert counts.get(None, 0) > 0  # the malformed rows were not judged
    assert_agrees(engine, list(order_rows(engine, 100_000, seed=6, fresh_names=0.2)), explain=False)


def test_procurement_order_book_agrees_with_judge(engine: exportrules.Engine) -> None:
    rows = list(order_rows(engine, 20_000, seed=8, fresh_names=0.2, profile="procurement"))
    assert_agrees(engine, rows)
    assert_agrees(engine, rows[:3000], as_of="2025-06-01")


def test_a_listed_buyer_is_not_folded_with_plain_names(engine: exportrules.Engine) -> None:
    base = {"date": "2025-10-15", "item": "nvidia-h100-sxm", "destination": "DE", "buyer.country": "DE"}
    rows = [{**base, "buyer.name": "Plain Trading Co Ltd"}, {**base, "buyer.name": "HiSilicon Technologies Co Ltd"},
            {**base, "buyer.name": "Another Plain Co Ltd"}]
    out = assert_agrees(engine, rows)
    outcomes = out.get_column("outcome").to_list()
    assert outcomes[0] == outcomes[2] != outcomes[1] == "blocked"


def test_a_party_listed_between_two_rows_dates_is_judged_on_each_date(engine: exportrules.Engine) -> None:
    # Huawei Technologies Deutschland GmbH: on the Entity List since 2019-05-16 (84 FR 22961).
    rows = [{"date": d, "item": "nvidia-a100", "destination": "DE",
             "buyer.name": "Huawei Technologies Deutschland GmbH", "buyer.country": "DE"}
            for d in ("2019-05-15", "2019-05-16", "2019-05-17")]
    out = assert_agrees(engine, rows, explain=True)
    assert out.get_column("outcome").to_list()[0] != "blocked"
    assert out.get_column("outcome").to_list()[1:] == ["blocked", "blocked"]


def test_malformed_rows_get_an_error_naming_the_field_and_no_outcome(engine: exportrules.Engine) -> None:
    rows = [
        {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "DE", "quantity": "many"},
        {"date": "2024-06-31", "item": "nvidia-h100-sxm", "destination": "DE"},
        {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "Germany!"},
        {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "DE", "end_use": "cloud"},
        {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "DE", "buyer.owners": "[{"},
        {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "DE", "licences": "TBD"},
        {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "DE", "buyer.name": "Example GmbH",
         "buyer.country": "DE", "end_use": "datacenter"},
    ]
    out = assert_agrees(engine, rows)
    errors = out.get_column("error").to_list()
    for field, err in zip(("quantity", "date", "destination", "end_use", "buyer.owners", "licences"), errors,
                          strict=False):
        assert err is not None and field.split(".")[0] in err, (field, err)
    assert out.get_column("outcome").to_list()[:6] == [None] * 6
    assert out.get_column("outcome").to_list()[6] == "permitted"


def test_pandas_and_arrow_come_back_as_they_went_in(engine: exportrules.Engine) -> None:
    rows = [{"PO": "a", "Date": "2024-06-01", "Item": "nvidia-h100-sxm", "Destination": "CN", "Buyer": "X Co",
             "Buyer Country": "CN", "Notes": "kept"},
            {"PO": "b", "Date": "2024-06-01", "Item": "nvidia-h100-sxm", "Destination": "DE", "Buyer": "Y GmbH",
             "Buyer Country": "DE", "Notes": "kept"}]
    pdf = pd.DataFrame(rows)
    got = judge_table(engine, pdf)
    assert isinstance(got, pd.DataFrame)
    assert list(got["outcome"]) == ["blocked", "permitted"] and list(got["Notes"]) == ["kept", "kept"]
    table = pa.Table.from_pylist(rows)
    got_arrow = judge_table(engine, table, explain=False)
    assert isinstance(got_arrow, pa.Table)
    assert got_arrow.column("outcome").to_pylist() == ["blocked", "permitted"]
    assert "rules" not in got_arrow.column_names


def test_typed_columns_are_read_like_text(engine: exportrules.Engine) -> None:
    import datetime as dt

    df = pl.DataFrame({"date": [dt.date(2024, 6, 1)], "item.tpp": [4800.0], "item.performance_density": [1.0],
                       "item.datacenter": [True], "quantity": [64], "destination": ["CN"],
                       "evidence": [["nac_notification"]]})
    out = judge_table(engine, df)
    want = engine.judge({"date": "2024-06-01", "item": {"tpp": 4800, "performance_density": 1, "datacenter": True},
                         "quantity": 64, "destination": "CN", "evidence": ["nac_notification"]})
    assert out.get_column("outcome").to_list() == [want.outcome.value]
    assert out.get_column("classifications").to_list() == [";".join(want.classifications)]


def test_headers_fold_case_and_map() -> None:
    from exportrules.table import canonical_columns

    cols = canonical_columns(["PO Number", "DATE", "Item", "Destination", "buyer_country", "Buyer.Name",
                              "End-User Headquarters", "licenses", "Kunde"], {"Kunde": "consignee"})
    assert cols == {"id": "PO Number", "date": "DATE", "item": "Item", "destination": "Destination",
                    "buyer.country": "buyer_country", "buyer.name": "Buyer.Name",
                    "end_user.headquarters": "End-User Headquarters", "licences": "licenses",
                    "consignee.name": "Kunde"}
    with pytest.raises(TableInvalid, match=r"no column for `destination` \(did you mean `destinaton`\?\)"):
        canonical_columns(["date", "item", "destinaton"])
    with pytest.raises(TableInvalid, match=r"both give `buyer\.name`"):
        canonical_columns(["date", "item", "destination", "buyer", "buyer_name"])
    with pytest.raises(TableInvalid, match="no column `Kundin`"):
        canonical_columns(["date", "item", "destination"], {"Kundin": "buyer"})
    with pytest.raises(TableInvalid, match="not a transaction field"):
        canonical_columns(["date", "item", "destination", "x"], {"x": "buyer.email"})


def test_a_table_that_already_has_verdict_columns_is_refused(engine: exportrules.Engine) -> None:
    with pytest.raises(TableInvalid, match="`outcome`"):
        judge_table(engine, pl.DataFrame({"date": ["2024-06-01"], "item": ["nvidia-h100-sxm"],
                                          "destination": ["DE"], "outcome": ["permitted"]}))


# ----------------------------------------------------------------- the CLI


def test_batch_csv_to_parquet_with_fail_on(cli: Callable[..., Run], tmp_path: Path,
                                           engine: exportrules.Engine) -> None:
    out = tmp_path / "out.parquet"
    run = cli("batch", str(ROOT / "examples" / "purchase_orders.csv"), "-o", str(out), "--fail-on", "blocked")
    assert run.code == 5, run.err
    table = pl.read_parquet(out)
    src = pl.read_csv(ROOT / "examples" / "purchase_orders.csv", infer_schema=False)
    assert table.get_column("id").to_list() == src.get_column("po").to_list()
    for row, got in zip(src.iter_rows(named=True), table.iter_rows(named=True), strict=True):
        tx = row_transaction({"id": row["po"], "date": row["date"], "item": row["item"],
                              "quantity": row["quantity"], "ship_from": row["ship_from"],
                              "destination": row["destination"], "buyer.name": row["buyer"],
                              "buyer.country": row["buyer_country"], "buyer.headquarters": row["buyer_headquarters"],
                              "end_use": row["end_use"], "evidence": row["evidence"], "licences": row["licences"]})
        assert got["outcome"] == engine.judge(tx).outcome.value, row["po"]
    assert "6 rows: 6 judged, 0 rejected" in run.err and "blocked 2" in run.err
    assert cli("batch", str(ROOT / "examples" / "purchase_orders.csv"), "-o", str(out)).code == 0
    assert cli("batch", str(ROOT / "examples" / "purchase_orders.csv"), "-o", str(out),
               "--fail-on", "flagged").code == 5


def test_batch_rejects_bad_rows_and_judges_the_rest(cli: Callable[..., Run], tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    src.write_text("Order ID,Date,Item,Destination,Qty,Buyer,Buyer Country,End Use\n"
                   "a,2024-06-01,nvidia-h100-sxm,DE,5,Example GmbH,DE,datacenter\n"
                   "b,2024-06-01,nvidia-h100-sxm,DE,lots,Example GmbH,DE,datacenter\n"
                   "c,2024-13-01,nvidia-h100-sxm,DE,5,Example GmbH,DE,datacenter\n"
                   "d,2024-06-01,nvidia-h100-sxm,CN,5,Example GmbH,DE,datacenter\n")
    out = tmp_path / "out.csv"
    run = cli("batch", str(src), "-o", str(out))
    assert run.code == 3, run.err
    judged = pl.read_csv(out, infer_schema=False)
    assert judged.get_column("id").to_list() == ["a", "d"]
    assert judged.get_column("outcome").to_list() == ["permitted", "blocked"]
    rejects = [json.loads(line) for line in (tmp_path / "out.csv.rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["id"], r["field"]) for r in rejects] == [(3, "b", "quantity"), (4, "c", "date")]
    assert "4 rows: 2 judged, 2 rejected" in run.err


def test_batch_jsonl_in_refuses_unknown_fields(cli: Callable[..., Run], tmp_path: Path) -> None:
    src = tmp_path / "orders.jsonl"
    src.write_text('{"id": "1", "date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "DE"}\n'
                   '{"id": "2", "date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "CN", '
                   '"destinaton": "DE"}\n'
                   'not json\n'
                   '{"id": "4", "date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "CN", '
                   '"buyer": {"name": "B", "country": "CN", "email": "x"}}\n')
    out = tmp_path / "out.jsonl"
    run = cli("batch", str(src), "-o", str(out))
    assert run.code == 3
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["1"]
    rejects = [json.loads(x) for x in (tmp_path / "out.jsonl.rejects.jsonl").read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rejects] == [(2, "destinaton"), (3, None), (4, "buyer.email")]


def test_batch_map_and_missing_column(cli: Callable[..., Run], tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    src.write_text("Auftrag,Datum,Chip,Ziel\nA1,2024-06-01,nvidia-h100-sxm,CN\n")
    run = cli("batch", str(src))
    assert run.code == 3 and "no column for `date`, `destination`" in run.err  # `Chip` is read as the item
    assert "did you mean `datum`" in run.err
    run = cli("batch", str(src), "--map", "Auftrag=id", "--map", "Datum=date", "--map", "Ziel=destination")
    assert run.code == 0, run.err
    assert run.lines()[0]["id"] == "A1" and run.lines()[0]["outcome"] == "blocked"
    assert cli("batch", str(src), "--map", "Datum").code == 2


def test_batch_resume_continues_where_it_stopped(cli: Callable[..., Run], tmp_path: Path,
                                                 engine: exportrules.Engine) -> None:
    rows = list(order_rows(engine, 3000, seed=9, profile="procurement"))
    src = tmp_path / "orders.parquet"
    frame(rows).write_parquet(src)
    full = tmp_path / "full.csv"
    assert cli("batch", str(src), "-o", str(full)).code == 0
    # An interrupted run: the first 1,000 verdicts written, the last line cut short by the crash.
    partial = tmp_path / "partial.csv"
    lines = full.read_text().splitlines(keepends=True)
    partial.write_text("".join(lines[:1001]) + lines[1001][:17])
    run = cli("batch", str(src), "-o", str(partial), "--resume")
    assert run.code == 0, run.err
    assert "skipped" in run.err
    assert partial.read_text() == full.read_text()
    # Parquet output: finished parts survive a crash; resume skips them.
    pout = tmp_path / "out.parquet"
    assert cli("batch", str(src), "-o", str(pout)).code == 0
    once = pl.read_parquet(pout)
    assert cli("batch", str(src), "-o", str(pout), "--resume").code == 0
    assert pl.read_parquet(pout).equals(once)
    # A crash after the first part: the part survives, OUT does not exist yet; resume finishes the job.
    from exportrules.batch import _Writer

    crashed = tmp_path / "crashed.parquet"
    writer = _Writer(crashed, "parquet", resume=False)
    writer.write(once.head(1000))
    assert not crashed.exists() and len(list((tmp_path / "crashed.parquet.parts").iterdir())) == 1
    run = cli("batch", str(src), "-o", str(crashed), "--resume")
    assert run.code == 0 and "1,000 skipped" in run.err
    assert pl.read_parquet(crashed).equals(once)
    assert cli("batch", str(src), "--resume").code == 3


def test_batch_arrow_and_jsonl_out(cli: Callable[..., Run], tmp_path: Path) -> None:
    table = pa.Table.from_pylist([{"id": "x", "date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "CN"}])
    src = tmp_path / "orders.arrow"
    with pa.ipc.new_file(src, table.schema) as w:
        w.write_table(table)
    out = tmp_path / "v.jsonl"
    run = cli("batch", str(src), "-o", str(out), "--format", "json")
    assert run.code == 0
    assert json.loads(out.read_text())["outcome"] == "blocked"
    assert json.loads(run.err)["outcomes"] == {"blocked": 1}
    assert cli("batch", str(tmp_path / "nope.csv")).code == 3
    (tmp_path / "orders.txt").write_text("x")
    assert cli("batch", str(tmp_path / "orders.txt")).code == 3


def test_parquet_out_is_readable_by_pyarrow(cli: Callable[..., Run], tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    assert cli("batch", str(ROOT / "examples" / "purchase_orders.csv"), "-o", str(out)).code == 0
    assert pq.read_table(out).num_rows == 6
    assert not (tmp_path / "o.parquet.parts").exists()


def test_a_blank_name_is_never_folded_with_a_valid_one(engine: exportrules.Engine) -> None:
    base = {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "DE", "buyer.country": "DE",
            "end_use": "datacenter"}
    rows = [{**base, "buyer.name": "Example GmbH"}, {**base, "buyer.name": "   "}, {**base, "buyer.name": ""}]
    out = assert_agrees(engine, rows)
    assert out.get_column("outcome").to_list()[0] == "permitted"
    assert out.get_column("outcome").to_list()[1:] == [None, None]  # a party without a name: not judged
