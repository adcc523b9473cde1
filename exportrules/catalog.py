"""Every version of every ruleset: discovered, validated, materialised, hashed.

A version is in force from its ``effective`` date until the next version's.
An amendment (``amends: <version>``) is materialised onto the version it
patches: entries whose id exists replace it, new ids are added, ``remove``
drops ids. Each materialised version gets the sha256 of its canonical JSON,
which every verdict carries.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, Severity, ValidationResult, did_you_mean
from .listdata import read_parties
from .loader import LoadFailure, iter_ruleset_files, load_path
from .model import DATED_SECTIONS, SECTIONS, Ruleset, entry_window, parse_ruleset, raw_condition_problems
from .source import Path_, SourceMap, Span
from .validator import Namespace, validate

__all__ = ["Catalog", "Origin", "RulesetVersion", "bundled_rulesets_dir", "load_catalog"]


def bundled_rulesets_dir() -> Path:
    """The rulesets shipped with the package (inside the wheel, or the source checkout's ``rulesets/``)."""
    packaged = Path(str(resources.files("exportrules"))) / "_rulesets"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "rulesets"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an entry was written: the file's source map and the entry's data path."""

    source: SourceMap
    path: Path_

    def where(self) -> str:
        """``file:line:col`` of the entry."""
        span = self.source.span_for(self.path)
        return str(span) if span else self.source.file


@dataclass(frozen=True, slots=True)
class RulesetVersion:
    """One materialised version of a ruleset."""

    id: str
    version: dt.date
    effective: dt.date
    jurisdiction: str
    citation: str
    model: Ruleset
    sha256: str
    file: str
    origins: Mapping[tuple[str, str], Origin] = field(repr=False)
    """(section, entry id) -> where the entry was written (amendments keep the base file's spans)."""
    listed: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Party id -> digest of the list file it was read from."""

    @property
    def ref(self) -> str:
        """``id@version``."""
        return f"{self.id}@{self.version.isoformat()}"

    def origin(self, section: str, entry_id: str) -> Origin | None:
        """Where an entry was written."""
        return self.origins.get((section, entry_id))


def _canonical(rs: Ruleset, listed: Mapping[str, str] | None = None) -> str:
    """The ruleset as canonical JSON. Parties read from list files (*listed*: party id -> the file's
    digest) are stood for by the files' digests and the ids kept, which is as content-addressed and
    far cheaper for long lists."""
    if not listed:
        data = rs.model_dump(mode="json", by_alias=True, exclude={"amends", "remove"})
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    inline = {i for i, p in enumerate(rs.parties) if p.id in listed}
    data = rs.model_dump(mode="json", by_alias=True, exclude={"amends": True, "remove": True, "parties": inline})
    kept = sorted(p.id for p in rs.parties if p.id in listed)
    data["parties_listed"] = {"files": sorted(set(listed.values())),
                              "ids": hashlib.sha256("\n".join(kept).encode("utf-8")).hexdigest()}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _Parsed:
    model: Ruleset
    source: SourceMap
    extra: Mapping[tuple[str, str], Origin] = field(default_factory=dict)
    """Where entries read from list files were written."""
    listed: Mapping[str, str] = field(default_factory=dict)
    """Party id -> digest of the list file it was read from."""


class Catalog:
    """All ruleset versions found under one directory."""

    def __init__(self, root: Path, versions: Mapping[str, tuple[RulesetVersion, ...]],
                 warnings: tuple[Diagnostic, ...] = ()) -> None:
        self.root = root
        self.versions: dict[str, tuple[RulesetVersion, ...]] = dict(sorted(versions.items()))
        self.warnings = warnings
        self._effective = {rid: [v.effective for v in vs] for rid, vs in self.versions.items()}

    # ---------------------------------------------------------------- queries

    def ids(self) -> list[str]:
        """Ruleset ids, sorted."""
        return list(self.versions)

    def get(self, ref: str) -> RulesetVersion:
        """A version by ``id@version`` (or the latest version for a bare id).

        Raises:
            KeyError: naming the closest known ref.
        """
        rid, _, version = ref.partition("@")
        if rid not in self.versions:
            raise KeyError(f"unknown ruleset `{rid}`" + _hint(rid, self.versions))
        if not version:
            return self.versions[rid][-1]
        for v in self.versions[rid]:
            if v.version.isoformat() == version:
                return v
        raise KeyError(f"ruleset `{rid}` has no version `{version}`")

    def in_force(self, ruleset_id: str, *, on: dt.date) -> RulesetVersion | None:
        """The version of *ruleset_id* in force on *on*, or None before its first version."""
        eff = self._effective.get(ruleset_id)
        if not eff:
            return None
        i = bisect.bisect_right(eff, on) - 1
        return self.versions[ruleset_id][i] if i >= 0 else None

    def all_in_force(self, on: dt.date) -> list[RulesetVersion]:
        """Every ruleset's version in force on *on*, sorted by id."""
        out = []
        for rid in self.versions:
            v = self.in_force(rid, on=on)
            if v is not None:
                out.append(v)
        return out

    def pinned(self, ref: str) -> Catalog:
        """A copy in which ruleset ``id`` stays at ``version`` for every later date (``id@version``).

        Raises:
            KeyError: for an unknown ruleset or version.
        """
        version = self.get(ref)
        versions = dict(self.versions)
        versions[version.id] = (version,)
        return Catalog(self.root, versions, self.warnings)

    def without(self, ruleset_id: str, section: str, entry_id: str) -> Catalog:
        """A copy with one entry removed from every version of a ruleset (for what-if analysis)."""
        versions = dict(self.versions)
        versions[ruleset_id] = tuple(
            replace(v, model=v.model.model_copy(update={
                section: [e for e in getattr(v.model, section) if e.id != entry_id]}))
            for v in self.versions[ruleset_id]
        )
        return Catalog(self.root, versions, self.warnings)

    def __iter__(self) -> Iterator[RulesetVersion]:
        for vs in self.versions.values():
            yield from vs

    def change_dates(self, *, listings: bool = True) -> list[dt.date]:
        """Every date on which something in the catalog may change: versions, memberships, listings, rules.

        With ``listings=False``, party listings are left out: they live in dated indexes, so they
        change verdicts (a timeline needs them) without changing what is compiled.
        """
        dates: set[dt.date] = set()
        for v in self:
            dates.add(v.effective)
            rs = v.model
            for g in rs.groups:
                for m in g.members:
                    if m.since:
                        dates.add(m.since)
                    if m.until:
                        dates.add(m.until + dt.timedelta(days=1))
            for section in DATED_SECTIONS:
                if section == "parties" and not listings:
                    continue
                for e in getattr(rs, section):
                    start, until = entry_window(e)
                    if start:
                        dates.add(start)
                    if until:
                        dates.add(until + dt.timedelta(days=1))
        return sorted(dates)


def _hint(word: str, choices: Mapping[str, Any]) -> str:
    h = did_you_mean(word, choices)
    return f"; {h}" if h else ""


def load_catalog(root: Path | None = None) -> tuple[Catalog | None, ValidationResult]:
    """Discover, parse, validate and materialise every ruleset under *root*.

    Returns the catalog (None when there are errors) and every diagnostic.
    """
    bundled = root is None
    root = bundled_rulesets_dir() if root is None else root
    prefix = "rulesets" if bundled else root.name
    found: list[Diagnostic] = []
    parsed: list[_Parsed] = []
    if not root.is_dir():
        return None, ValidationResult.from_diagnostics(
            [Diagnostic("unknown-ruleset", f"`{root}` is not a directory of rulesets")]
        )
    real_root = root.resolve()
    for path in iter_ruleset_files(root):
        name = f"{prefix}/{path.relative_to(root).as_posix()}"
        if not path.resolve().is_relative_to(real_root):
            found.append(Diagnostic("outside-directory", f"{name} leads out of the ruleset directory (a symbolic "
                                    "link); it is not read"))
            continue
        try:
            doc = load_path(path, name=name)
        except LoadFailure as exc:
            found.extend(exc.diagnostics)
            continue
        model, problems = parse_ruleset(doc)
        found.extend(problems)
        if model is None:
            found.extend(raw_condition_problems(doc))  # a schema error must not hide the other errors
        else:
            found.extend(_path_mismatch(model, path.relative_to(root), doc))
            extra: dict[tuple[str, str], Origin] = {}
            listed: dict[str, str] = {}
            source = doc.source_map
            if model.parties_from:
                own = len(model.parties)
                model, extra, listed, problems = _with_list_files(model, path.parent, root, name)
                found.extend(problems)
                source = _ListedSource(source.file, source.values, source.keys, own=own,
                                       listed=tuple(extra[("parties", q.id)] for q in model.parties[own:]))
            parsed.append(_Parsed(model, source, extra, listed))
    namespace = Namespace()
    for p in parsed:
        namespace.add(p.model)
    for p in parsed:
        found.extend(validate(p.model, source=p.source, namespace=namespace).all)
    versions, problems = _materialise(parsed)
    found.extend(problems)
    result = ValidationResult.from_diagnostics(found)
    if not result.ok:
        return None, result
    return Catalog(root, versions, result.warnings), result


_VERSION_NAME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _path_mismatch(model: Ruleset, relative: Path, doc: Any) -> list[Diagnostic]:
    """A warning when a file named as a version (``YYYY-MM-DD.yaml``) is not at
    ``<ruleset id>/<version>.yaml``: its name or folder then says something it does not hold."""
    want = f"{model.ruleset}/{model.version.isoformat()}"
    got = relative.with_suffix("").as_posix()
    if got == want or not _VERSION_NAME.match(relative.stem):
        return []
    return [Diagnostic("path-mismatch", f"this file holds `{model.ruleset}` version {model.version.isoformat()} but "
                       f"sits at `{relative.as_posix()}`; keep it at `{want}{relative.suffix}`",
                       doc.source_map.span_for(("ruleset",)), severity=Severity.WARNING)]


@dataclass(frozen=True, slots=True)
class _ListedSource(SourceMap):
    """A ruleset file's source map that also places the parties its list files add (``parties`` entries
    after the file's own *own*) at their list file's line."""

    own: int = 0
    listed: tuple[Origin, ...] = ()

    def span_for(self, path: Path_, *, key: bool = False) -> Span | None:
        if len(path) >= 2 and path[0] == "parties" and isinstance(path[1], int) \
                and 0 <= path[1] - self.own < len(self.listed):
            origin = self.listed[path[1] - self.own]
            return origin.source.span_for((*origin.path, *path[2:]), key=key)
        return SourceMap.span_for(self, path, key=key)


def _with_list_files(model: Ruleset, base: Path, root: Path, name: str) \
        -> tuple[Ruleset, dict[tuple[str, str], Origin], dict[str, str], list[Diagnostic]]:
    """*model* with the parties of its list files added, where each was written, which file each came
    from (by digest), and every problem."""
    added: list[Any] = []
    origins: dict[tuple[str, str], Origin] = {}
    listed: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for ref in model.parties_from:
        parties, source, errs, digest = read_parties(ref, base=base, root=root, name=name)
        problems.extend(errs)
        if source is not None:
            for k, party in enumerate(parties):
                origins[("parties", party.id)] = Origin(source, ("parties", k))
                listed[party.id] = digest
        added.extend(parties)
    return model.model_copy(update={"parties": [*model.parties, *added]}), origins, listed, problems


def _materialise(parsed: list[_Parsed]) -> tuple[dict[str, tuple[RulesetVersion, ...]], list[Diagnostic]]:
    problems: list[Diagnostic] = []
    by_id: dict[str, list[_Parsed]] = {}
    for p in parsed:
        by_id.setdefault(p.model.ruleset, []).append(p)
    out: dict[str, tuple[RulesetVersion, ...]] = {}
    for rid, files in by_id.items():
        files.sort(key=lambda p: p.model.version)
        done: dict[dt.date, RulesetVersion] = {}
        previous: _Parsed | None = None
        for p in files:
            rs = p.model
            if previous is not None:
                if previous.model.version == rs.version:
                    problems.append(Diagnostic("duplicate-version", f"ruleset `{rid}` has two files for version "
                                               f"{rs.version}", p.source.span_for(("version",))))
                    continue
                if previous.model.effective >= rs.effective:
                    problems.append(Diagnostic(
                        "version-order", f"version {rs.version} of `{rid}` takes effect on {rs.effective}, not after "
                        f"the earlier version {previous.model.version} ({previous.model.effective})",
                        p.source.span_for(("effective",))))
            previous = p
            if rs.amends is not None:
                base = done.get(rs.amends)
                if base is None:
                    known = ", ".join(d.isoformat() for d in sorted(done)) or "none"
                    problems.append(Diagnostic(
                        "unknown-amended-version", f"`{rid}` has no version {rs.amends} to amend (earlier versions: "
                        f"{known})", p.source.span_for(("amends",))))
                    continue
                merged, origins, errs = _apply(base, p)
                problems.extend(errs)
                listed = {pid: d for pid, d in base.listed.items()
                          if pid not in p.model.remove and not any(e.id == pid for e in p.model.parties)}
            else:
                merged = rs
                origins = {
                    (section, e.id): Origin(p.source, (section, i))
                    for section in SECTIONS for i, e in enumerate(getattr(rs, section))
                }
                listed = {}
            origins.update(p.extra)
            listed.update(p.listed)
            sha = hashlib.sha256(_canonical(merged, listed).encode("utf-8")).hexdigest()
            done[rs.version] = RulesetVersion(
                rid, rs.version, rs.effective, rs.jurisdiction, rs.citation, merged, sha, p.source.file, origins,
                listed,
            )
        out[rid] = tuple(done[k] for k in sorted(done))
    return out, problems


def _apply(base: RulesetVersion, patch: _Parsed) -> tuple[Ruleset, dict[tuple[str, str], Origin], list[Diagnostic]]:
    problems: list[Diagnostic] = []
    origins = dict(base.origins)
    update: dict[str, Any] = {}
    removed = set(patch.model.remove)
    present = {e.id for s in SECTIONS for e in getattr(base.model, s)}
    for i, rid in enumerate(patch.model.remove):
        if rid not in present:
            problems.append(Diagnostic("invalid-value", f"`remove`: version {base.version} has no entry `{rid}`",
                                       patch.source.span_for(("remove", i)),
                                       help=did_you_mean(rid, present)))
    for section in SECTIONS:
        entries = {e.id: e for e in getattr(base.model, section) if e.id not in removed}
        for key in [k for k in origins if k[0] == section and k[1] in removed]:
            del origins[key]
        for i, e in enumerate(getattr(patch.model, section)):
            entries[e.id] = e
            origins[(section, e.id)] = Origin(patch.source, (section, i))
        update[section] = list(entries.values())
    head = patch.model
    update.update(
        ruleset=head.ruleset, title=head.title or base.model.title, jurisdiction=head.jurisdiction,
        version=head.version, effective=head.effective, published=head.published, citation=head.citation,
        uncertain=head.uncertain, note=head.note, amends=None, remove=[],
        uses=sorted(set(base.model.uses) | set(head.uses)),
        screening=head.screening or base.model.screening,
        licence_formats=head.licence_formats or base.model.licence_formats,
    )
    return base.model.model_copy(update=update), origins, problems


def __dir__() -> list[str]:
    return list(__all__)
