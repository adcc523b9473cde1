"""Alternative backends behind the :class:`~exportrules.Engine` interface.

``exportrules.load(backend="durable")`` gives an :class:`~exportrules.Engine` whose matcher is
:class:`exportrules.backends.durable.DurableMatcher`, which answers conditions with durable_rules.
It is imported only when asked for.
"""

__all__: list[str] = []


def __dir__() -> list[str]:
    return list(__all__)
