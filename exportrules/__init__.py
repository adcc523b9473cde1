"""exportrules: judge AI-chip shipments against versioned export-control rulesets.

>>> import exportrules
>>> engine = exportrules.load()                       # the bundled rulesets
>>> verdict = engine.judge({"date": "2024-06-01", "item": "nvidia-h100-sxm",
...                         "destination": "CN", "buyer": {"name": "Acme", "country": "CN"}})
>>> verdict.outcome
<Outcome.BLOCKED: 'blocked'>

Importing the package does no work: rulesets are read by :func:`load`, and the
modules behind the public names are imported on first use. That keeps
``import exportrules`` (and the pytest plugin every pytest run loads) cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .catalog import Catalog, RulesetVersion, bundled_rulesets_dir, load_catalog
    from .diagnostics import Diagnostic, Severity, ValidationResult
    from .engine import Engine, load
    from .errors import BackendUnavailable, ExportRulesError, RulesetInvalid, TransactionInvalid
    from .transaction import ItemSpec, Owner, Party, Transaction, parse_transaction
    from .verdict import Action, Coverage, Outcome, Reason, RulesetUsed, Verdict

__version__ = "0.1.0"

_WHERE = {
    "Catalog": "catalog", "RulesetVersion": "catalog", "bundled_rulesets_dir": "catalog", "load_catalog": "catalog",
    "Diagnostic": "diagnostics", "Severity": "diagnostics", "ValidationResult": "diagnostics",
    "Engine": "engine", "load": "engine",
    "BackendUnavailable": "errors", "ExportRulesError": "errors", "RulesetInvalid": "errors",
    "TransactionInvalid": "errors",
    "ItemSpec": "transaction", "Owner": "transaction", "Party": "transaction", "Transaction": "transaction",
    "parse_transaction": "transaction",
    "Action": "verdict", "Coverage": "verdict", "Outcome": "verdict", "Reason": "verdict", "RulesetUsed": "verdict",
    "Verdict": "verdict",
}

__all__ = [
    "Action",
    "BackendUnavailable",
    "Catalog",
    "Coverage",
    "Diagnostic",
    "Engine",
    "ExportRulesError",
    "ItemSpec",
    "Outcome",
    "Owner",
    "Party",
    "Reason",
    "RulesetInvalid",
    "RulesetUsed",
    "RulesetVersion",
    "Severity",
    "Transaction",
    "TransactionInvalid",
    "ValidationResult",
    "Verdict",
    "bundled_rulesets_dir",
    "load",
    "load_catalog",
    "parse_transaction",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'exportrules' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
