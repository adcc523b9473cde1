"""The ruleset file format (version 1) as strict, frozen pydantic models.

One YAML file is one version of one ruleset. The models check shape and types;
cross-references, country codes and condition semantics are the validator's
job. Field docstrings become the descriptions of the published JSON Schema
(``exportrules schema``), so they are written for rule authors.

Dates: ``since`` is the first day an entry is in force and ``until`` the last
day (inclusive), so "suspended 2025-11-10 through 2026-11-09" is written as it
reads.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveInt,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from .diagnostics import Diagnostic, DiagnosticCode, did_you_mean
from .loader import EARLIEST_DATE, LATEST_DATE, Document
from .source import Span

__all__ = [
    "SECTIONS",
    "Authorization",
    "Classification",
    "Condition",
    "Control",
    "Equivalent",
    "Expectation",
    "Flag",
    "Group",
    "Item",
    "ItemFigures",
    "ListSource",
    "Member",
    "OwnershipRule",
    "Party",
    "Property",
    "Quota",
    "ReviewOverride",
    "Ruleset",
    "ScreeningSettings",
    "parse_ruleset",
]

_CONDITION_SCHEMA: dict[str, Any] = {
    "description": (
        "A structured condition: `{all: [...]}`, `{any: [...]}`, `{not: {...}}`, or a mapping of "
        "dotted transaction fields to a value (equality) or to operators "
        "(eq ne in not_in lt lte gt gte between exists contains). Several keys in one mapping "
        "must all hold."
    ),
    "type": "object",
    "minProperties": 1,
}

def _sane(day: dt.date) -> dt.date:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"{day.isoformat()} is outside {EARLIEST_DATE.isoformat()}..{LATEST_DATE.isoformat()}")
    return day


RuleDate = Annotated[dt.date, AfterValidator(_sane)]
"""A date in a ruleset: within 1900-01-01..2200-12-31."""

Condition = Annotated[dict[str, Any], WithJsonSchema(_CONDITION_SCHEMA)]
"""A structured condition; parsed and checked by :mod:`exportrules.conditions`."""

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Identifier = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")]
Outcome = Literal["permitted", "flagged", "blocked"]
ReviewPolicy = Literal[
    "presumption_of_approval",
    "case_by_case",
    "presumption_of_denial",
    "policy_of_denial",
    "none",
]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True, populate_by_name=True
    )


class _Dated(_Model):
    since: RuleDate | None = None
    """First day in force; the version's effective date when absent."""
    until: RuleDate | None = None
    """Last day in force (inclusive); open-ended when absent."""


class _Rule(_Dated):
    citation: str = Field(min_length=1)
    """The legal source: Federal Register citation and CFR paragraph where known."""
    uncertain: bool = False
    """True when the fact rests on one secondary source or is inferred; shown in verdict reasons."""
    note: str | None = None
    """Free text for reviewers; not used by the engine."""


class Member(_Dated):
    """A dated membership of one country in a group."""

    country: CountryCode
    """ISO 3166-1 alpha-2 code."""
    uncertain: bool = False
    """True when the membership or its dates rest on one secondary source."""
    note: str | None = None
    """Why the dates are what they are."""

    @model_validator(mode="before")
    @classmethod
    def _bare_code(cls, data: Any) -> Any:
        return {"country": data} if isinstance(data, str) else data


class Group(_Model):
    """A country group or coalition whose members are dated."""

    id: Identifier
    """The name conditions use, e.g. `D:5` or `pax-silica`."""
    name: str | None = None
    """Human-readable name."""
    kind: Literal["country-group", "coalition", "tier"] = "country-group"
    """What sort of group this is; coalitions carry no legal effect of their own."""
    members: list[Member]
    """Countries, as bare codes or as `{country, since, until}`."""
    citation: str = Field(min_length=1)
    """Source of the list."""
    uncertain: bool = False
    """True when the list rests on one secondary source."""
    note: str | None = None
    """Free text for reviewers."""


class Equivalent(_Rule):
    """A destination judged as another wherever a group names the latter (Hong Kong as China)."""

    id: Identifier
    """Entry id."""
    country: CountryCode
    """The country judged as another."""
    judged_as: CountryCode
    """The country whose group memberships it takes on."""


