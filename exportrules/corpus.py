"""Golden cases: YAML files of transactions with the verdicts the cited facts require.

A corpus file (OPA's case style)::

    ruleset: us-ear/advanced-computing      # what the cases are about, for the report
    defaults:                               # merged under every case (transaction: shallow)
      transaction: {destination: DE, buyer: {name: Acme GmbH, country: DE}}
    cases:
      - note: T01 datacenter IC at TPP 4800 is 3A090.a
        source: us-ear-advanced-computing.md §8.2 T01
        transaction: {date: 2024-06-01, item: {tpp: 4800, performance_density: 1, datacenter: true}}
        want_outcome: permitted
        want_classifications: [3A090.a]

A membership case names ``group`` and ``on`` with ``want_members`` and
``want_not_members`` instead of a transaction.

Checks: ``want_outcome``, ``want_classifications`` (exact), ``want_reasons``
(rule ids that must be cited), ``want_no_reasons``, ``want_actions`` (action
kinds that must be owed), ``want_action_details`` (substrings of some action), ``want_no_action_details``,
``want_jurisdictions`` (outcome per jurisdiction), ``want_uncertain`` (rule ids
whose reason must carry the uncertain mark).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import Engine
from .errors import TransactionInvalid
from .loader import LoadFailure, iter_ruleset_files, load_path

__all__ = ["Case", "check_case", "load_cases", "screening_metrics", "summarize"]

_KEYS = {
    "note", "source", "transaction", "as_of", "group", "on", "want_members", "want_not_members", "want_outcome",
    "want_classifications", "want_reasons", "want_no_reasons", "want_actions", "want_action_details",
    "want_no_action_details", "want_jurisdictions", "want_uncertain",
}


@dataclass(frozen=True, slots=True)
class Case:
    """One golden case."""

    note: str
    source: str
    file: str
    line: int
    ruleset: str
    transaction: Mapping[str, Any]
    as_of: dt.date | None = None
    want: Mapping[str, Any] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    """YAML dates back to ISO text so transactions look like JSON."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_cases(root: Path) -> list[Case]:
    """Every case under *root*.

    Raises:
        ValueError: naming the file and line of a malformed case.
    """
    out: list[Case] = []
    for path in iter_ruleset_files(root):
        name = path.relative_to(root.parent).as_posix()
        try:
            doc = load_path(path, name=name)
        except LoadFailure as exc:
            raise ValueError(str(exc)) from None
        data = doc.data or {}
        defaults = data.get("defaults", {}) or {}
        ruleset = str(data.get("ruleset", path.parent.name))
        for i, raw in enumerate(data.get("cases", []) or []):
            span = doc.source_map.span_for(("cases", i))
            where = f"{name}:{span.line if span else 0}"
            unknown = set(raw) - _KEYS
            if unknown:
                raise ValueError(f"{where}: unknown case keys {sorted(unknown)}")
            merged = {**defaults, **raw}
            tx = {**(defaults.get("transaction") or {}), **(raw.get("transaction") or {})}
            if "group" in raw:
                if "on" not in raw or "note" not in raw or "source" not in raw:
                    raise ValueError(f"{where}: a membership case needs `note`, `source`, `group` and `on`")
                want = {k: raw.get(k, []) for k in ("want_members", "want_not_members")}
                out.append(Case(str(raw["note"]), str(raw["source"]), name, span.line if span else 0, ruleset,
                                {"group": raw["group"]}, raw["on"], want))
                continue
            if "note" not in raw or "source" not in raw or "want_outcome" not in merged:
                raise ValueError(f"{where}: a case needs `note`, `source` and `want_outcome`")
            want = {k: v for k, v in merged.items() if k.startswith("want_")}
            as_of = merged.get("as_of")
            out.append(Case(str(raw["note"]), str(raw["source"]), name, span.line if span else 0, ruleset,
                            _plain(tx), as_of, _plain(want)))
    return out


