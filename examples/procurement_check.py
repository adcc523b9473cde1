"""Check a file of purchase orders before they ship.

    python examples/procurement_check.py examples/purchase_orders.csv [--as-of 2026-03-01]

Each row is judged under the rules in force on its date (or on --as-of) with
``exportrules.table.judge_table``; headers are matched case-insensitively (``PO``,
``Buyer Country`` and ``buyer.country`` all work; see docs/batch.md). The script
prints a table and the actions owed, and exits with the CLI's codes: 5 if any
order is blocked, 4 if any is flagged, 3 if a row cannot be read, 0 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

import exportrules
from exportrules.cli import ExitCode
from exportrules.table import TableInvalid, judge_table

STYLE = {"permitted": "green", "flagged": "yellow", "blocked": "bold red"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("orders", type=Path, help="CSV (or Parquet) of purchase orders")
    ap.add_argument("--as-of", default=None)
    args = ap.parse_args(argv)
    console = Console()
    orders = pl.read_parquet(args.orders) if args.orders.suffix == ".parquet" else \
        pl.read_csv(args.orders, infer_schema=False)
    try:
        judged = judge_table(exportrules.load(), orders, as_of=args.as_of)
    except (TableInvalid, ValueError) as exc:
        console.print(f"[magenta]invalid[/]: {exc}")
        return ExitCode.INVALID
    ref = next((c for c in orders.columns if c.strip().lower() in ("po", "id", "order_id")), orders.columns[0])
    dest = next((c for c in orders.columns if c.strip().lower() == "destination"), None)
    table = Table(title=f"Export check: {args.orders.name}")
    for col in ("PO", "to", "outcome", "by jurisdiction", "deciding rules"):
        table.add_column(col, overflow="fold")
    owed: list[str] = []
    for row in judged.iter_rows(named=True):
        if row["error"] is not None:
            table.add_row(str(row[ref]), str(row[dest] if dest else ""), "[magenta]invalid[/]", "", row["error"])
            continue
        outcome = row["outcome"]
        table.add_row(str(row[ref]), str(row[dest] if dest else ""), f"[{STYLE[outcome]}]{outcome}[/]",
                      row["jurisdictions"].replace("=", ":").replace(";", " "), row["rules"].replace(";", ", ") or "-")
        owed.extend(f"{row[ref]}: {a}" for a in (row["actions"] or "").split(" | ") if a)
    console.print(table)
    for line in owed:
        console.print(f"  {line}", markup=False, highlight=False)
    outcomes = set(judged.get_column("outcome").to_list())
    if judged.get_column("error").is_not_null().any():
        return ExitCode.INVALID
    if "blocked" in outcomes:
        return ExitCode.BLOCKED
    return ExitCode.FLAGGED if "flagged" in outcomes else ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
