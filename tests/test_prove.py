"""`exportrules prove`: every bundled property decided exactly; every mutant refuted with a counterexample the
engine reproduces, including one that sampling misses."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import pytest

import exportrules
from exportrules.cli import ExitCode
from exportrules.testing import iter_properties
from exportrules.testing.properties import _expectation

from .conftest import Run
from .test_properties import MUTANTS, _mutant

PROVE_MUTANTS = {**MUTANTS, "threshold-plus-a-hundredth": "tpp-4800-is-3a090a",
                 "china-out-of-d5-for-a-day": "china-consumer-3a090a-needs-a-notification"}


def test_every_bundled_property_is_proved(cli: Callable[..., Run], engine: exportrules.Engine) -> None:
    run = cli("prove", "--format", "json")
    assert run.code == ExitCode.OK, run.out[-2000:]
    report = run.json()
    names = {(r, p.id) for r, p, *_ in iter_properties(engine)}
    assert report["properties"] == len(names) >= 20
    assert report["proved"] == len(names), [r for r in report["results"] if r["status"] != "proved"]
    assert all(r["states"] >= 1 for r in report["results"])


@pytest.mark.parametrize("name", sorted(PROVE_MUTANTS))
def test_each_mutant_is_refuted_with_a_counterexample_judge_reproduces(cli: Callable[..., Run], tmp_path: Path,
                                                                      name: str) -> None:
    root = _mutant(tmp_path, name)
    run = cli("prove", str(root), "--only", PROVE_MUTANTS[name], "--format", "json")
    assert run.code == ExitCode.PROPERTY_FAILED, run.out
    (result,) = [r for r in run.json()["results"] if r["property"] == PROVE_MUTANTS[name]]
    assert result["status"] == "refuted", result
    assert f"-r {root}" in result["reproduce"] and f"--as-of {result['as_of']}" in result["reproduce"]
    again = cli("judge", "-r", str(root), "--as-of", result["as_of"], "-f", "json", "-",
                stdin=json.dumps(result["counterexample"]))
    assert again.json()["outcome"] == result["verdict"]["outcome"]
    assert again.json()["classifications"] == result["verdict"]["classifications"]
    # and the bundled rulesets, judging the same transaction, satisfy the property
    bundled = exportrules.load()
    prop = next(p for _, p, *_ in iter_properties(bundled) if p.id == PROVE_MUTANTS[name])
    assert prop.expect is not None
    assert _expectation(prop, bundled.judge(result["counterexample"], as_of=result["as_of"])) is None


def test_sampling_misses_what_prove_finds(cli: Callable[..., Run], tmp_path: Path) -> None:
    root = _mutant(tmp_path, "threshold-plus-a-hundredth")
    sampled = cli("test", str(root), "--only", "tpp-4800-is-3a090a", "--max-examples", "500")
    assert sampled.code == ExitCode.OK  # 500 examples from the rules' own thresholds never try TPP 4800
    proved = cli("prove", str(root), "--only", "tpp-4800-is-3a090a")
    assert proved.code == ExitCode.PROPERTY_FAILED and '"tpp": 4800.0' in proved.out


def test_relations_are_decided(cli: Callable[..., Run]) -> None:
    run = cli("prove", "--only", "raising-tpp-never-relaxes", "--only", "a5-never-stricter-than-d1",
              "--only", "later-versions-no-weaker-for-d5", "--format", "json")
    assert run.code == ExitCode.OK
    assert [r["status"] for r in run.json()["results"]] == ["proved"] * 3


def test_honest_exit_codes(cli: Callable[..., Run], tmp_path: Path) -> None:
    assert cli("prove", "--only", "no-such-property").code == ExitCode.INVALID
    assert cli("test", "--only", "typo").code == ExitCode.INVALID
    assert cli("corpus", str(tmp_path / "nonexistent")).code == ExitCode.INVALID
    assert cli("corpus", str(tmp_path)).code == ExitCode.INVALID  # a directory with no cases
    assert cli("validate", str(tmp_path)).code == ExitCode.INVALID  # a directory with no rulesets
    assert cli("validate", str(tmp_path / "nonexistent")).code == ExitCode.INVALID


def test_the_pytest_plugin_reports_proofs(tmp_path: Path) -> None:
    root = _mutant(tmp_path, "threshold-plus-a-hundredth")
    (tmp_path / "test_nothing.py").write_text("def test_ok():\n    assert sorted([2, 1]) == [1, 2]\n",
                                              encoding="utf-8")
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_nothing.py"),
            "--exportrules-rulesets", str(root), "--exportrules-prove", "-k", "tpp-4800 or hong-kong"]
    if not any(ep.name == "exportrules" for ep in metadata.entry_points(group="pytest11")):
        args[4:4] = ["-p", "exportrules.pytest_plugin"]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 1 passed" in proc.stdout, proc.stdout
    assert "reproduce: echo" in proc.stdout and f"-r {root}" in proc.stdout


def test_validate_deep_finds_rules_that_can_never_apply(cli: Callable[..., Run]) -> None:
    from .conftest import FIXTURES

    root = FIXTURES / "deep"
    assert cli("validate", str(root)).out.strip() == "no errors, no warnings"  # the shallow checks see nothing
    run = cli("validate", str(root), "--deep", "--format", "json")
    assert run.code == ExitCode.OK
    lines = (root / "tutorial/china-chips/2023-11-17.yaml").read_text().splitlines()

    def line_of(rule: str) -> int:
        return next(n for n, text in enumerate(lines, 1) if text.strip() == f"- id: {rule}")

    found = {(d["code"], d["message"].split("`")[1], d["line"]) for d in run.json()}
    # 3A090.a needs TPP 4800, so a control for 3A090.a chips under TPP 1000 never applies; an exception for
    # Germany never clears a control for China; a licence requirement under an outright prohibition never
    # changes an outcome.
    assert found == {("never-fires", "small-chips-to-china", line_of("small-chips-to-china")),
                     ("never-fires", "german-exception", line_of("german-exception")),
                     ("shadowed-rule", "licence-for-china", line_of("licence-for-china"))}
    assert cli("validate", "--deep").out.strip() == "no errors, no warnings"


def test_diff_exact_lists_regions_whose_witnesses_flip_as_stated(cli: Callable[..., Run]) -> None:
    old, new = "us-ear/advanced-computing@2023-11-17", "us-ear/advanced-computing@2024-04-04"
    run = cli("diff", old, new, "--exact", "--max-regions", "4", "--format", "json")
    assert run.code == 0, run.err
    report = run.json()
    assert len(report["regions"]) == 4 and report["complete"] is False
    base = exportrules.load()
    before, after = exportrules.Engine(base.catalog.pinned(old)), exportrules.Engine(base.catalog.pinned(new))
    for region in report["regions"]:
        assert region["old"] != region["new"]
        assert region["when"].startswith("tpp in [") or "item in {" in region["when"]
        w = region["witness"]
        assert before.judge(w, as_of="2024-04-04").outcome.value == region["old"]
        assert after.judge(w, as_of="2024-04-04").outcome.value == region["new"]
        assert region["catalogue_chips"] == len(region["chips"])
    text = cli("diff", old, new, "--exact", "--max-regions", "1")
    assert "1 region of transactions flip" in text.out and "witness:" in text.out


def test_diff_exact_of_a_version_with_itself_finds_nothing(cli: Callable[..., Run]) -> None:
    ref = "us-ear/advanced-computing@2024-04-04"
    report = cli("diff", ref, ref, "--exact", "--format", "json").json()
    assert report["regions"] == [] and report["complete"] is True


def test_sampling_draws_from_the_rulesets_own_scope(cli: Callable[..., Run]) -> None:
    from .conftest import FIXTURES

    root = FIXTURES / "scoped"
    run = cli("test", str(root), "--max-examples", "50", "--format", "json")
    assert run.code == ExitCode.PROPERTY_FAILED, run.out
    (result,) = run.json()["results"]
    assert result["counterexample"]["ship_from"] == "NZ"  # only the ruleset's `scope:` says to try NZ
    proved = cli("prove", str(root), "--format", "json").json()["results"][0]
    assert proved["status"] == "refuted" and proved["counterexample"]["ship_from"] == "NZ"


def test_coverage_lists_rules_never_cited(cli: Callable[..., Run]) -> None:
    run = cli("test", "--only", "tpp-4800-is-3a090a", "--max-examples", "20", "--coverage", "--format", "json")
    assert run.code == ExitCode.OK
    cov = run.json()["coverage"]
    assert "us-ear/advanced-computing::3A090.a" in cov["fired"]
    never = {n["rule"]: n["source"] for n in cov["never"]}
    assert "cn/import-measures::cn-antimony" in never and never["cn/import-measures::cn-antimony"].endswith(":5")
    assert 0 < cov["percent"] < 100


def test_diff_generate_draws_from_the_changed_rules(cli: Callable[..., Run]) -> None:
    """The April 2024 amendment flips computers with TPP in [2400, 4800) (see the exact diff above); generation
    from the changed rules' own thresholds and values finds such orders, which generic generation did not."""
    run = cli("diff", "us-ear/advanced-computing@2023-11-17", "us-ear/advanced-computing@2024-04-04",
              "--generate", "200", "--format", "json")
    assert run.code == 0
    report = run.json()
    assert report["transactions"] == 200 and len(report["flips"]) > 0
    base = exportrules.load()
    before = exportrules.Engine(base.catalog.pinned("us-ear/advanced-computing@2023-11-17"))
    after = exportrules.Engine(base.catalog.pinned("us-ear/advanced-computing@2024-04-04"))
    for f in report["flips"][:5]:
        assert before.judge(f["transaction"], as_of="2024-04-04").outcome.value == f["old"]["outcome"]
        assert after.judge(f["transaction"], as_of="2024-04-04").outcome.value == f["new"]["outcome"]