def check_case(case: Case, engine: Engine) -> list[str]:
    """What is wrong with the engine's verdict for *case*; empty when it passes."""
    if "group" in case.transaction:
        assert case.as_of is not None
        members = engine.members(str(case.transaction["group"]), on=case.as_of)
        wrong = [f"`{c}` is not a member" for c in case.want.get("want_members", []) if c not in members]
        wrong += [f"`{c}` is a member" for c in case.want.get("want_not_members", []) if c in members]
        return wrong
    try:
        v = engine.judge(case.transaction, as_of=case.as_of)
    except TransactionInvalid as exc:
        return [f"transaction invalid: {exc}"]
    problems: list[str] = []
    want = case.want
    if v.outcome.value != want["want_outcome"]:
        problems.append(f"outcome {v.outcome.value}, want {want['want_outcome']} (reasons: {v.reason_ids()})")
    if "want_classifications" in want and sorted(v.classifications) != sorted(want["want_classifications"]):
        problems.append(f"classifications {list(v.classifications)}, want {want['want_classifications']}")
    cited = set(v.reason_ids())
    for rule in want.get("want_reasons", []):
        if rule not in cited:
            problems.append(f"reason `{rule}` not cited (cited: {sorted(cited)})")
    for rule in want.get("want_no_reasons", []):
        if rule in cited:
            problems.append(f"reason `{rule}` cited but should not be")
    kinds = {a.kind for a in v.actions}
    for kind in want.get("want_actions", []):
        if kind not in kinds:
            problems.append(f"action `{kind}` not owed (owed: {sorted(kinds)})")
    details = " | ".join(a.detail for a in v.actions)
    for text in want.get("want_action_details", []):
        if text not in details:
            problems.append(f"no action mentions `{text}` (actions: {details or 'none'})")
    for text in want.get("want_no_action_details", []):
        if text in details:
            problems.append(f"an action mentions `{text}` but should not (actions: {details})")
    for jurisdiction, outcome in (want.get("want_jurisdictions") or {}).items():
        got = v.jurisdictions.get(jurisdiction)
        if got is None or got.value != outcome:
            problems.append(f"{jurisdiction} outcome {got.value if got else 'absent'}, want {outcome}")
    uncertain = {r.rule for r in v.reasons if r.uncertain}
    for rule in want.get("want_uncertain", []):
        if rule not in uncertain:
            problems.append(f"reason `{rule}` should be marked uncertain")
    return problems


def summarize(cases: Iterable[Case]) -> dict[str, int]:
    """Number of cases per ruleset, sorted by ruleset."""
    return dict(sorted(Counter(c.ruleset for c in cases).items()))


def screening_metrics(engine: Engine, path: Path) -> dict[str, Any]:
    """Precision and recall of :meth:`Engine.screen` on a labelled name set.

    A true variant counts as found at the *block* level when its labelled entry is
    an exact hit, and at the *review* level when it is any candidate. A non-match
    counts against precision at a level when anything is returned at that level.
    """
    doc = load_path(path, name=path.name)
    on = doc.data["date"]
    stats = {lvl: {"tp": 0, "fp": 0, "fn": 0} for lvl in ("block", "review")}
    non_matches = blocked = flagged = 0
    missed: list[str] = []
    for case in doc.data["cases"]:
        hits = engine.screen(case["name"], country=case.get("country"), on=on)
        expect = case.get("expect")
        block_ids = {h.entry for h in hits if h.exact}
        review_ids = {h.entry for h in hits}
        if expect is None:
            non_matches += 1
            blocked += bool(block_ids)
            flagged += bool(review_ids) and not block_ids
            stats["block"]["fp"] += bool(block_ids)
            stats["review"]["fp"] += bool(review_ids)
            continue
        for lvl, ids in (("block", block_ids), ("review", review_ids)):
            if expect in ids:
                stats[lvl]["tp"] += 1
            else:
                stats[lvl]["fn"] += 1
                stats[lvl]["fp"] += bool(ids)
        if expect not in review_ids:
            missed.append(f"{case['name']!r} ({case.get('how')}) -> {sorted(review_ids) or 'nothing'}")
    out: dict[str, Any] = {}
    for lvl, s in stats.items():
        found = s["tp"] + s["fp"]
        out[lvl] = {**s, "precision": s["tp"] / found if found else 1.0,
                    "recall": s["tp"] / (s["tp"] + s["fn"]) if s["tp"] + s["fn"] else 1.0}
    out.update(non_matches=non_matches, non_matches_blocked=blocked, non_matches_flagged=flagged,
               non_match_review_rate=flagged / non_matches if non_matches else 0.0, missed=missed)
    return out


def __dir__() -> list[str]:
    return list(__all__)
