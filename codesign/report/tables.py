"""Render plain records as terminal, Markdown, LaTeX (booktabs), CSV or JSON text.

Tables are lists of dicts plus a column spec; tabulate does the layout, csv/json the machine formats, so
every CLI verb and experiment writes the same five formats the same way.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, SupportsFloat, SupportsInt

FORMATS = ("table", "md", "csv", "json", "latex")
_TABULATE = {"table": "simple", "md": "github"}

#: One table row: column key -> raw value (numbers, text, None for "not applicable"; a column's `fmt` turns
#: it into text). Values differ per column, hence Any.
Record = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    """One output column: record key, header text, and how to show the value in text formats."""

    key: str
    header: str
    fmt: Callable[[Any], str] | None = None


def thousands(v: SupportsInt) -> str:
    """An integer with thousands separators: 1234567 -> '1,234,567' (a float is truncated)."""
    return f"{int(v):,}"


def millions(v: SupportsFloat) -> str:
    """A count in millions, one decimal: 1234567 -> '1.2M'."""
    return f"{float(v) / 1e6:,.1f}M"


def percent(v: SupportsFloat) -> str:
    """A fraction as a percentage, one decimal: 0.1234 -> '12.3%'."""
    return f"{100 * float(v):.1f}%"


def fixed(digits: int) -> Callable[[SupportsFloat | None], str]:
    """A formatter with `digits` decimals and thousands separators; None and NaN show as '-'."""
    return lambda v: (
        "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):,.{digits}f}"
    )


def or_dash(fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    """`fmt`, except that None shows as '-'."""
    return lambda v: "-" if v is None else fmt(v)


def render(records: Sequence[Record], columns: Sequence[Column], fmt: str = "table", title: str = "") -> str:
    """Render records; machine formats (csv, json) keep raw values, text formats apply each column's fmt.

    `fmt` is one of FORMATS; ValueError for another (the CLI's argparse choices refuse it first).
    """
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
    if fmt == "latex":
        return latex_table(records, columns)
    from tabulate import tabulate  # imports importlib.metadata: only when a text table is drawn

    rows = [[(c.fmt(r.get(c.key)) if c.fmt else r.get(c.key)) for c in columns] for r in records]
    text: str = tabulate(
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


# ---- LaTeX ------------------------------------------------------------------------------------------
#: Unit words at the end of a header -> siunitx units (\si{...}); the header keeps the words before them.
_SI_UNITS = {
    "uJ": r"\micro\joule",
    "mJ": r"\milli\joule",
    "pJ": r"\pico\joule",
    "ms": r"\milli\second",
    "us": r"\micro\second",
    "MB": r"\mega\byte",
    "KiB": r"\kibi\byte",
    "KB": r"\kilo\byte",
    "MHz": r"\mega\hertz",
    "mW": r"\milli\watt",
    "W": r"\watt",
    "%": r"\percent",
}
#: Value suffixes a column formatter may add -> (siunitx unit or text for the header).
_SUFFIXES = {"%": r"\si{\percent}", "x": r"\(\times\)", "M": r"\(10^6\)", "k": r"\(10^3\)"}
_TEX_ESCAPES = str.maketrans({c: "\\" + c for c in "&%$#_{}"} | {"~": r"\textasciitilde{}", "^": r"\^{}"})


def _tex(text: object) -> str:
    return str(text).translate(_TEX_ESCAPES)


def _numeric_cell(text: str) -> tuple[str, str] | None:
    """('1234.5', suffix) when `text` is a number as a column formatter writes it, else None."""
    body = text.replace(",", "").strip()
    suffix = ""
    if body and body[-1] in _SUFFIXES:
        body, suffix = body[:-1], body[-1]
    try:
        float(body)
    except ValueError:
        return None
    return body, suffix


def _latex_header(header: str, suffix: str) -> str:
    words = header.split()
    unit = ""
    if words and words[-1] in _SI_UNITS:
        unit = r"\si{" + _SI_UNITS[words[-1]] + "}"
        words = words[:-1]
    elif suffix:
        unit = _SUFFIXES[suffix]
        if suffix == "%" and words and words[-1] == "%":
            words = words[:-1]
    text = _tex(" ".join(words))
    return text + (f" ({unit})" if unit else "")


def latex_table(records: Sequence[Record], columns: Sequence[Column]) -> str:
    """A booktabs table; numeric columns are siunitx `S` columns (decimal-aligned) with the unit in the header.

    Needs `\\usepackage{booktabs,siunitx}`. A column is numeric when every shown value is a number, possibly
    with a thousands separator and one common suffix (`%`, `x`, `M`, `k`) that moves into the header; '-' and
    empty cells are written as `{--}` / `{}` so siunitx leaves them alone.
    """
    shown = [[(c.fmt(r.get(c.key)) if c.fmt else r.get(c.key)) for c in columns] for r in records]
    specs: list[str] = []
    headers: list[str] = []
    numeric: list[bool] = []
    for j, col in enumerate(columns):
        cells = [str(row[j]) if row[j] is not None else "" for row in shown]
        parsed = [_numeric_cell(c) for c in cells if c not in ("", "-")]
        suffixes = {p[1] for p in parsed if p is not None}
        is_num = bool(parsed) and all(p is not None for p in parsed) and len(suffixes) <= 1
        numeric.append(is_num)
        suffix = next(iter(suffixes)) if is_num and suffixes else ""
        specs.append("S" if is_num else "l")
        head = _latex_header(col.header, suffix)
        headers.append("{" + head + "}" if is_num else head)
    lines = [
        r"\begin{tabular}{" + "".join(specs) + "}",
        r"\toprule",
        " & ".join(headers) + r" \\",
        r"\midrule",
    ]
    for row in shown:
        out: list[str] = []
        for j, value in enumerate(row):
            text = "" if value is None else str(value)
            if numeric[j]:
                cell = _numeric_cell(text) if text not in ("", "-") else None
                out.append(cell[0] if cell else ("{--}" if text == "-" else "{}"))
            else:
                out.append(_tex(text))
        lines.append(" & ".join(out) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
