"""YAML text to plain data plus a source map.

The loader knows nothing of the ruleset schema. It reads YAML safely and
strictly:

* only ``true`` and ``false`` are booleans, so ``NO`` stays Norway;
* only safe tags; a custom tag is an error, not an object;
* files above :data:`MAX_FILE_BYTES` and documents that expand past
  :data:`MAX_NODES` nodes (alias bombs) are refused;
* duplicate mapping keys are an error instead of a silent overwrite;
* every node's span is recorded so later stages can point at file:line:col.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnostic
from .source import Path_, SourceMap, Span

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_ALIASES",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "Document",
    "LoadFailure",
    "iter_ruleset_files",
    "load_path",
    "load_text",
]

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest ruleset file read, in bytes."""
MAX_NODES = 200_000
"""Most YAML nodes a document may expand to, counting alias expansion."""
MAX_ALIASES = 100
MAX_DEPTH = 64
"""Deeper nesting is refused (with its location) before anything recurses over it."""
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2200, 12, 31)
"""Dates outside this range are refused: they are typing slips, and far-future dates break date arithmetic."""
"""Most alias references in one document."""

_BOOL = "tag:yaml.org,2002:bool"
_SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


# libyaml's parser when PyYAML was built with it (about ten times faster); the pure-Python one otherwise.
_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_Base):  # type: ignore[misc]
    """A safe loader whose only booleans are ``true`` and ``false``."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|false)$"), list("tf"))


class _ScalarLoader(yaml.SafeLoader):
    """Pure-Python constructor for single scalars (no parsing), with the same strict booleans."""


_ScalarLoader.yaml_implicit_resolvers = _StrictLoader.yaml_implicit_resolvers

_DATE_RX = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Document:
    """Plain data read from one YAML file, with its source map and text."""

    data: Any
    source_map: SourceMap
    name: str
    text: str


class LoadFailure(Exception):
    """The YAML could not be read; ``diagnostics`` says where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("; ".join(str(d) for d in diagnostics))


