"""Presentation: diagnostics in caret style, verdicts as text, JSON for scripts.

Nothing here computes a verdict or a diagnostic; it only draws them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .diagnostics import Diagnostic
from .verdict import Outcome, Verdict

__all__ = ["diagnostics_json", "render_diagnostic", "render_diagnostics", "render_verdict"]


def render_diagnostic(d: Diagnostic) -> str:
    """One diagnostic with its source line and a caret under the offending node::

        error[unknown-group]: unknown group `D:9`
          --> rulesets/us-ear/x.yaml:12:33
           |
        12 |     when: {destination: {in: [D:9]}}
           |                               ^^^
           = help: did you mean `D:5`?
    """
    lines = [f"{d.severity.value}[{d.code}]: {d.message}"]
    span = d.span
    if span is not None:
        gutter = " " * len(str(span.line))
        lines.append(f"{gutter}--> {span}")
        if span.line_text:
            rest = len(span.line_text) - span.column + 1
            width = (span.end_column - span.column) if span.end_line == span.line else rest
            width = max(1, min(width, max(1, len(span.line_text) - span.column + 1)))
            lines.append(f"{gutter} |")
            lines.append(f"{span.line} | {span.line_text}")
            lines.append(f"{gutter} | {' ' * (span.column - 1)}{'^' * width}")
    elif d.path:
        lines.append(f"  --> {d.path}")
    if d.help:
        lines.append(f"{' ' * (len(str(span.line)) if span else 1)} = help: {d.help}")
    return "\n".join(lines)


def render_diagnostics(found: Iterable[Diagnostic]) -> str:
    """Every diagnostic, blank-line separated, with a count at the end."""
    found = list(found)
    errors = sum(1 for d in found if d.severity.value == "error")
    warnings = len(found) - errors
    body = "\n\n".join(render_diagnostic(d) for d in found)
    tail = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
    return f"{body}\n\n{tail}" if body else tail


def diagnostics_json(found: Iterable[Diagnostic]) -> str:
    """Diagnostics as a JSON array."""
    return json.dumps([d.to_dict() for d in found], indent=2, ensure_ascii=False)


_STYLE = {Outcome.PERMITTED: "bold green", Outcome.FLAGGED: "bold yellow", Outcome.BLOCKED: "bold red"}


def render_verdict(v: Verdict) -> Any:
    """A rich renderable: one line per jurisdiction, the overall outcome, reasons and actions."""
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = []
    head = Text()
    head.append(f"{v.transaction_id or 'transaction'} ", style="bold")
    head.append(f"as of {v.as_of.isoformat()}")
    if v.classifications:
        head.append(f"  classes: {', '.join(v.classifications)}")
    parts.append(head)
    for jurisdiction, outcome in sorted(v.jurisdictions.items()):
        line = Text(f"  {jurisdiction:<6} ")
        line.append(outcome.value, style=_STYLE[outcome])
        parts.append(line)
    overall = Text("  overall ")
    overall.append(v.outcome.value, style=_STYLE[v.outcome])
    parts.append(overall)
    parts.append(Text(f"  coverage {v.coverage.statement(v.as_of)}", style="dim"))
    for r in v.reasons:
        line = Text("  ")
        if r.effect is None:
            line.append(f"{'info':<9}", style="dim")
        else:
            line.append(f"{r.effect.value:<9}", style=_STYLE[r.effect])
        line.append(r.rule, style="bold")
        if r.ruleset:
            line.append(f"  ({r.jurisdiction} {r.ruleset}@{r.version})", style="dim")
        if r.uncertain:
            line.append("  [uncertain]", style="magenta")
        parts.append(line)
        if r.message:
            parts.append(Text(f"{'':11}{r.message}"))
        if r.facts:
            parts.append(Text(f"{'':11}facts: {'; '.join(r.facts)}"))
        if r.citation or r.source:
            parts.append(Text(f"{'':11}{r.citation} -- {r.source}", style="dim"))
    for a in v.actions:
        parts.append(Text(f"  -> {a.kind}: {a.detail} ({a.rule})", style="cyan"))
    return Group(*parts)


def __dir__() -> list[str]:
    return list(__all__)
