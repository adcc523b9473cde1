"""What is wrong with a ruleset or a transaction, as data.

Diagnostics are small frozen values with a stable kebab-case code. Nothing here
raises or formats for a terminal; :mod:`exportrules.render` does the drawing.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Literal

from .source import Span

__all__ = [
    "DIAGNOSTIC_CODES",
    "Diagnostic",
    "DiagnosticCode",
    "Severity",
    "ValidationResult",
    "did_you_mean",
]

DiagnosticCode = Literal[
    "yaml-syntax",
    "file-too-large",
    "alias-limit",
    "duplicate-key",
    "unknown-field",
    "missing-field",
    "invalid-value",
    "invalid-date",
    "invalid-country",
    "invalid-condition",
    "unknown-group",
    "unknown-class",
    "unknown-control",
    "unknown-ruleset",
    "unknown-item",
    "duplicate-id",
    "duplicate-version",
    "version-order",
    "unknown-amended-version",
    "empty-group",
    "contradictory-threshold",
    "never-fires",
    "shadowed-rule",
    "invalid-transaction",
    "ledger-failure",
    "ledger-conflict",
    "nesting-limit",
    "path-mismatch",
    "outside-directory",
]
"""Every code a diagnostic can carry; listed with explanations in ``docs/diagnostics.md``."""

DIAGNOSTIC_CODES: tuple[str, ...] = DiagnosticCode.__args__  # type: ignore[attr-defined]


class Severity(str, Enum):
    """How bad a diagnostic is: errors stop loading, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, with where it is and, when one fits, a hint."""

    code: DiagnosticCode
    message: str
    span: Span | None = None
    severity: Severity = Severity.ERROR
    help: str | None = None
    path: str = ""
    """Dotted data path of the offending node, e.g. ``controls.0.when``."""

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-ready form."""
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
        }
        if self.span is not None:
            out["file"] = self.span.file
            out["line"] = self.span.line
            out["column"] = self.span.column
        if self.path:
            out["path"] = self.path
        if self.help:
            out["help"] = self.help
        return out

    def __str__(self) -> str:
        where = f"{self.span}: " if self.span is not None else ""
        return f"{where}{self.severity.value}[{self.code}]: {self.message}"


def _sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    if d.span is None:
        return ("", 0, 0, d.code)
    return (d.span.file, d.span.line, d.span.column, d.code)


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Every diagnostic found, split into errors and warnings, sorted by place."""

    errors: tuple[Diagnostic, ...] = ()
    warnings: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings do not count)."""
        return not self.errors

    @property
    def all(self) -> tuple[Diagnostic, ...]:
        """Errors then warnings."""
        return self.errors + self.warnings

    @classmethod
    def from_diagnostics(cls, found: Iterable[Diagnostic]) -> ValidationResult:
        """Split and sort, dropping exact duplicates."""
        unique = sorted(set(found), key=_sort_key)
        return cls(
            errors=tuple(d for d in unique if d.severity is Severity.ERROR),
            warnings=tuple(d for d in unique if d.severity is Severity.WARNING),
        )

    def merged(self, other: ValidationResult) -> ValidationResult:
        """Both results together."""
        return ValidationResult.from_diagnostics(self.all + other.all)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A ``help`` text naming the closest choice, or None when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def __dir__() -> list[str]:
    return list(__all__)
