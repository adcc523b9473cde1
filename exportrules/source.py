"""Where things are: source spans and the map from data paths to spans.

This module is the leaf of the package: it imports nothing from ``exportrules``.
A :class:`Span` remembers the text of its first line so that a diagnostic can
draw its own caret long after the file was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Path_", "SourceMap", "Span"]

Path_ = tuple[str | int, ...]
"""A path into loaded data: mapping keys and list indexes, outermost first."""


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file; lines and columns are 1-based."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    line_text: str = field(default="", compare=False, repr=False)
    """The text of ``line``, kept for caret rendering; not part of equality."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Spans of every node of one loaded document, keyed by data path."""

    file: str
    values: dict[Path_, Span]
    keys: dict[Path_, Span]

    def span_for(self, path: Path_, *, key: bool = False) -> Span | None:
        """Nearest recorded span for *path*, walking up to a parent when absent.

        With ``key=True`` the span of the mapping key is preferred, which is
        where an unknown-field diagnostic should point.
        """
        if key and path in self.keys:
            return self.keys[path]
        probe = path
        while probe:
            span = self.values.get(probe)
            if span is not None:
                return span
            probe = probe[:-1]
        return self.values.get(())


def __dir__() -> list[str]:
    return list(__all__)
