"""Broken rulesets: every problem reported at once, with file:line:col and a stable code."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from exportrules import RulesetInvalid, load
from exportrules.catalog import load_catalog
from exportrules.cli import ExitCode
from exportrules.diagnostics import DIAGNOSTIC_CODES

from .conftest import FIXTURES, ROOT, Run

BROKEN = FIXTURES / "broken"

CASES = [
    # fixture, code, file, line, column
    ("yaml-syntax", "yaml-syntax", "yaml-syntax/rules.yaml", 8, 37),
    ("unknown-key", "unknown-field", "unknown-key/rules.yaml", 9, 5),
    ("unknown-group", "unknown-group", "unknown-group/rules.yaml", 12, 31),
    ("duplicate-id", "duplicate-id", "duplicate-id/rules.yaml", 11, 9),
    ("countries", "invalid-country", "countries/rules.yaml", 9, 27),
    ("bad-date", "invalid-date", "bad-date/rules.yaml", 4, 12),
    ("missing-amends", "unknown-amended-version", "missing-amends/patch.yaml", 5, 9),
]


@pytest.mark.parametrize(("fixture", "code", "file", "line", "column"), CASES, ids=[c[0] for c in CASES])
def test_broken_fixture_reports_code_and_location(
    cli: Callable[..., Run], fixture: str, code: str, file: str, line: int, column: int
) -> None:
    run = cli("validate", str(BROKEN / fixture), "--format", "json")
    assert run.code == ExitCode.INVALID
    found = run.json()
    match = [d for d in found if d["code"] == code]
    assert match, found
    assert (match[0]["file"], match[0]["line"], match[0]["column"]) == (file, line, column)


def test_text_output_is_caret_style(cli: Callable[..., Run]) -> None:
    run = cli("validate", str(BROKEN / "unknown-group"))
    assert run.code == ExitCode.INVALID
    assert "error[unknown-group]: unknown group `D:6`" in run.err
    assert "--> unknown-group/rules.yaml:12:31" in run.err
    assert "                               ^^^" in run.err
    assert "help: did you mean `D:5`?" in run.err


def test_norway_is_read_as_norway(cli: Callable[..., Run]) -> None:
    run = cli("validate", str(BROKEN / "countries"), "--format", "json")
    codes = [(d["code"], d.get("line"), d.get("column")) for d in run.json()]
    # XX is the only bad code: NO parsed as the string "NO" and is a valid country
    assert codes == [("invalid-country", 9, 27)]


def test_all_problems_of_a_file_in_one_run() -> None:
    catalog, result = load_catalog(BROKEN / "many-problems")
    assert catalog is None
    codes = sorted(d.code for d in result.errors)
    assert codes == sorted([
        "invalid-country", "empty-group", "contradictory-threshold", "unknown-class", "unknown-group",
        "unknown-control",
    ])
    helps = {d.code: d.help for d in result.errors}
    assert helps["unknown-class"] == "did you mean `big`?"
    assert helps["unknown-group"] == "did you mean `D:5`?"


def test_load_raises_with_every_error() -> None:
    with pytest.raises(RulesetInvalid) as exc:
        load(BROKEN / "many-problems")
    assert len(exc.value.diagnostics) == 6
    assert str(exc.value).startswith("6 errors occurred:")


def test_unknown_key_gets_a_did_you_mean() -> None:
    _, result = load_catalog(BROKEN / "unknown-key")
    unknown = [d for d in result.errors if d.code == "unknown-field"]
    assert unknown[0].help == "did you mean `requires`?"


def test_warnings_for_shadowed_and_never_firing_rules(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "r.yaml").write_text(
        "ruleset: t/warn\njurisdiction: US\nversion: 2024-01-01\neffective: 2024-01-01\ncitation: t\n"
        "controls:\n"
        "  - {id: a, when: {destination: CN}, requires: licence, citation: t}\n"
        "  - {id: b, when: {destination: CN}, requires: licence, citation: t}\n"
        "  - {id: c, when: {destination: {in: [RU], not_in: [RU]}}, requires: licence, citation: t}\n"
        "  - {id: d, when: {destination: RU}, requires: licence, citation: t, since: 2024-05-01, until: 2024-02-01}\n"
    )
    catalog, result = load_catalog(tmp_path)
    assert catalog is not None and result.ok
    assert sorted((w.code, w.span.line) for w in result.warnings) == [
        ("never-fires", 9), ("never-fires", 10), ("shadowed-rule", 8),
    ]


def test_versions_out_of_order_and_duplicates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    head = "ruleset: t/v\njurisdiction: US\ncitation: t\n"
    (tmp_path / "a.yaml").write_text(head + "version: 2024-01-01\neffective: 2024-06-01\n")
    (tmp_path / "b.yaml").write_text(head + "version: 2024-03-01\neffective: 2024-02-01\n")
    (tmp_path / "c.yaml").write_text(head + "version: 2024-03-01\neffective: 2024-09-01\n")
    _, result = load_catalog(tmp_path)
    assert sorted(d.code for d in result.errors) == ["duplicate-version", "version-order"]


def test_bundled_rulesets_have_no_errors_and_no_warnings(cli: Callable[..., Run]) -> None:
    run = cli("validate")
    assert run.code == 0, run.err + run.out
    assert run.out.strip() == "no errors, no warnings"


def test_every_code_is_documented() -> None:
    text = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    headings = [line[4:].strip("` ") for line in text.splitlines() if line.startswith("### ")]
    assert headings == list(DIAGNOSTIC_CODES)


def test_contradictory_bounds_across_the_parts_of_an_all(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "r.yaml").write_text(
        "ruleset: t/c\njurisdiction: US\nversion: 2024-01-01\neffective: 2024-01-01\ncitation: t\n"
        "classifications:\n"
        "  - id: never\n"
        "    when: {all: [{item.tpp: {gte: 4800}}, {item.performance_density: {gte: 1}}, {item.tpp: {lt: 1600}}]}\n"
        "    citation: t\n"
        "  - id: fine\n"
        "    when: {all: [{item.tpp: {gte: 1600}}, {item.tpp: {lt: 4800}}]}\n"
        "    citation: t\n", encoding="utf-8")
    _, result = load_catalog(tmp_path)
    assert [(d.code, d.span.line) for d in result.errors] == [("contradictory-threshold", 8)]
