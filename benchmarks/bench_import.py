"""`exportrules lists import` at the size of a real list: a Consolidated Screening List CSV of N rows.

    python benchmarks/bench_import.py [--rows 10000]

Writes a CSV in the CSL's bulk layout (Entity List, Denied Persons and Unverified List rows
with aliases, addresses, Federal Register notices and licence requirements), then prints the
time to import it, to load the ruleset it wrote (validation included), and the median time of
screening a first-seen name against it. Everything is written to a temporary directory.
Goal (issue #10): a 10,000-row import in under 10 seconds.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
from pathlib import Path

import exportrules
from exportrules.importers import import_lists

COLUMNS = ["_id", "source", "entity_number", "type", "programs", "name", "title", "addresses",
           "federal_register_notice", "start_date", "end_date", "standard_order", "license_requirement",
           "license_policy", "call_sign", "vessel_type", "gross_tonnage", "gross_registered_tonnage", "vessel_flag",
           "vessel_owner", "remarks", "source_list_url", "alt_names", "citizenships", "dates_of_birth",
           "nationalities", "places_of_birth", "source_information_url", "ids"]
SOURCES = ["Entity List (EL) - Bureau of Industry and Security"] * 8 + [
    "Denied Persons List (DPL) - Bureau of Industry and Security",
    "Unverified List (UVL) - Bureau of Industry and Security"]
SYLLABLES = ["hua", "zhong", "xin", "tian", "long", "kai", "rui", "bo", "sheng", "jin", "ke", "mao", "feng", "an",
             "da", "tong", "wei", "yu", "lan", "hai", "nor", "vel", "tek", "ast", "ro", "kom", "pro", "stal"]
WORDS = ["Technology", "Electronics", "Trading", "Industrial", "Semiconductor", "Research Institute", "Logistics"]
COUNTRIES = ["CN", "RU", "IR", "HK", "AE", "TR", "BY", "PK", "SG", "MY"]


def _name(rnd: random.Random) -> str:
    core = "".join(rnd.choice(SYLLABLES) for _ in range(rnd.randint(2, 3))).title()
    return f"{core} {rnd.choice(WORDS)} Co., Ltd."


def make(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        for i in range(rows):
            source = rnd.choice(SOURCES)
            w.writerow({
                "_id": f"row-{i}", "source": source, "type": "Entity", "name": _name(rnd),
                "addresses": f"{rnd.randint(1, 999)} Road, City, {rnd.choice(COUNTRIES)}",
                "federal_register_notice": f"{rnd.randint(60, 91)} FR {rnd.randint(100, 99000)}",
                "license_requirement": "For all items subject to the EAR. (See §744.11 of the EAR)"
                if "(EL)" in source else "",
                "license_policy": "Presumption of denial" if "(EL)" in source else "",
                "alt_names": "; ".join(_name(rnd) for _ in range(rnd.randint(0, 3))),
                **dict.fromkeys(("entity_number", "programs", "title", "start_date", "end_date"), ""),
            })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--n", type=int, default=2000, help="first-seen names screened")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make(root / "csl.csv", args.rows)
        t0 = time.perf_counter()
        report = import_lists(root / "csl.csv", fmt="csl", out=root / "rules", vintage=None)
        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        engine = exportrules.load(root / "rules")
        t_load = time.perf_counter() - t0
        rnd = random.Random(11)
        t0 = time.perf_counter()
        engine.screen("Warm Up Trading", on="2026-01-01")
        t_index = time.perf_counter() - t0
        times = []
        for _ in range(args.n):
            name = _name(rnd)
            t0 = time.perf_counter()
            engine.screen(name, on="2026-01-01")
            times.append(time.perf_counter() - t0)
    print(f"rows {args.rows:,}: imported {report.written:,} parties ({report.by_list})")
    print(f"import {t_import:.2f} s (goal < 10 s); load and validate {t_load:.2f} s; "
          f"name index on first use {t_index:.2f} s")
    print(f"screen a first-seen name: median {statistics.median(times) * 1e6:.0f} µs over {args.n:,}")


if __name__ == "__main__":
    main()
