"""Semantic checks the schema cannot express; every problem at once.

The validator never raises for a problem in a ruleset: it returns a
:class:`~exportrules.diagnostics.ValidationResult`. References to other
rulesets go through a :class:`Namespace` the catalog builds, so this module
does not import the catalog.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .conditions import FIELDS, FieldType, is_country_code, parse_condition
from .diagnostics import Diagnostic, Severity, ValidationResult, did_you_mean
from .model import DATED_SECTIONS, SECTIONS, Ruleset, entry_window
from .source import Path_, SourceMap

__all__ = ["Namespace", "validate"]


@dataclass(slots=True)
class Namespace:
    """What each ruleset id declares, over all its versions (built by the catalog)."""

    groups: dict[str, set[str]] = field(default_factory=dict)
    """Ruleset id -> group ids."""
    classes: dict[str, set[str]] = field(default_factory=dict)
    """Ruleset id -> class ids."""
    controls: dict[str, set[str]] = field(default_factory=dict)
    """Ruleset id -> control and party ids."""
    versions: dict[str, set[str]] = field(default_factory=dict)
    """Ruleset id -> version strings."""
    uses: dict[str, set[str]] = field(default_factory=dict)
    """Ruleset id -> ids its versions use."""
    items: set[str] = field(default_factory=set)
    """Every catalogue item id (the catalogue is shared by all rulesets)."""

    def add(self, rs: Ruleset) -> None:
        """Record what *rs* declares."""
        self.groups.setdefault(rs.ruleset, set()).update(g.id for g in rs.groups)
        self.classes.setdefault(rs.ruleset, set()).update(c.id for c in rs.classifications)
        self.controls.setdefault(rs.ruleset, set()).update(
            [c.id for c in rs.controls] + [p.id for p in rs.parties]
        )
        self.versions.setdefault(rs.ruleset, set()).add(rs.version.isoformat())
        self.uses.setdefault(rs.ruleset, set()).update(rs.uses)
        self.items.update(i.id for i in rs.items)

    def visible(self, table: dict[str, set[str]], rs: Ruleset) -> set[str]:
        """Ids of *table* that *rs* can see: its own and those of the rulesets it uses."""
        out = set(table.get(rs.ruleset, set()))
        # An amendment sees what the versions it patches use.
        used_ids = set(rs.uses) | (self.uses.get(rs.ruleset, set()) if rs.amends is not None else set())
        for used in sorted(used_ids):
            out |= table.get(used, set())
        return out


def _pp(path: Path_) -> str:
    return ".".join(str(p) for p in path)


class _Checker:
    def __init__(self, rs: Ruleset, source: SourceMap, ns: Namespace | None) -> None:
        self.rs = rs
        self.source = source
        self.ns = ns or Namespace()
        if ns is None:
            self.ns.add(rs)
        self.found: list[Diagnostic] = []

    def at(self, code: Any, message: str, path: Path_, *, help: str | None = None,
           warning: bool = False, key: bool = False) -> None:
        self.found.append(
            Diagnostic(code, message, self.source.span_for(path, key=key),
                       Severity.WARNING if warning else Severity.ERROR, help, _pp(path))
        )

    # ----------------------------------------------------------------- checks

    def run(self) -> list[Diagnostic]:
        self.header()
        self.ids()
        self.countries()
        groups = self.ns.visible(self.ns.groups, self.rs)
        self.conditions(groups)
        self.references()
        self.dates()
        self.shadowing()
        self.properties(groups)
        return self.found

    def header(self) -> None:
        rs = self.rs
        if rs.remove and rs.amends is None:
            self.at("invalid-value", "`remove` is only allowed in an amendment (with `amends`)", ("remove",))
        if rs.amends is not None and rs.amends >= rs.version:
            self.at("version-order", f"version {rs.version} amends a later or equal version {rs.amends}",
                    ("amends",))
        if self.ns.versions and rs.uses:
            for i, used in enumerate(rs.uses):
                if used == rs.ruleset:
                    self.at("unknown-ruleset", f"ruleset `{used}` cannot use itself", ("uses", i))
                elif used not in self.ns.versions:
                    self.at("unknown-ruleset", f"unknown ruleset `{used}`", ("uses", i),
                            help=did_you_mean(used, self.ns.versions))

    def ids(self) -> None:
        for section in SECTIONS:
            seen: dict[str, int] = {}
            for i, entry in enumerate(getattr(self.rs, section)):
                if entry.id in seen:
                    self.at("duplicate-id", f"{section}: id `{entry.id}` is already used at entry {seen[entry.id]}",
                            (section, i, "id"))
                else:
                    seen[entry.id] = i
        controls = {c.id for c in self.rs.controls}
        for i, p in enumerate(self.rs.parties):
            if p.id in controls or p.id == "parties":
                self.at("duplicate-id", f"party id `{p.id}` collides with a control id", ("parties", i, "id"))
        for i, g in enumerate(self.rs.groups):
            if len(g.id) == 2 and g.id.isupper():
                self.at("invalid-value", f"group id `{g.id}` looks like a country code; name it otherwise",
                        ("groups", i, "id"))

    def countries(self) -> None:
        def check(code: str | None, path: Path_) -> None:
            if code is not None and not is_country_code(code):
                self.at("invalid-country", f"`{code}` is not an ISO 3166-1 alpha-2 code", path)

        for gi, g in enumerate(self.rs.groups):
            if not g.members:
                self.at("empty-group", f"group `{g.id}` has no members", ("groups", gi, "members"))
            seen: dict[str, int] = {}
            for mi, m in enumerate(g.members):
                path = ("groups", gi, "members", mi)
                check(m.country, path)
                if m.since and m.until and m.since > m.until:
                    self.at("never-fires", f"group `{g.id}`: member `{m.country}` leaves before it joins", path,
                            warning=True)
                if m.country in seen and _overlap(g.members[seen[m.country]], m):
                    self.at("duplicate-id", f"group `{g.id}`: `{m.country}` is listed twice for overlapping dates",
                            path)
                seen[m.country] = mi
        for i, e in enumerate(self.rs.equivalents):
            check(e.country, ("equivalents", i, "country"))
            check(e.judged_as, ("equivalents", i, "judged_as"))
        for i, p in enumerate(self.rs.parties):
            check(p.country, ("parties", i, "country"))

    def conditions(self, groups: set[str]) -> None:
        all_groups = set().union(*self.ns.groups.values()) if self.ns.groups else set()

        def known(g: str) -> bool:
            return g in groups

        def hint(g: str) -> str | None:
            if g in all_groups:
                owner = sorted(r for r, gs in self.ns.groups.items() if g in gs)
                return f"group `{g}` is declared in `{owner[0]}`; add it to `uses`"
            return did_you_mean(g, groups)

        if self.rs.scope is not None:
            _, problems, _ = parse_condition(self.rs.scope, ("scope",), source=self.source, known_groups=known,
                                             group_hint=hint)
            self.found.extend(problems)
        for section, attr in (("classifications", "when"), ("classifications", "unless"), ("controls", "when"),
                              ("review_policies", "when"), ("authorizations", "when"),
                              ("authorizations", "unavailable_when"), ("flags", "when"), ("gates", "when")):
            for i, entry in enumerate(getattr(self.rs, section)):
                data = getattr(entry, attr)
                if data is None:
                    continue
                _, problems, _ = parse_condition(data, (section, i, attr), source=self.source, known_groups=known,
                                                 group_hint=hint)
                self.found.extend(problems)
                if not problems and _never(data):
                    self.at("never-fires", f"{section} `{entry.id}`: `{attr}` can never hold", (section, i, attr),
                            warning=True)

    def references(self) -> None:
        classes = self.ns.visible(self.ns.classes, self.rs)
        controls = {c.id: c for c in self.rs.controls}
        parties = {p.id for p in self.rs.parties}
        if self.rs.amends is not None:  # the amended version's entries are visible too
            inherited = self.ns.controls.get(self.rs.ruleset, set())
            parties |= inherited - set(controls)
        known_controls = set(controls) | parties
        for i, c in enumerate(self.rs.controls):
            for j, cls in enumerate(c.classes):
                if cls not in classes:
                    self.at("unknown-class", f"control `{c.id}`: unknown class `{cls}`", ("controls", i, "classes", j),
                            help=did_you_mean(cls, classes))
        for i, a in enumerate(self.rs.authorizations):
            if a.quota is not None and a.quota.equivalent is not None and a.quota.equivalent not in self.ns.items:
                self.at("unknown-item", f"authorization `{a.id}`: quota equivalent `{a.quota.equivalent}` is not a "
                        "catalogue item (a cap in compute needs its TPP)", ("authorizations", i, "quota", "equivalent"),
                        help=did_you_mean(a.quota.equivalent, self.ns.items))
            for j, key in enumerate(a.quota.key if a.quota is not None else ()):
                if key not in FIELDS:
                    self.at("invalid-value", f"authorization `{a.id}`: quota key `{key}` is not a transaction field",
                            ("authorizations", i, "quota", "key", j), help=did_you_mean(key, FIELDS))
            for j, target in enumerate(a.covers):
                path = ("authorizations", i, "covers", j)
                if target == "parties" or target in parties:
                    continue
                if "#" in target:
                    rid, _, cid = target.partition("#")
                    if rid not in self.rs.uses and rid not in self.ns.uses.get(self.rs.ruleset, set()):
                        self.at("unknown-ruleset", f"authorization `{a.id}`: `{rid}` is not in `uses`", path)
                    elif cid not in self.ns.controls.get(rid, set()):
                        self.at("unknown-control", f"authorization `{a.id}`: `{rid}` has no control `{cid}`", path,
                                help=did_you_mean(cid, self.ns.controls.get(rid, set())))
                    continue
                if target not in known_controls:
                    self.at("unknown-control", f"authorization `{a.id}`: unknown control `{target}`", path,
                            help=did_you_mean(target, [*controls, *parties]))
                elif controls[target].requires == "prohibited":
                    self.at("never-fires", f"authorization `{a.id}` covers `{target}`, which is prohibited and "
                            "cannot be cleared", path, warning=True)
        for i, r in enumerate(self.rs.review_policies):
            for j, target in enumerate(r.applies_to):
                if target not in known_controls:
                    self.at("unknown-control", f"review policy `{r.id}`: unknown control `{target}`",
                            ("review_policies", i, "applies_to", j), help=did_you_mean(target, controls))

    def dates(self) -> None:
        for section in DATED_SECTIONS:
            for i, entry in enumerate(getattr(self.rs, section)):
                since, until = entry_window(entry)
                if since and until and since > until:
                    self.at("never-fires", f"{section} `{entry.id}` ends ({until}) before it starts ({since})",
                            (section, i, "until"), warning=True)
                elif until and until < self.rs.effective:
                    self.at("never-fires", f"{section} `{entry.id}` ends ({until}) before this version takes effect "
                            f"({self.rs.effective})", (section, i, "until"), warning=True)

    def shadowing(self) -> None:
        def canon(x: Any) -> str:
            if hasattr(x, "model_dump"):
                x = x.model_dump(mode="json")
            return json.dumps(x, sort_keys=True, default=str)

        for section, key in (("controls", lambda c: (tuple(sorted(c.classes)), canon(c.when), c.requires,
                                                     c.since, c.until)),
                             ("flags", lambda f: (canon(f.when), f.since, f.until)),
                             ("classifications", lambda c: (c.id, canon(c.when), canon(c.unless))),
                             ("authorizations", lambda a: (tuple(sorted(a.covers)), canon(a.when),
                                                           tuple(sorted(a.requires_evidence)), a.requires_licence,
                                                           a.since, a.until, canon(a.quota)))):
            seen: dict[Any, str] = {}
            for i, entry in enumerate(getattr(self.rs, section)):
                k = key(entry)
                if k in seen:
                    self.at("shadowed-rule", f"{section} `{entry.id}` repeats `{seen[k]}` and can never decide "
                            "anything on its own", (section, i, "id"), warning=True)
                else:
                    seen[k] = entry.id

    def properties(self, groups: set[str]) -> None:
        for i, p in enumerate(self.rs.properties):
            base = ("properties", i)
            if p.for_all is not None:
                _, problems, _ = parse_condition(p.for_all, (*base, "for_all"), source=self.source,
                                                 known_groups=lambda g: g in groups,
                                                 group_hint=lambda g: did_you_mean(g, groups))
                self.found.extend(problems)
            if p.expect is None and not (p.monotone or p.no_weaker_than or p.members_no_stricter):
                self.at("missing-field", f"property `{p.id}` needs `expect` or a relation "
                        "(`monotone`, `no_weaker_than`, `members_no_stricter`)", base)
            if p.monotone is not None and FIELDS.get(p.monotone) is not FieldType.NUMBER:
                numeric = [f for f, t in FIELDS.items() if t is FieldType.NUMBER]
                self.at("invalid-value", f"property `{p.id}`: `monotone` needs a numeric field, not `{p.monotone}`",
                        (*base, "monotone"), help=did_you_mean(p.monotone, numeric))
            if p.members_no_stricter is not None and p.members_no_stricter not in groups:
                self.at("unknown-group", f"property `{p.id}`: unknown group `{p.members_no_stricter}`",
                        (*base, "members_no_stricter"), help=did_you_mean(p.members_no_stricter, groups))
            if p.no_weaker_than is not None:
                rid, _, version = p.no_weaker_than.partition("@")
                if rid not in self.ns.versions or (version and version not in self.ns.versions[rid]):
                    self.at("unknown-ruleset", f"property `{p.id}`: unknown ruleset version `{p.no_weaker_than}`",
                            (*base, "no_weaker_than"))
            if p.expect is not None:
                known_classes = self.ns.visible(self.ns.classes, self.rs)
                for j, c in enumerate(p.expect.classifications):
                    if c not in known_classes:
                        self.at("unknown-class", f"property `{p.id}`: unknown class `{c}`",
                                (*base, "expect", "classifications", j), help=did_you_mean(c, known_classes))


def _overlap(a: Any, b: Any) -> bool:
    a_start, a_end = a.since, a.until
    b_start, b_end = b.since, b.until
    if a_end is not None and b_start is not None and a_end < b_start:
        return False
    return not (b_end is not None and a_start is not None and b_end < a_start)


def _never(data: Any) -> bool:
    """A cheap static test for conditions that cannot hold: `in` and `not_in` of the same value."""
    if isinstance(data, dict):
        for key, spec in data.items():
            if key in FIELDS and isinstance(spec, dict):
                ins = set(spec.get("in", []) or [])
                outs = set(spec.get("not_in", []) or [])
                if ins and ins <= outs:
                    return True
            elif key == "all" and isinstance(spec, list) and any(_never(s) for s in spec):
                return True
            elif key == "any" and isinstance(spec, list) and spec and all(_never(s) for s in spec):
                return True
    return False


def validate(ruleset: Ruleset, *, source: SourceMap, namespace: Namespace | None = None) -> ValidationResult:
    """Check one parsed ruleset file for problems the schema cannot see.

    Args:
        ruleset: the parsed file.
        source: its source map, for file:line:col.
        namespace: what other rulesets declare; without one only the file itself is visible.
    """
    return ValidationResult.from_diagnostics(_Checker(ruleset, source, namespace).run())


def __dir__() -> list[str]:
    return list(__all__)
