"""Property-based testing of export-control rulesets with Hypothesis.

    from hypothesis import given
    import exportrules
    from exportrules.testing import from_engine

    engine = exportrules.load()

    @given(from_engine(engine))
    def test_nothing_listed_is_permitted(tx):
        ...

``check_properties(engine)`` runs the ``properties:`` written in the rulesets;
the pytest plugin (``pytest --exportrules-rulesets DIR``) collects each one as a
test item. Importing :mod:`exportrules` does not import Hypothesis; this module does.
"""

from .properties import PropertyResult, check_properties, iter_properties
from .strategies import chips, countries, dates, from_engine, parties, transactions

__all__ = [
    "PropertyResult",
    "check_properties",
    "chips",
    "countries",
    "dates",
    "from_engine",
    "iter_properties",
    "parties",
    "transactions",
]


def _check_exports(public: set[str]) -> None:
    assert set(__all__) == public, (set(__all__) - public, public - set(__all__))


_check_exports({n for n in dir() if n[0] not in "_@" and n not in {"properties", "strategies"}})


def __dir__() -> list[str]:
    return list(__all__)
