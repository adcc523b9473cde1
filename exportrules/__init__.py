"""exportrules: judge AI-chip shipments against versioned export-control rulesets.

>>> import exportrules
>>> engine = exportrules.load()                       # the bundled rulesets
>>> verdict = engine.judge({"date": "2024-06-01", "item": "nvidia-h100-sxm",
...                         "destination": "CN", "buyer": {"name": "Acme", "country": "CN"}})
>>> verdict.outcome
<Outcome.BLOCKED: 'blocked'>

Importing the package does no work: rulesets are read by :func:`load`.
"""

from .catalog import Catalog, RulesetVersion, bundled_rulesets_dir, load_catalog
from .diagnostics import Diagnostic, Severity, ValidationResult
from .engine import Engine, load
from .errors import BackendUnavailable, ExportRulesError, RulesetInvalid, TransactionInvalid
from .transaction import ItemSpec, Owner, Party, Transaction, parse_transaction
from .verdict import Action, Outcome, Reason, RulesetUsed, Verdict

__version__ = "0.1.0"

__all__ = [
    "Action",
    "BackendUnavailable",
    "Catalog",
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


def __dir__() -> list[str]:
    return [*__all__, "__version__"]
