"""The golden corpus: cases written from the cited facts, run against the bundled rulesets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import exportrules
from exportrules.corpus import Case, check_case, load_cases, summarize

from .conftest import ROOT, Run

CORPUS = ROOT / "tests" / "corpus"
CASES = load_cases(CORPUS)


@pytest.fixture(scope="module")
def durable_engine() -> exportrules.Engine:
    return exportrules.load(backend="durable")


@pytest.mark.parametrize("backend", ["native", "durable"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c.file.split('/', 1)[1]}:{c.line} {c.note}" for c in CASES])
def test_golden_case(case: Case, backend: str, engine: exportrules.Engine, durable_engine: exportrules.Engine) -> None:
    problems = check_case(case, engine if backend == "native" else durable_engine)
    assert not problems, f"{case.file}:{case.line} ({case.source}): " + "; ".join(problems)


def test_corpus_is_large_and_cites_sources() -> None:
    assert len(CASES) >= 200
    assert all(c.source.strip() for c in CASES)
    notes = [c.note for c in CASES]
    assert len(notes) == len(set(notes)), "case notes must be unique"


def test_report_counts_by_ruleset(cli: Callable[..., Run]) -> None:
    run = cli("corpus", str(CORPUS), "--format", "json")
    assert run.code == 0, run.err
    report = run.json()
    assert report["cases"] == len(CASES)
    assert report["by_ruleset"] == summarize(CASES)
    assert report["failed"] == 0


def test_a_wrong_expectation_fails(engine: exportrules.Engine) -> None:
    case = Case("x", "test", "f", 1, "r", {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "CN",
                "buyer": {"name": "B", "country": "CN"}}, None, {"want_outcome": "permitted"})
    assert check_case(case, engine) and "outcome blocked" in check_case(case, engine)[0]
