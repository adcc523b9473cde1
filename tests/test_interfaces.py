"""`exportrules chips` and `exportrules schema --transaction`."""

from __future__ import annotations

from collections.abc import Callable

import exportrules

from .conftest import Run


def test_chips_lists_the_catalogue_with_class_on_a_date(cli: Callable[..., Run], engine: exportrules.Engine) -> None:
    run = cli("chips", "--on", "2024-06-01", "--format", "json")
    assert run.code == 0, run.err
    chips = {c["id"]: c for c in run.json()["chips"]}
    # The H100 SXM: TPP ~15,832 (chip catalogue: 1,978.9 dense FP8 TFLOPS x 8 bits), above the 4,800 of
    # 3A090.a (15 CFR 774, 88 FR 73458).
    assert 15830 <= chips["nvidia-h100-sxm"]["tpp"] <= 15833 and chips["nvidia-h100-sxm"]["classes"] == ["3A090.a"]
    # Before 2022-10-07 nothing was 3A090: the ECCN did not exist.
    early = {c["id"]: c for c in cli("chips", "--on", "2022-01-01", "--format", "json").json()["chips"]}
    assert early["nvidia-h100-sxm"]["classes"] == []
    assert set(chips) == set(engine.snapshot("2024-06-01").items)
    assert "nvidia-h100-sxm" in cli("chips").out
    assert cli("chips", "--on", "June").code == 3


def test_transaction_schema_is_the_model_schema(cli: Callable[..., Run]) -> None:
    schema = cli("schema", "--transaction").json()
    assert schema == exportrules.Transaction.model_json_schema()
    assert set(schema["required"]) == {"date", "item", "destination"}
    assert "military" in schema["properties"]["end_use"]["anyOf"][0]["enum"]


def test_version_flag(cli: Callable[..., Run]) -> None:
    run = cli("--version")
    assert run.code == 0 and run.out.strip() == f"exportrules {exportrules.__version__}"