class ItemFigures(BaseModel):
    """The parameters of an item that rules read; shared by catalogue entries and transactions."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    kind: Literal["ic", "computer", "hbm", "material"] = "ic"
    """`ic`, `computer` (boards, servers, assemblies), `hbm` (memory) or `material` (minerals and materials)."""
    material: str | None = None
    """For `kind: material`, what it is, lower case: `gallium`, `germanium`, `graphite`, `antimony`, `dysprosium` …"""
    tpp: NonNegativeFloat | None = None
    """Total processing performance (dense, highest over precisions); absent when unknown."""
    performance_density: NonNegativeFloat | None = None
    """TPP per mm² of applicable die area; absent when unknown."""
    datacenter: bool | None = None
    """Designed or marketed for use in datacenters; absent when unknown."""
    memory_bandwidth: NonNegativeFloat | None = None
    """Total DRAM bandwidth in GB/s."""
    io_bandwidth: NonNegativeFloat | None = None
    """Aggregate bidirectional I/O (interconnect) bandwidth in GB/s."""
    hbm_bandwidth_density: NonNegativeFloat | None = None
    """Memory bandwidth density in GB/s per mm² (3A090.c)."""
    eccn: str | None = None
    """A declared ECCN, when the vendor publishes one."""
    fab_country: CountryCode | None = None
    """Where the item was made (fabricated or assembled); `US` makes it US-origin (15 CFR 734.3(a)(2))."""
    us_tools: bool | None = None
    """Made with US-origin technology, software or tools: a foreign direct product (15 CFR 734.9)."""
    us_content: Annotated[float, Field(ge=0, le=1)] | None = None
    """Share, by value, of controlled US-origin content in a foreign-made item (de minimis, 15 CFR 734.4)."""


class Item(ItemFigures):
    """A catalogue entry: the parameters of a chip, board, computer or memory stack."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, use_attribute_docstrings=True)

    id: Identifier
    """Lowercase vendor-model slug, e.g. `nvidia-h100-sxm`."""
    name: str
    """Marketing name."""
    vendor: str
    """Manufacturer."""
    die_area: NonNegativeFloat | None = None
    """Applicable die area in mm²."""
    citation: str = Field(min_length=1)
    """Where the figures come from."""
    uncertain: bool = False
    """True when a figure is estimated or single-source."""
    note: str | None = None
    """Free text for reviewers."""


class Classification(_Rule):
    """Item parameters that put an item in a control class (an ECCN paragraph)."""

    id: Identifier
    """The class id, e.g. `3A090.a`."""
    when: Condition
    """Parameters that meet the class."""
    unless: Condition | None = None
    """Exclusions (e.g. Note 2's non-datacenter carve-out)."""


class Control(_Rule):
    """A curb: a licence requirement or a prohibition."""

    id: Identifier
    """Rule id, unique in the ruleset."""
    classes: list[Identifier] = []
    """Control classes the rule applies to; empty means any item."""
    when: Condition | None = None
    """Further conditions (destination, parties, item parameters)."""
    requires: Literal["licence", "prohibited"]
    """`licence`: blocked unless an authorization covers it; `prohibited`: blocked outright."""
    review_policy: ReviewPolicy = "none"
    """How a licence application is reviewed, when one is required."""
    message: str | None = None
    """One-line summary shown in verdict reasons."""


class ReviewOverride(_Rule):
    """A change of licence review policy for some controls under some conditions."""

    id: Identifier
    """Rule id."""
    applies_to: list[Identifier] = Field(min_length=1)
    """Control ids whose review policy this changes."""
    when: Condition | None = None
    """When the changed policy applies."""
    policy: ReviewPolicy
    """The review policy that applies instead."""
    requires_evidence: list[str] = []
    """Evidence the transaction must list for the changed policy to apply."""


