"""The public API surface and the committed JSON Schema."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Callable

import exportrules
from exportrules.cli import ruleset_json_schema

from .conftest import ROOT, Run

PUBLIC_MODULES = [
    "exportrules.catalog", "exportrules.cli", "exportrules.compiler", "exportrules.conditions",
    "exportrules.diagnostics", "exportrules.engine", "exportrules.errors", "exportrules.loader",
    "exportrules.model", "exportrules.render", "exportrules.screening", "exportrules.source",
    "exportrules.transaction", "exportrules.validator", "exportrules.verdict", "exportrules.corpus",
    "exportrules.backends", "exportrules.backends.durable", "exportrules.testing.strategies", "exportrules.diff",
    "exportrules.monitor",
    "exportrules.testing.properties",
]


def test_every_name_in_all_is_importable_and_public() -> None:
    for name in exportrules.__all__:
        obj = getattr(exportrules, name)
        module = getattr(obj, "__module__", "exportrules")
        assert not any(part.startswith("_") for part in module.split(".")), (name, module)
    assert len(exportrules.__all__) <= 25
    assert {"load", "Engine", "Transaction", "Verdict", "Outcome", "RulesetInvalid", "TransactionInvalid"} <= set(
        exportrules.__all__)


def test_every_public_module_has_all_and_dir() -> None:
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        assert hasattr(module, "__all__"), name
        assert sorted(module.__dir__()) == sorted(module.__all__), name
        for item in module.__all__:
            assert hasattr(module, item), (name, item)


def test_outcomes_are_the_three_of_the_contract() -> None:
    assert [o.value for o in exportrules.Outcome] == ["permitted", "flagged", "blocked"]
    assert exportrules.Outcome.strictest([exportrules.Outcome.FLAGGED, exportrules.Outcome.BLOCKED]).value == \
        "blocked"


def test_importing_does_not_import_hypothesis_or_read_rulesets() -> None:
    code = ("import sys, exportrules; "
            "print('hypothesis' in sys.modules, 'exportrules.compiler' in sys.modules, 'pycountry' in sys.modules, "
            "'pydantic' in sys.modules); exportrules.load; print('exportrules.engine' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False", "False", "True"]


def test_the_pytest_plugin_is_cheap_to_import() -> None:
    code = "import sys, exportrules.pytest_plugin; print(sorted(m for m in sys.modules if m.startswith('exportrules')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['exportrules', 'exportrules.pytest_plugin']"


def test_committed_schema_is_current(cli: Callable[..., Run]) -> None:
    committed = json.loads((ROOT / "rulesets" / "schema.json").read_text(encoding="utf-8"))
    assert committed == ruleset_json_schema(), "run `exportrules schema > rulesets/schema.json`"
    run = cli("schema")
    assert json.loads(run.out) == committed
    props = committed["properties"]
    assert props["effective"]["description"].startswith("In force from this date")
    assert "controls" in props and "additionalProperties" in committed and committed["additionalProperties"] is False


def test_the_console_script_runs_from_any_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    example = ROOT / "examples" / "h100-to-germany.json"
    proc = subprocess.run([sys.executable, "-m", "exportrules", "judge", str(example), "--format", "json"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"] == "permitted"
