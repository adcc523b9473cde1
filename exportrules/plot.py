"""Pictures (the ``plot`` extra, matplotlib): a verdict over time, and a ledger's use against its limits.

Figures are drawn with matplotlib's object API on the Agg canvas (no display, no global state), so
they are safe to make from a CLI, a notebook or a server thread. :func:`save` writes SVG or PNG by
the file's extension; :func:`svg` returns SVG text for pages.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .verdict import Outcome, Verdict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .engine import Engine

__all__ = ["changes", "ledger_figure", "save", "svg", "timeline_figure"]

_LEVEL = {Outcome.PERMITTED: 0, Outcome.FLAGGED: 1, Outcome.BLOCKED: 2}
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


def changes(line: Sequence[tuple[dt.date, Verdict]]) -> list[tuple[dt.date, str]]:
    """For each date after the first, the rule(s) that made the verdict change: the deciding rules that
    appeared (or, when only rules went away, those that stopped deciding), else what changed."""
    out: list[tuple[dt.date, str]] = []
    for (_, before), (day, after) in pairwise(line):
        old = {r.rule for r in before.reasons if r.effect is not None and r.effect is not Outcome.PERMITTED}
        new = {r.rule for r in after.reasons if r.effect is not None and r.effect is not Outcome.PERMITTED}
        if new - old:
            label = ", ".join(sorted(new - old))
        elif old - new:
            label = "no longer: " + ", ".join(sorted(old - new))
        elif set(after.jurisdictions) != set(before.jurisdictions):
            came = sorted(set(after.jurisdictions) - set(before.jurisdictions))
            went = sorted(set(before.jurisdictions) - set(after.jurisdictions))
            label = ", ".join([*(f"{j} rules in force" for j in came), *(f"{j} rules lapse" for j in went)])
        elif before.classifications != after.classifications:
            label = "class " + (", ".join(after.classifications) or "none")
        else:
            cleared = {r.rule for r in after.reasons if r.kind == "authorization"} - \
                {r.rule for r in before.reasons if r.kind == "authorization"}
            label = ", ".join(sorted(cleared)) or "rulesets changed"
        out.append((day, label))
    return out


def timeline_figure(line: Sequence[tuple[dt.date, Verdict]], end: dt.date, *,
                    title: str | None = None) -> Figure:
    """A step chart of the outcome per jurisdiction (and overall) from the first date to *end*, each change
    marked and labelled with the rule that caused it."""
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure

    if not line:
        raise ValueError("an empty timeline has nothing to draw")
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax = fig.add_subplot()
    dates = [d for d, _ in line] + [end + dt.timedelta(days=1)]
    days = [float(date2num(d)) for d in dates]  # type: ignore[no-untyped-call]
    jurisdictions = sorted({j for _, v in line for j in v.jurisdictions})
    series: list[tuple[str, list[int | None]]] = [("overall", [_LEVEL[v.outcome] for _, v in line])]
    for j in jurisdictions:
        series.append((j, [(_LEVEL[v.jurisdictions[j]] if j in v.jurisdictions else None) for _, v in line]))
    n = len(series)
    for k, (name, levels) in enumerate(series):
        offset = (k - (n - 1) / 2) * 0.06
        xs: list[float] = []
        ys: list[float] = []
        for i, level in enumerate(levels):
            if level is None:
                continue
            xs += [days[i], days[i + 1]]
            ys += [level + offset, level + offset]
        ax.plot(xs, ys, drawstyle="steps-post", linewidth=3 if name == "overall" else 1.6,
                color="black" if name == "overall" else _COLOURS[(k - 1) % len(_COLOURS)], label=name,
                alpha=0.85)
    span = (days[-1] - days[0]) or 1.0
    for i, (day, label) in enumerate(changes(line)):
        x = float(date2num(day))  # type: ignore[no-untyped-call]
        ax.axvline(x, color="grey", linewidth=0.8, linestyle=":")
        late = (x - days[0]) / span > 0.6  # labels near the right edge read leftwards
        ax.annotate(f"{day.isoformat()}: {label}", xy=(x, 2.4 - 0.2 * (i % 6)), fontsize=7.5,
                    ha="right" if late else "left", va="center", xytext=(-3 if late else 3, 0),
                    textcoords="offset points")
    ax.set_yticks([0, 1, 2], ["permitted", "flagged", "blocked"])
    ax.set_ylim(-0.4, 2.55)
    ax.set_xlim(days[0], days[-1])
    ax.xaxis_date()
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, ncols=min(n, 4))
    ax.set_title(title or "verdict over time")
    fig.autofmt_xdate()
    return fig


def timeline_for(engine: Engine, transaction: Mapping[str, Any], start: dt.date, end: dt.date) -> Figure:
    """The timeline figure of one transaction."""
    line = engine.timeline(transaction, start, end)
    tx_id = transaction.get("id")
    item = transaction.get("item")
    title = f"{tx_id + ': ' if tx_id else ''}{item if isinstance(item, str) else 'item'} to " \
            f"{transaction.get('destination')}, {start.isoformat()} to {end.isoformat()}"
    return timeline_figure(line, end, title=title)


def ledger_figure(totals: Sequence[Mapping[str, Any]], limits: Mapping[str, int],
                  units: Mapping[str, str] | None = None) -> Figure:
    """Horizontal bars: what is counted per quota, key and period, as a share of the quota's limit (caps in
    units and caps in compute side by side), each labelled with its figures in its own unit (*units*: a
    quota's unit where it is not units of the item, e.g. ``TPP``)."""
    from matplotlib.figure import Figure

    units = units or {}
    fig = Figure(figsize=(9, 0.6 * max(3, len(totals)) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    labels = [f"{t['quota']}  [{t['key']}]  {t['period']}" for t in totals]
    used = [int(t["quantity"]) for t in totals]
    caps = [limits.get(str(t["quota"])) for t in totals]
    share = [u / c if c else 0.0 for u, c in zip(used, caps, strict=True)]
    ys = list(range(len(totals)))
    ax.barh(ys, [1.0 if c else 0.0 for c in caps], color="#dddddd", label="limit", height=0.7)
    over = [c is not None and u > c for u, c in zip(used, caps, strict=True)]
    ax.barh(ys, share, color=["#d62728" if o else "#1f77b4" for o in over], label="used", height=0.45)
    for y, t, u, c, f in zip(ys, totals, used, caps, share, strict=True):
        unit = units.get(str(t["quota"]))
        text = f"{u:,}" + (f" of {c:,}{' ' + unit if unit else ''} ({u / c:.0%})" if c else " (limit unknown)")
        ax.annotate(text, xy=(max(f, 1.0 if c else 0.0), y), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_yticks(ys, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share of the limit")
    ax.set_title("ledger: use against limits")
    ax.legend(loc="lower right", fontsize=8)
    return fig


def svg(fig: Figure) -> str:
    """The figure as SVG text (fonts as paths-free text, so labels can be read and searched)."""
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg")
    return buf.getvalue()


def save(fig: Figure, path: Path) -> None:
    """Write *fig* as SVG or PNG by *path*'s extension.

    Raises:
        ValueError: for another extension.
    """
    suffix = path.suffix.lower()
    if suffix == ".svg":
        path.write_text(svg(fig), encoding="utf-8")
    elif suffix == ".png":
        fig.savefig(path, format="png", dpi=120)
    else:
        raise ValueError(f"`{path}`: write .svg or .png")


def __dir__() -> list[str]:
    return list(__all__)