class Quota(_Model):
    """A reported cap (a political commitment, not a condition of the licence): the stateless judge reports
    it as information on a verdict the licence clears; the monitor counts it when the user asks it to
    (``Monitor(..., quotas=True)``, ``exportrules record --quotas``)."""

    quantity: PositiveInt
    """Units allowed per period and key (of `equivalent`, when given)."""
    equivalent: str | None = None
    """A catalogue item in whose compute the cap is stated (e.g. `nvidia-gb300` for "35,000
    GB300-equivalents"): the cap is `quantity` times that item's TPP, and a shipment counts its
    quantity times the shipped item's TPP."""
    per: Literal["calendar_year", "total"] = "calendar_year"
    """The period the quantity is counted over."""
    key: list[str] = []
    """Transaction fields the quota is counted per, e.g. `[destination]`."""


class Authorization(_Rule):
    """A clearance: licence exception, general licence, approved-entity list or licence held."""

    id: Identifier
    """Rule id."""
    covers: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/#-]*$")]] = Field(min_length=1)
    """Ids of the controls or parties this can clear; `parties` means every party of this ruleset;
    `<ruleset>#<control>` clears a control of a ruleset this one uses."""
    when: Condition | None = None
    """When the authorization is available."""
    unavailable_when: Condition | None = None
    """Where it may never be used, whatever else holds: what it can never clear (a licence exception
    does not overcome an embargo or end-use control that independently requires a licence)."""
    requires_evidence: list[str] = []
    """Evidence the transaction must list; when missing, the verdict is flagged with the action named."""
    requires_licence: bool = False
    """True when the transaction must list a licence for this authorization to clear anything."""
    quota: Quota | None = None
    """A reported cap on what it clears (see `Quota`)."""
    action: str | None = None
    """What to do to satisfy the required evidence, shown in the verdict's actions."""
    notice: str | None = None
    """Information a verdict reports whenever this clears something: an arrangement around the
    authorization that is not a legal condition of it (e.g. a reported revenue share)."""


class Flag(_Rule):
    """A red flag: never blocks, always flags for a person to look."""

    id: Identifier
    """Rule id."""
    when: Condition
    """When the flag is raised."""
    action: str | None = None
    """What the person should do."""
    message: str | None = None
    """One-line summary shown in verdict reasons."""


class Gate(_Rule):
    """Whether a body of rules reaches the shipment at all (e.g. whether the EAR applies): the rulesets it
    names judge a transaction only where `when` holds. Where `when` is false they are skipped and the
    verdict says why; where a fact it reads is missing they judge anyway (fail closed) and the verdict
    names the fact."""

    id: Identifier
    """Rule id."""
    applies_to: list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*(/[a-z0-9-]*)*$")]] = Field(min_length=1)
    """Ruleset ids, or prefixes ending in `/` (e.g. `us-ear/`), of the rulesets gated."""
    when: Condition
    """When those rulesets reach the shipment."""
    message: str | None = None
    """What it means when `when` is false, shown in the verdict (e.g. "not subject to the EAR")."""


class Party(_Rule):
    """A restricted-party list entry."""

    id: Identifier
    """Entry id."""
    names: list[str] = Field(min_length=1)
    """Listed names."""
    aliases: list[str] = Field(default_factory=list)
    """Other names it is known by."""
    country: CountryCode | None = None
    """Country of the listed address."""
    listed: RuleDate
    """Date the listing took effect."""
    effect: Literal["prohibited", "licence", "flag"]
    """What a match does: `prohibited` blocks, `licence` blocks unless an authorization covers it, `flag` flags."""
    review_policy: ReviewPolicy = "presumption_of_denial"
    """Licence review policy for the entry."""
    list_: str = Field("entity-list", alias="list")
    """Which list the entry belongs to."""
    footnote: str | None = None
    """Foreign-direct-product footnote, e.g. `FN4`."""


class ListSource(_Model):
    """Where a restricted-party list of this ruleset comes from: its vintage and what its entries do."""

    id: Identifier
    """The list, as parties name it in `list` (e.g. `entity-list`, `denied-persons`)."""
    title: str | None = None
    """Human-readable name."""
    effect: Literal["prohibited", "licence", "flag"]
    """What a match does by default (an entry may say otherwise, with a note)."""
    citation: str = Field(min_length=1)
    """The legal source of that effect."""
    source: str = Field(min_length=1)
    """Where the entries were taken from (a URL or file)."""
    vintage: RuleDate
    """The date the source list was published: entries removed before it are not in it."""
    entries: int | None = Field(None, ge=0)
    """How many entries were imported."""
    uncertain: bool = False
    """True when the list's effect or dates rest on one secondary source."""
    note: str | None = None
    """Free text for reviewers."""


