"""The loader: strict YAML, safe tags, limits, and spans."""

from __future__ import annotations

import datetime as dt

import pytest

from exportrules.loader import MAX_FILE_BYTES, LoadFailure, load_text


def test_norway_stays_a_country_code_and_only_true_false_are_booleans() -> None:
    doc = load_text("codes: [NO, no, yes, off, 'on']\nflag: true\nother: false\n", name="t.yaml")
    assert doc.data["codes"] == ["NO", "no", "yes", "off", "on"]
    assert doc.data["flag"] is True
    assert doc.data["other"] is False


def test_dates_become_dates_and_impossible_dates_are_errors() -> None:
    assert load_text("d: 2023-11-17\n").data["d"] == dt.date(2023, 11, 17)
    with pytest.raises(LoadFailure) as exc:
        load_text("d: 2023-02-30\n", name="x.yaml")
    (diag,) = exc.value.diagnostics
    assert diag.code == "invalid-date"
    assert (diag.span.file, diag.span.line, diag.span.column) == ("x.yaml", 1, 4)


def test_spans_point_at_values_and_keys() -> None:
    doc = load_text("a:\n  - id: x\n    when: {destination: CN}\n", name="s.yaml")
    value = doc.source_map.span_for(("a", 0, "when", "destination"))
    key = doc.source_map.span_for(("a", 0, "when"), key=True)
    assert (value.line, value.column) == (3, 25)
    assert (key.line, key.column) == (3, 5)
    # a missing path walks up to its nearest recorded parent
    assert doc.source_map.span_for(("a", 0, "nope")).line == 2


def test_custom_tags_are_refused() -> None:
    with pytest.raises(LoadFailure) as exc:
        load_text("x: !!python/object:os.system echo\n")
    assert exc.value.diagnostics[0].code == "yaml-syntax"


def test_duplicate_keys_are_an_error_not_an_overwrite() -> None:
    with pytest.raises(LoadFailure) as exc:
        load_text("a: 1\nb: 2\na: 3\n", name="d.yaml")
    (diag,) = exc.value.diagnostics
    assert diag.code == "duplicate-key"
    assert diag.span.line == 3


def test_alias_bombs_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    prev = "a"
    for i in range(9):
        name = f"l{i}"
        bomb += f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        prev = name
    with pytest.raises(LoadFailure) as exc:
        load_text(bomb)
    assert exc.value.diagnostics[0].code == "alias-limit"


def test_oversized_files_are_refused() -> None:
    with pytest.raises(LoadFailure) as exc:
        load_text("x: " + "a" * (MAX_FILE_BYTES + 1))
    assert exc.value.diagnostics[0].code == "file-too-large"
