"""pytest plugin: ``pytest --exportrules-rulesets DIR`` collects each ruleset property as a test item.

Registered through the ``pytest11`` entry point, so every pytest run imports it: it
imports nothing of exportrules until the option is given. ``--exportrules-max-examples`` sets the Hypothesis budget.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

__all__ = ["PropertyItem", "pytest_addoption", "pytest_collection_modifyitems"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("exportrules")
    group.addoption("--exportrules-rulesets", action="store", default=None, metavar="DIR",
                    help="collect the properties of the rulesets under DIR as test items")
    group.addoption("--exportrules-max-examples", action="store", type=int, default=100,
                    help="Hypothesis examples per ruleset property (default 100)")
    group.addoption("--exportrules-prove", action="store_true", default=False,
                    help="decide each property with the SMT solver (`exportrules prove`) instead of sampling")


class PropertyItem(pytest.Item):
    """One ruleset property."""

    def __init__(self, *, ruleset: str, prop_id: str, engine: Any, max_examples: int, prove: bool = False,
                 root: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ruleset, self.prop_id, self.engine, self.max_examples = ruleset, prop_id, engine, max_examples
        self.prove, self.root = prove, root

    def runtest(self) -> None:
        from .testing.properties import check_properties

        if self.prove:
            from .prove import prove_properties

            (proof,) = prove_properties(self.engine, only=lambda r, p: (r, p) == (self.ruleset, self.prop_id))
            if not proof.passed:
                raise PropertyFailed(proof)
            return

        (result,) = check_properties(self.engine, max_examples=self.max_examples,
                                     only=lambda r, p: (r, p) == (self.ruleset, self.prop_id))
        if not result.passed:
            raise PropertyFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, PropertyFailed):
            r = excinfo.value.result
            lines = [f"property `{r.property}` of `{r.ruleset}` ({r.source}) failed: {r.message}"]
            if r.counterexample is not None:
                lines += ["counterexample (exportrules judge reproduces it):", json.dumps(r.counterexample)]
                as_of = f" --as-of {r.as_of}" if getattr(r, "as_of", None) else ""
                lines += [f"reproduce: echo '{json.dumps(r.counterexample)}' | exportrules judge -r {self.root}"
                          f"{as_of} -"]
            if isinstance(r.verdict, dict):
                lines += [f"verdict: {r.verdict['outcome']}"]
            elif r.verdict is not None:
                lines += [f"verdict: {r.verdict.outcome.value} citing {', '.join(r.verdict.reason_ids()) or 'nothing'}"]
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"property {self.ruleset}::{self.prop_id}"


class PropertyFailed(Exception):
    """A property found a counterexample."""

    def __init__(self, result: Any) -> None:
        super().__init__(result.message)
        self.result = result


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.getoption("--exportrules-rulesets")
    if not root:
        return
    import exportrules

    from .testing.properties import iter_properties

    engine = exportrules.load(root)
    budget = config.getoption("--exportrules-max-examples")
    prove = bool(config.getoption("--exportrules-prove"))
    for ruleset, prop, _start, _end, _source in iter_properties(engine):
        items.append(PropertyItem.from_parent(session, name=f"{ruleset}::{prop.id}", ruleset=ruleset,
                                              prop_id=prop.id, engine=engine, max_examples=budget, prove=prove,
                                              root=str(root)))


def __dir__() -> list[str]:
    return list(__all__)
