"""Check a CSV of purchase orders before they ship.

    python examples/procurement_check.py examples/purchase_orders.csv [--as-of 2026-03-01]

Each row is judged under the rules in force on its date (or on --as-of); the
script prints a table and exits 1 if any order is blocked, 3 if a row is malformed,
0 otherwise. Columns: po, date, item, quantity, ship_from, destination, buyer,
buyer_country, buyer_headquarters, end_use, evidence and licences (both
semicolon-separated).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import exportrules

STYLE = {"permitted": "green", "flagged": "yellow", "blocked": "bold red"}


def to_transaction(row: dict[str, str]) -> dict[str, Any]:
    """One CSV row in the transaction JSON contract."""
    buyer: dict[str, Any] = {"name": row["buyer"]}
    if row.get("buyer_country"):
        buyer["country"] = row["buyer_country"]
    if row.get("buyer_headquarters"):
        buyer["headquarters"] = row["buyer_headquarters"]
    tx: dict[str, Any] = {
        "id": row["po"], "date": row["date"], "item": row["item"],
        "quantity": int(row["quantity"] or 1), "ship_from": row.get("ship_from") or "US",
        "destination": row["destination"], "buyer": buyer,
        "evidence": [e for e in (row.get("evidence") or "").split(";") if e],
        "licences": [lic for lic in (row.get("licences") or "").split(";") if lic],
    }
    if row.get("end_use"):
        tx["end_use"] = row["end_use"]
    return tx


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path)
    ap.add_argument("--as-of", default=None)
    args = ap.parse_args(argv)
    engine = exportrules.load()
    console = Console()
    table = Table(title=f"Export check: {args.csv.name}")
    for col in ("PO", "item", "to", "outcome", "by jurisdiction", "deciding rules"):
        table.add_column(col, overflow="fold")
    owed: list[str] = []
    blocked = invalid = False
    with args.csv.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                verdict = engine.judge(to_transaction(row), as_of=args.as_of)
            except (exportrules.TransactionInvalid, ValueError) as exc:
                invalid = True
                table.add_row(row.get("po", "?"), row.get("item", ""), row.get("destination", ""),
                              "[magenta]invalid[/]", "", str(exc).splitlines()[-1].strip())
                continue
            outcome = verdict.outcome.value
            blocked |= verdict.outcome is exportrules.Outcome.BLOCKED
            deciding = [r.rule for r in verdict.reasons if r.effect is not None and r.effect.value == outcome]
            table.add_row(
                row["po"], row["item"], row["destination"], f"[{STYLE[outcome]}]{outcome}[/]",
                " ".join(f"{j}:{o.value}" for j, o in sorted(verdict.jurisdictions.items())),
                ", ".join(dict.fromkeys(deciding)) or "-",
            )
            owed.extend(f"{row['po']}: {a.kind}: {a.detail}" for a in verdict.actions)
    console.print(table)
    for line in owed:
        console.print(f"  {line}", markup=False, highlight=False)
    if invalid:
        return 3
    return 1 if blocked else 0


if __name__ == "__main__":
    sys.exit(main())
