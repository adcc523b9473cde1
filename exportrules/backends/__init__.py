"""Alternative backends behind the :class:`~exportrules.Engine` interface.

``exportrules.load(backend="durable")`` gives :class:`exportrules.backends.durable.DurableEngine`,
which matches conditions with durable_rules (install the ``durable`` extra). It is imported
only when asked for.
"""

__all__: list[str] = []


def __dir__() -> list[str]:
    return list(__all__)
