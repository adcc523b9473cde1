"""Ruleset properties: `exportrules test`, the mutants that prove properties can fail, the pytest plugin,
and the strategies' argument checking."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import exportrules
from exportrules.cli import ExitCode
from exportrules.testing import check_properties, countries, dates, iter_properties, parties, transactions

from .conftest import FIXTURES, Run

MUTANTS = {
    "threshold-48000": "tpp-4800-is-3a090a",
    "china-not-in-d5": "china-consumer-3a090a-needs-a-notification",
    "authorization-covers-everything": "china-3a090a-needs-licence-or-nac",
    "huawei-listed-a-year-later": "huawei-blocked-from-2019-05-16",
    "exceptions-clear-embargoes": "exceptions-never-clear-part-746-destinations",
}


def _mutant(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "rulesets"
    shutil.copytree(exportrules.bundled_rulesets_dir(), root)
    for f in (FIXTURES / "mutants" / name).rglob("*.yaml"):
        target = root / f.relative_to(FIXTURES / "mutants" / name)
        assert target.exists(), f"a mutant replaces an existing file: {target}"
        shutil.copyfile(f, target)
    return root


def test_bundled_properties_hold(cli: Callable[..., Run]) -> None:
    run = cli("test", "--max-examples", "25", "--format", "json")
    report = run.json()
    assert run.code == 0, [r for r in report["results"] if not r["passed"]]
    assert report["properties"] >= 12 and report["failed"] == 0
    assert all(r["examples"] > 0 for r in report["results"])


def test_properties_are_validated_like_rules(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        "ruleset: t/p\njurisdiction: US\nversion: 2024-01-01\neffective: 2024-01-01\ncitation: t\n"
        "properties:\n"
        "  - {id: a, for_all: {destinaton: CN}, expect: {outcome: blocked}}\n"
        "  - {id: b, monotone: item.name}\n"
        "  - {id: c, members_no_stricter: 'D:9'}\n"
        "  - {id: d}\n", encoding="utf-8")
    _, result = exportrules.load_catalog(tmp_path)
    codes = sorted((d.code, d.span.line) for d in result.errors)
    assert codes == [("invalid-condition", 7), ("invalid-value", 8), ("missing-field", 10), ("unknown-group", 9)]


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_each_mutant_fails_with_a_counterexample_judge_reproduces(
    cli: Callable[..., Run], tmp_path: Path, name: str
) -> None:
    root = _mutant(tmp_path, name)
    run = cli("test", str(root), "--only", MUTANTS[name], "--max-examples", "200", "--format", "json")
    assert run.code == ExitCode.PROPERTY_FAILED
    failed = {r["property"]: r for r in run.json()["results"] if not r["passed"]}
    assert MUTANTS[name] in failed, sorted(failed)
    result = failed[MUTANTS[name]]
    again = cli("judge", "-", "--rulesets", str(root), "--format", "json", stdin=json.dumps(result["counterexample"]))
    assert again.json()["outcome"] == result["verdict"]["outcome"]
    assert again.json()["classifications"] == result["verdict"]["classifications"]
    # and the bundled rulesets judge the same transaction as the property expects
    original = exportrules.load().judge(result["counterexample"])
    assert original.to_dict() != again.json()


def test_text_report_prints_the_counterexample(cli: Callable[..., Run], tmp_path: Path) -> None:
    root = _mutant(tmp_path, "huawei-listed-a-year-later")
    run = cli("test", str(root), "--max-examples", "30", "--only", "huawei")
    assert run.code == ExitCode.PROPERTY_FAILED
    assert "FAIL us-ear/entity-list::huawei-blocked-from-2019-05-16" in run.out
    head = f"counterexample (reproduce with `exportrules judge -r {root} -`):"  # with the rulesets it was found in
    assert head in run.out
    line = run.out.split(head + "\n", 1)[1].splitlines()[0]
    tx = json.loads(line)
    assert tx["buyer"]["name"] == "Huawei Technologies Co., Ltd."
    assert "2019-05-16" <= tx["date"] < "2020-05-16"


def test_check_properties_api_and_windows() -> None:
    engine = exportrules.load()
    windows = {p.id: (start, end) for _r, p, start, end, _s in iter_properties(engine)}
    assert windows["hong-kong-is-china"][0] == dt.date(2022, 10, 7)
    assert windows["tpp-4800-is-3a090a"][0] == dt.date(2023, 11, 17)
    results = check_properties(engine, max_examples=10, only=lambda r, p: p == "tpp-4800-is-3a090a")
    assert [r.passed for r in results] == [True]


def test_pytest_plugin_collects_each_property(tmp_path: Path) -> None:
    root = _mutant(tmp_path, "huawei-listed-a-year-later")
    user_test = "def test_ok():\n    assert sorted([3, 1, 2]) == [1, 2, 3]\n"
    (tmp_path / "test_nothing.py").write_text(user_test, encoding="utf-8")
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_nothing.py"),
            "--exportrules-rulesets", str(root), "--exportrules-max-examples", "15", "-k", "entity-list"]
    if not any(ep.name == "exportrules" for ep in metadata.entry_points(group="pytest11")):
        args[4:4] = ["-p", "exportrules.pytest_plugin"]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "5 deselected" not in proc.stdout
    assert "1 failed, 4 passed" in proc.stdout, proc.stdout
    assert "huawei-blocked-from-2019-05-16" in proc.stdout and "counterexample" in proc.stdout


@pytest.mark.parametrize("make", [
    lambda: countries(group="D:5"),
    lambda: countries(group="D:55", on=dt.date(2025, 1, 1)),
    lambda: countries(on=dt.date(2025, 1, 1)),
    lambda: dates(between=(dt.date(2025, 1, 2), dt.date(2025, 1, 1))),
    lambda: parties(listed="yes"),  # type: ignore[arg-type]
    lambda: transactions(destination="CN"),  # type: ignore[arg-type]
    lambda: transactions(colour=st.just("red")),
    lambda: transactions(engine="bundled"),  # type: ignore[arg-type]
])
def test_bad_strategy_arguments_raise_invalid_argument(make: Callable[[], object]) -> None:
    with pytest.raises(InvalidArgument):
        make()


@given(countries(group="D:5", on=dt.date(2026, 3, 1)), countries(group="D:5", on=dt.date(2026, 1, 1)))
def test_countries_in_a_group_follow_the_date(after: str, before: str) -> None:
    assert after not in {"KH", "MO", "HK"}
    assert before != "MO"