class OwnershipRule(_Rule):
    """What ownership by listed parties does (the Affiliates rule, its suspension)."""

    id: Identifier
    """Rule id."""
    threshold: float = Field(gt=0, le=1)
    """Aggregate share owned by listed parties, directly or down the chain, at which the rule applies."""
    effect: Literal["inherit", "flag"]
    """`inherit`: the party takes the most restrictive owner's effect; `flag`: a red flag for review."""
    lists: list[Identifier] = []
    """The lists whose parties count as owners (the Affiliates rule: the Entity List and the MEU List,
    not the Denied Persons or Unverified List); every list of the ruleset when empty."""


class Pattern(_Rule):
    """A red flag the monitor raises from the ledger: something one order alone does not show."""

    id: Identifier
    """Rule id."""
    kind: Literal["split-orders", "cumulative-volume", "reseller-fanout"]
    """`split-orders`: orders for one end user, each under `threshold` units, that add up to it within the
    window; `cumulative-volume`: one buyer's units within the window reach `threshold` although no single
    order does; `reseller-fanout`: one end user behind `resellers` or more buyers within the window."""
    window_days: PositiveInt = 30
    """How far back the ledger is read."""
    threshold: PositiveInt | None = None
    """Units (split-orders, cumulative-volume)."""
    orders: PositiveInt = 2
    """How many orders make a split (split-orders)."""
    resellers: PositiveInt = 2
    """How many distinct buyers make a fan-out (reseller-fanout)."""
    classes: list[Identifier] = []
    """The item classes watched (every item when empty)."""
    cleared_by: list[str] = ["kyc_reviewed"]
    """Evidence names that show the pattern was reviewed; with one, the order is noted, not flagged."""
    action: str | None = None
    """What the person reviewing should do."""
    message: str | None = None
    """One-line summary shown in verdict reasons."""

    @model_validator(mode="after")
    def _needs_threshold(self) -> Pattern:
        if self.kind != "reseller-fanout" and self.threshold is None:
            raise ValueError(f"a `{self.kind}` pattern needs a `threshold`")
        return self


class LicenceFormat(_Model):
    """What a licence number of this ruleset's jurisdiction looks like. A licence that does not match
    any format of its jurisdiction is an input error, never a clearance."""

    pattern: str = Field(min_length=1)
    """A regular expression the whole number (after any `XX:` jurisdiction prefix) must match."""
    citation: str = Field(min_length=1)
    """Where the format comes from."""
    uncertain: bool = False
    """True when the format rests on one secondary source or is a stated choice."""
    note: str | None = None
    """Free text for reviewers."""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return v


class ScreeningSettings(_Model):
    """Thresholds for name screening against this ruleset's parties."""

    review_score: float = Field(90.0, ge=0, le=100)
    """Fuzzy score (0-100) at or above which a name is flagged for review."""
    country_boost: float = Field(5.0, ge=0, le=50)
    """Added to a fuzzy score when the party's country is the entry's."""
    country_penalty: float = Field(10.0, ge=0, le=50)
    """Taken from a fuzzy score when the party's country differs from the entry's."""
    screens_seller: bool = False
    """Whether a listing here reaches the seller as well. The EAR's lists reach the purchaser,
    intermediate and ultimate consignees and end user (15 CFR 744.11, 748.5), not the seller, so this is
    off by default; a prohibition (Denied Persons, OFAC SDN) reaches every role whatever this says.
    China's Unreliable Entity List bars dealings with a listed foreign seller: its ruleset turns it on."""


class _OutcomeSet(_Model):
    in_: list[Outcome] | None = Field(None, alias="in")
    """The outcome must be one of these."""
    not_: list[Outcome] | None = Field(None, alias="not")
    """The outcome must not be one of these."""


