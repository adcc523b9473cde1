"""A self-contained HTML report of a batch (the ``plot`` extra: jinja2 and matplotlib).

The page holds everything it shows (styles and charts inline, as SVG; no scripts, no fetches), so it
can be mailed or archived with the batch: a summary by outcome, outcome by destination and by chip
(charts and tables), and the blocked and flagged orders with the reasons that decided them and
their citations.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl
    from matplotlib.figure import Figure

__all__ = ["render_report"]

_ORDER = ("permitted", "flagged", "blocked")
_COLOURS = {"permitted": "#4caf50", "flagged": "#f0b400", "blocked": "#d62728"}


def _stacked(counts: list[tuple[str, Counter[str]]], title: str) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 0.32 * max(4, len(counts)) + 1.0), layout="constrained")
    ax = fig.add_subplot()
    labels = [k for k, _ in counts]
    left = [0] * len(counts)
    for o in _ORDER:
        values = [c.get(o, 0) for _, c in counts]
        ax.barh(labels, values, left=left, color=_COLOURS[o], label=o)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel("orders")
    ax.legend(fontsize=8, loc="lower right")
    ax.tick_params(axis="y", labelsize=8)
    return fig


def _by(frame: pl.DataFrame, column: str, top: int = 25) -> list[tuple[str, Counter[str]]]:
    out: dict[str, Counter[str]] = {}
    for key, outcome in frame.select(column, "outcome").iter_rows():
        out.setdefault(str(key) if key is not None else "?", Counter())[outcome] += 1
    ranked = sorted(out.items(), key=lambda kv: (-kv[1].get("blocked", 0), -kv[1].get("flagged", 0),
                                                 -sum(kv[1].values()), kv[0]))
    return ranked[:top]


def render_report(judged: pl.DataFrame, *, title: str, rejected: int = 0, limit: int = 500) -> str:
    """The HTML page for *judged*: rows with ``outcome`` and the batch output's columns (``id``, ``date``,
    ``item``, ``destination``, ``buyer``, ``jurisdictions``, ``rules``, ``actions``, ``rulesets``,
    ``reasons``); at most *limit* orders are listed per outcome."""
    import polars as pl
    from jinja2 import Environment, PackageLoader, select_autoescape

    from . import __version__
    from .plot import svg

    for col in ("id", "date", "item", "destination", "buyer", "jurisdictions", "actions", "rulesets", "reasons"):
        if col not in judged.columns:
            judged = judged.with_columns(pl.lit(None, dtype=pl.String).alias(col))
    judged = judged.filter(pl.col("outcome").is_not_null())
    counts = Counter(judged.get_column("outcome").to_list())
    by_destination, by_item = _by(judged, "destination"), _by(judged, "item")
    shown: dict[str, list[dict[str, Any]]] = {}
    for o in ("blocked", "flagged"):
        rows = judged.filter(pl.col("outcome") == o).head(limit).to_dicts()
        for r in rows:
            r["reasons"] = [why for why in json.loads(r["reasons"] or "[]") if why.get("effect") is not None]
        shown[o] = rows
    env = Environment(loader=PackageLoader("exportrules", "templates"), autoescape=select_autoescape(["html", "j2"]))
    page = env.get_template("report.html.j2").render(
        title=title, total=judged.height, rejected=rejected, counts=counts, version=__version__,
        generated=dt.datetime.now(dt.UTC).strftime("on %Y-%m-%d at %H:%M UTC"),
        hashes=sorted(set(judged.get_column("rulesets").drop_nulls().to_list()))[:6],
        by_destination=by_destination, by_item=by_item, shown=shown,
        chart_destination=_strip(svg(_stacked(by_destination, "by destination"))) if by_destination else "",
        chart_item=_strip(svg(_stacked(by_item, "by chip"))) if by_item else "",
    )
    return page


def _strip(svg_text: str) -> str:
    """SVG for inlining: without the XML declaration and doctype."""
    start = svg_text.find("<svg")
    return svg_text[start:] if start >= 0 else svg_text


def __dir__() -> list[str]:
    return list(__all__)
