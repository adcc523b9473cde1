"""The exceptions exportrules raises; each carries its diagnostics."""

from __future__ import annotations

from collections.abc import Iterable

from .diagnostics import Diagnostic

__all__ = [
    "BackendUnavailable",
    "ExportRulesError",
    "LedgerError",
    "RulesetInvalid",
    "TransactionInvalid",
]


class ExportRulesError(Exception):
    """Base class of every error exportrules raises on purpose."""

    def __init__(self, diagnostics: Iterable[Diagnostic], summary: str = "") -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        self.summary = summary
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.diagnostics)
        head = self.summary or (f"{n} error occurred" if n == 1 else f"{n} errors occurred")
        return "\n".join([head + ":", *(f"  {d}" for d in self.diagnostics)])


class RulesetInvalid(ExportRulesError, ValueError):
    """One or more ruleset files could not be loaded, parsed or validated."""


class TransactionInvalid(ExportRulesError, ValueError):
    """A transaction is malformed; the diagnostics name the fields."""


class LedgerError(ExportRulesError, OSError):
    """The ledger cannot be read or written (locked, read-only, corrupt, disk full); nothing was recorded."""


class BackendUnavailable(ExportRulesError, RuntimeError):
    """The requested backend cannot be used here (for example, durable_rules is not installed)."""


def __dir__() -> list[str]:
    return list(__all__)