class Expectation(_Model):
    """What a property expects of every transaction in its scope."""

    outcome: Outcome | _OutcomeSet | None = None
    """An outcome, or `{in: [...]}` / `{not: [...]}`."""
    classifications: list[Identifier] = []
    """Classes every verdict must carry."""
    reasons: list[Identifier] = []
    """Rule ids every verdict must cite."""
    not_cleared_by: list[Identifier] = []
    """Authorizations that must clear nothing in scope (what an authorization can never clear)."""


class Property(_Model):
    """An invariant checked by `exportrules test` over generated transactions."""

    id: Identifier
    """Property id."""
    for_all: Condition | None = None
    """The scope: transactions this property speaks about."""
    expect: Expectation | None = None
    """What every verdict in scope must satisfy."""
    monotone: str | None = None
    """A numeric field whose increase never relaxes the outcome, e.g. `item.tpp`."""
    no_weaker_than: str | None = None
    """`<ruleset>@<version>`: inside the scope, verdicts are at least as strict as under that version."""
    members_no_stricter: str | None = None
    """A group: moving the destination into it never makes the outcome stricter."""
    citation: str | None = None
    """The legal source of the invariant."""
    note: str | None = None
    """Free text for reviewers."""


class Ruleset(_Model):
    """One version of one ruleset."""

    ruleset: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)*$")]
    """Stable id, e.g. `us-ear/advanced-computing`."""
    title: str | None = None
    """Human-readable title."""
    jurisdiction: str = Field(min_length=1)
    """Whose rules these are: `US`, `CN`, `MY`, … or `INTL` for coalitions."""
    version: RuleDate
    """Versions of one ruleset order by this date."""
    effective: RuleDate
    """In force from this date until the next version's effective date."""
    published: RuleDate | None = None
    """Publication date of the source."""
    citation: str = Field(min_length=1)
    """The source of this version (e.g. `88 FR 73458`)."""
    uncertain: bool = False
    """True when the whole version rests on one secondary source."""
    amends: RuleDate | None = None
    """When set, this file is a patch on that version: entries add or replace by id."""
    remove: list[Identifier] = []
    """With `amends`: ids of entries to drop from the amended version."""
    uses: list[str] = []
    """Ids of rulesets whose groups, classes or items this one refers to."""
    note: str | None = None
    """Free text for reviewers."""
    screening: ScreeningSettings | None = None
    """Name-screening thresholds for this ruleset's parties."""
    licence_formats: list[LicenceFormat] = []
    """What licence numbers of this ruleset's jurisdiction look like."""
    patterns: list[Pattern] = []
    """Red flags the monitor raises across orders (from its ledger)."""
    scope: Condition | None = None
    """The transactions this ruleset speaks about (e.g. `{ship_from: MY}`); others it does not judge."""
    groups: list[Group] = []
    """Country groups and coalitions."""
    equivalents: list[Equivalent] = []
    """Destinations judged as another (Hong Kong as China)."""
    items: list[Item] = []
    """Catalogue entries."""
    classifications: list[Classification] = []
    """Item parameters → control classes."""
    controls: list[Control] = []
    """Curbs."""
    review_policies: list[ReviewOverride] = []
    """Changes of licence review policy."""
    authorizations: list[Authorization] = []
    """Clearances."""
    flags: list[Flag] = []
    """Red flags."""
    gates: list[Gate] = []
    """Whether other rulesets reach a shipment at all (see `Gate`)."""
    lists: list[ListSource] = []
    """The restricted-party lists this ruleset's parties come from, with their vintage."""
    parties: list[Party] = []
    """Restricted parties."""
    parties_from: list[str] = []
    """List files (JSON Lines, one party entry a line, paths relative to this file) whose entries join
    `parties`; for lists too long to keep in YAML."""
    ownership_rules: list[OwnershipRule] = []
    """What ownership by this ruleset's listed parties does."""
    properties: list[Property] = []
    """Invariants checked by `exportrules test`."""


SECTIONS: tuple[str, ...] = (
    "groups",
    "equivalents",
    "items",
    "classifications",
    "controls",
    "review_policies",
    "authorizations",
    "flags",
    "gates",
    "parties",
    "ownership_rules",
    "patterns",
    "properties",
)
"""The list sections whose entries carry ids; amendments patch these by id."""