class _Walker:
    def __init__(self, name: str, lines: list[str]) -> None:
        self.name = name
        self.lines = lines
        self.values: dict[Path_, Span] = {}
        self.keys: dict[Path_, Span] = {}
        self.problems: list[Diagnostic] = []
        self.count = 0
        self.aliases = 0
        self.anchors_seen: set[int] = set()

    def span(self, node: yaml.Node) -> Span:
        start, end = node.start_mark, node.end_mark
        text = self.lines[start.line] if start.line < len(self.lines) else ""
        return Span(self.name, start.line + 1, start.column + 1, end.line + 1, end.column + 1, text)

    def walk(self, node: yaml.Node, path: Path_) -> Any:
        if len(path) > MAX_DEPTH:
            raise LoadFailure([Diagnostic("nesting-limit", f"nested more than {MAX_DEPTH} levels deep",
                                          self.span(node), path=_dotted(path))])
        self.count += 1
        if self.count > MAX_NODES:
            raise LoadFailure(
                [Diagnostic("alias-limit", f"document expands past {MAX_NODES} nodes", self.span(node))]
            )
        if id(node) in self.anchors_seen and not isinstance(node, yaml.ScalarNode):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise LoadFailure(
                    [Diagnostic("alias-limit", f"more than {MAX_ALIASES} alias references", self.span(node))]
                )
        if not isinstance(node, yaml.ScalarNode):
            self.anchors_seen.add(id(node))
        self.values.setdefault(path, self.span(node))
        if node.tag not in _SAFE_TAGS:
            self.problems.append(
                Diagnostic("yaml-syntax", f"tag `{node.tag}` is not allowed", self.span(node), path=_dotted(path))
            )
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    self.problems.append(
                        Diagnostic("yaml-syntax", "mapping keys must be plain scalars", self.span(key_node))
                    )
                    continue
                key = str(key) if not isinstance(key, str) else key
                child = (*path, key)
                if key in out:
                    self.problems.append(
                        Diagnostic(
                            "duplicate-key", f"key `{key}` appears twice in one mapping", self.span(key_node),
                            path=_dotted(child),
                        )
                    )
                    continue
                self.keys[child] = self.span(key_node)
                out[key] = self.walk(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node, path)

    def scalar(self, node: yaml.ScalarNode, path: Path_ | None = None) -> Any:
        tag, value = node.tag, node.value
        if tag == "tag:yaml.org,2002:timestamp":
            m = _DATE_RX.match(value)
            if m is None:
                return value  # a timestamp with a time part stays text; fields decide
            try:
                day = dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                day = None
            if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
                self.problems.append(
                    Diagnostic("invalid-date", f"`{value}` is outside {EARLIEST_DATE}..{LATEST_DATE}",
                               self.span(node), path=_dotted(path or ()))
                )
                return value
            if day is not None:
                return day
            self.problems.append(
                Diagnostic("invalid-date", f"`{value}` is not a calendar date", self.span(node),
                           path=_dotted(path or ()))
            )
            return value
        if tag == "tag:yaml.org,2002:str":
            return value
        loader = _ScalarLoader("")
        try:
            return loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError) as exc:
            self.problems.append(Diagnostic("yaml-syntax", f"bad scalar `{value}`: {exc}", self.span(node)))
            return value
        finally:
            loader.dispose()


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def load_text(text: str, *, name: str = "<text>") -> Document:
    """Read one YAML document from *text*.

    Raises:
        LoadFailure: on a YAML syntax error, a disallowed tag, a duplicate key,
            an impossible date or a document past the size limits.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise LoadFailure(
            [Diagnostic("file-too-large", f"file is larger than {MAX_FILE_BYTES} bytes", Span(name, 1, 1, 1, 1))]
        )
    lines = text.splitlines()
    try:
        node = yaml.compose(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line if mark else 0
        col = mark.column if mark else 0
        line_text = lines[line] if line < len(lines) else ""
        msg = (exc.problem or "invalid YAML").strip()
        if exc.context:
            msg = f"{exc.context.strip()}: {msg}"
        raise LoadFailure(
            [Diagnostic("yaml-syntax", msg, Span(name, line + 1, col + 1, line + 1, col + 2, line_text))]
        ) from None
    except yaml.YAMLError as exc:
        raise LoadFailure([Diagnostic("yaml-syntax", str(exc).splitlines()[0], Span(name, 1, 1, 1, 1))]) from None
    walker = _Walker(name, lines)
    data = None if node is None else walker.walk(node, ())
    if walker.problems:
        raise LoadFailure(walker.problems)
    return Document(data, SourceMap(name, walker.values, walker.keys), name, text)


def load_path(path: Path, *, name: str | None = None) -> Document:
    """Read one YAML file; *name* is how diagnostics refer to it."""
    shown = name or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoadFailure(
                [Diagnostic("file-too-large", f"file is larger than {MAX_FILE_BYTES} bytes",
                            Span(shown, 1, 1, 1, 1))]
            )
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadFailure([Diagnostic("yaml-syntax", f"file is not UTF-8: {exc.reason}", Span(shown, 1, 1, 1, 1))]) \
            from None
    except OSError as exc:
        raise LoadFailure([Diagnostic("yaml-syntax", f"cannot read file: {exc.strerror}", Span(shown, 1, 1, 1, 1))]) \
            from None
    return load_text(text, name=shown)


def iter_ruleset_files(root: Path) -> Iterator[Path]:
    """Every ``*.yaml`` / ``*.yml`` ruleset file under *root*, in sorted order.

    Files whose name starts with ``_`` or ``.`` and JSON schema files are skipped.
    """
    for path in sorted(root.rglob("*")):
        if path.suffix not in {".yaml", ".yml"} or not path.is_file():
            continue
        if any(part.startswith((".", "_")) for part in path.relative_to(root).parts):
            continue
        yield path


def __dir__() -> list[str]:
    return list(__all__)
