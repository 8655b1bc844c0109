"""Render plain records as terminal, Markdown, LaTeX (booktabs), CSV or JSON text.

Tables are lists of dicts plus a column spec; tabulate does the layout, csv/json the machine formats, so
every CLI verb and experiment writes the same five formats the same way.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FORMATS = ("table", "md", "csv", "json", "latex")
_TABULATE = {"table": "simple", "md": "github", "latex": "latex_booktabs"}


@dataclass(frozen=True)
class Column:
    """One output column: record key, header text, and how to show the value in text formats."""

    key: str
    header: str
    fmt: Callable[[object], str] | None = None


def thousands(v: object) -> str:
    return f"{int(v):,}"


def millions(v: object) -> str:
    return f"{float(v) / 1e6:,.1f}M"


def percent(v: object) -> str:
    return f"{100 * float(v):.1f}%"


def fixed(digits: int) -> Callable[[object], str]:
    return lambda v: (
        "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):,.{digits}f}"
    )


def or_dash(fmt: Callable[[object], str]) -> Callable[[object], str]:
    return lambda v: "-" if v is None else fmt(v)


def render(records: Sequence[dict], columns: Sequence[Column], fmt: str = "table", title: str = "") -> str:
    """Render records; machine formats (csv, json) keep raw values, text formats apply each column's fmt."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    if fmt == "json":
        return json.dumps([{c.key: r.get(c.key) for c in columns} for r in records], indent=2, default=str)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([c.key for c in columns])
        for r in records:
            writer.writerow([r.get(c.key) for c in columns])
        return buf.getvalue()
    from tabulate import tabulate  # imports importlib.metadata: only when a text table is drawn

    rows = [[(c.fmt(r.get(c.key)) if c.fmt else r.get(c.key)) for c in columns] for r in records]
    text = tabulate(
        rows,
        headers=[c.header for c in columns],
        tablefmt=_TABULATE[fmt],
        disable_numparse=True,
        colalign=None,
    )
    if title and fmt == "md":
        return f"**{title}**\n\n{text}\n"
    if title and fmt == "table":
        return f"{title}\n{text}\n"
    return text + "\n"
