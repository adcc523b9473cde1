"""The durable_rules backend gives byte-identical verdicts to the native engine."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings

import exportrules
from exportrules import BackendUnavailable
from exportrules.testing import from_engine

NATIVE = exportrules.load()
DURABLE = exportrules.load(backend="durable")


@settings(max_examples=300)
@given(from_engine(NATIVE))
def test_durable_and_native_verdicts_are_identical(tx: dict[str, Any]) -> None:
    assert DURABLE.judge(tx).to_json() == NATIVE.judge(tx).to_json()


@settings(max_examples=100)
@given(from_engine(NATIVE))
def test_durable_as_of_and_timeline_agree(tx: dict[str, Any]) -> None:
    assert DURABLE.judge(tx, as_of="2026-02-01").to_json() == NATIVE.judge(tx, as_of="2026-02-01").to_json()


def test_many_judgments_do_not_exhaust_durable_sessions() -> None:
    tx = {"date": "2024-06-01", "item": "nvidia-h100-sxm", "destination": "CN", "buyer": {"name": "B", "country": "CN"}}
    verdicts = list(DURABLE.judge_many({**tx, "id": f"t{i}", "quantity": i + 1} for i in range(2500)))
    assert {v.outcome for v in verdicts} == {exportrules.Outcome.BLOCKED}
    assert DURABLE.backend == "durable"


def test_missing_durable_rules_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import exportrules.backends.durable as backend

    monkeypatch.setattr(backend, "_dengine", None)
    with pytest.raises(BackendUnavailable, match="pip install 'exportrules\\[durable\\]'"):
        exportrules.load(backend="durable")


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backend"):
        exportrules.load(backend="rete")  # type: ignore[arg-type]