DATED_SECTIONS: tuple[str, ...] = (
    "equivalents", "classifications", "controls", "review_policies", "authorizations", "flags", "gates", "parties",
    "ownership_rules", "patterns",
)
"""The sections whose entries are in force for a window of their own."""


def entry_window(entry: Any) -> tuple[dt.date | None, dt.date | None]:
    """(first day, last day) an entry is in force; a party starts on its listing date."""
    return getattr(entry, "listed", None) or entry.since, entry.until


_DATE_TYPES = {"date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"}


def _model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class whose field list applies at *loc* (for did-you-mean hints)."""
    model: Any = Ruleset
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return model if isinstance(model, type) else None
        model = _first_model(field.annotation)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _first_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _clean_loc(loc: tuple[str | int, ...], data: Any) -> tuple[str | int, ...]:
    """Drop pydantic's union-branch labels so the path follows the data."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            out.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and out[-1:] != [part]:
            out.append(part)  # a missing or unknown key: keep it; the span lookup walks up
            node = None
        # anything else is a branch label such as `_OutcomeSet` or `literal['blocked']`
    return tuple(out)


_CONDITION_KEYS = {"classifications": ("when", "unless"), "controls": ("when",), "review_policies": ("when",),
                   "authorizations": ("when", "unavailable_when"), "flags": ("when",), "gates": ("when",)}


def raw_condition_problems(doc: Document) -> list[Diagnostic]:
    """The problems of the conditions in a document whose shape is otherwise wrong, so a schema error
    does not hide them (groups are not checked here: they need the whole catalog)."""
    from .conditions import parse_condition  # conditions do not import the model; kept local to stay so

    data = doc.data
    if not isinstance(data, dict):
        return []
    found: list[Diagnostic] = []
    if data.get("scope") is not None:
        found.extend(parse_condition(data["scope"], ("scope",), source=doc.source_map)[1])
    for section, keys in _CONDITION_KEYS.items():
        entries = data.get(section)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if isinstance(entry, dict):
                for key in keys:
                    if entry.get(key) is not None:
                        found.extend(parse_condition(entry[key], (section, i, key), source=doc.source_map)[1])
    return found


def parse_ruleset(doc: Document) -> tuple[Ruleset | None, list[Diagnostic]]:
    """Check a loaded document against the format; every problem at once.

    Returns the model (None when the shape is wrong) and the diagnostics,
    each pointing at the file, line and column of the offending node.
    """
    if not isinstance(doc.data, dict):
        where = doc.source_map.span_for(()) or Span(doc.source_map.file, 1, 1, 1, 1)
        what = "is empty" if doc.data is None else "must be a mapping"
        return None, [Diagnostic("invalid-value", f"{doc.source_map.file}: a ruleset file {what}", where)]
    try:
        return Ruleset.model_validate(doc.data), []
    except ValidationError as exc:
        found: list[Diagnostic] = []
        seen: set[tuple[str, tuple[str | int, ...]]] = set()
        for err in exc.errors():
            loc = _clean_loc(tuple(err["loc"]), doc.data)
            kind = err["type"]
            code: DiagnosticCode
            help_text = None
            field = str(loc[-1]) if loc else ""
            if kind == "extra_forbidden":
                code = "unknown-field"
                parent = _model_at(loc[:-1])
                choices = _field_names(parent) if parent else []
                help_text = did_you_mean(field, choices)
                message = f"unknown key `{field}`"
                span = doc.source_map.span_for(loc, key=True)
            elif kind == "missing":
                code = "missing-field"
                message = f"missing required key `{field}`"
                span = doc.source_map.span_for(loc)
            elif kind in _DATE_TYPES:
                code = "invalid-date"
                message = f"`{field}`: {err['input']!r} is not a date (write YYYY-MM-DD)"
                span = doc.source_map.span_for(loc)
            else:
                code = "invalid-value"
                message = f"`{field}`: {err['msg'][0].lower()}{err['msg'][1:]}"
                span = doc.source_map.span_for(loc)
            key = (code, loc)
            if key in seen:
                continue
            seen.add(key)
            found.append(
                Diagnostic(code, message, span, help=help_text, path=".".join(str(p) for p in loc))
            )
        return None, found


def __dir__() -> list[str]:
    return list(__all__)
