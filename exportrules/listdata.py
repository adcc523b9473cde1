"""Restricted-party lists kept as data beside a ruleset: JSON Lines, one entry a line.

A ruleset names its list files in ``parties_from`` (paths relative to the ruleset
file, inside the ruleset directory). Each line is one party entry with the same keys
as a ``parties:`` entry in YAML (``id``, ``names``, ``aliases``, ``country``,
``listed``, ``until``, ``effect``, ``review_policy``, ``list``, ``citation`` …).
Lines are validated one by one with the same model, so a bad line is reported at
``file:line`` naming the field, and a list of 100,000 entries loads in well under
the time the YAML parser would take (YAML files are also capped in size).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .diagnostics import Diagnostic
from .model import Party
from .source import SourceMap, Span

__all__ = ["MAX_LIST_BYTES", "read_parties"]

MAX_LIST_BYTES = 512 * 1024 * 1024
"""A list file larger than this is refused."""

_PARTY = TypeAdapter(Party)
_PARTIES = TypeAdapter(list[Party])


def read_parties(ref: str, *, base: Path, root: Path, name: str) \
        -> tuple[list[Party], SourceMap | None, list[Diagnostic], str]:
    """The party entries of the list file *ref* (relative to *base*), with a source map that gives each
    entry's line (data path ``("parties", k)`` for the k-th entry read), every problem found, and the
    sha256 of the file's entries.

    Args:
        ref: the path as the ruleset writes it.
        base: the directory of the ruleset file.
        root: the ruleset directory; a list file must resolve inside it.
        name: how the file is named in diagnostics.
    """
    path = (base / ref)
    shown = f"{name.rsplit('/', 1)[0]}/{ref}" if "/" in name else ref
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return [], None, [Diagnostic("invalid-value", f"`parties_from`: no list file `{ref}` beside {name}")], ""
    if not resolved.is_relative_to(root.resolve()):
        return [], None, [Diagnostic("outside-directory", f"`parties_from`: `{ref}` lies outside the ruleset "
                                     "directory")], ""
    if resolved.stat().st_size > MAX_LIST_BYTES:
        return [], None, [Diagnostic("file-too-large", f"{shown} is larger than {MAX_LIST_BYTES} bytes")], ""
    with resolved.open("rb") as fh:
        lines = [(number, raw) for number, raw in enumerate(fh, start=1) if raw.strip()]
    digest = hashlib.sha256(b"".join(raw for _, raw in lines)).hexdigest()
    try:  # one call for the whole file when every line is good (the common case)
        parties = _PARTIES.validate_json(b"[" + b",".join(raw for _, raw in lines) + b"]")
        return parties, SourceMap(shown, _LineSpans(shown, lines), {}), [], digest  # type: ignore[arg-type]
    except ValidationError:
        pass
    spans = _LineSpans(shown, lines)
    parties = []
    problems: list[Diagnostic] = []
    values: dict[tuple[Any, ...], Span] = {}
    for k, (_number, raw) in enumerate(lines):
        span = spans[("parties", k)]
        try:
            party = _PARTY.validate_json(raw)
        except ValidationError as exc:
            for err in exc.errors()[:5]:
                field = ".".join(str(p) for p in err["loc"]) or "(line)"
                problems.append(Diagnostic("invalid-value", f"`{field}`: {err['msg']}", span, path=field))
            continue
        values[("parties", len(parties))] = span
        parties.append(party)
    return parties, SourceMap(shown, values, {}), problems, digest


class _LineSpans(Mapping[tuple[Any, ...], Span]):
    """``("parties", k)`` -> the span of the k-th entry's line, made when asked for (lists are long)."""

    def __init__(self, file: str, lines: list[tuple[int, bytes]]) -> None:
        self._file, self._lines = file, lines

    def __getitem__(self, path: tuple[Any, ...]) -> Span:
        if len(path) != 2 or path[0] != "parties" or not isinstance(path[1], int) \
                or not 0 <= path[1] < len(self._lines):
            raise KeyError(path)
        number, raw = self._lines[path[1]]
        return Span(self._file, number, 1, number, max(1, len(raw.rstrip())))

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return (("parties", k) for k in range(len(self._lines)))

    def __len__(self) -> int:
        return len(self._lines)


def __dir__() -> list[str]:
    return list(__all__)
