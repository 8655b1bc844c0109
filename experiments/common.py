"""Shared output writing for the paper experiments.

Every table is written as Markdown, CSV and LaTeX (booktabs + siunitx `S` columns) and every figure as PNG
and vector PDF with a caption file, and each file records the hardware file, the codesign version and the
date, so a number in the paper can always be traced back to what produced it. Figures carry that record in
their file metadata and caption file, never in the pixels, and use the Okabe-Ito colour-blind-safe palette.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsFloat

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["pdf.fonttype"] = 42  # embed TrueType: text in the PDF stays text (journals ask for it)

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import codesign  # noqa: E402
from codesign.report.output import write_text_atomic  # noqa: E402
from codesign.report.tables import Column, render  # noqa: E402

if TYPE_CHECKING:
    from codesign.hw.model import Accelerator

#: Where `python -m experiments.<script>` writes when no --out is given (gitignored).
DEFAULT_OUT = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parents[1]

#: Memory levels of the energy model, in plotting order.
LEVELS = (
    "mac",
    "rf",
    "inter_pe",
    "gbuf",
    "dram",
    "static",
)  # static: leakage over the run (codesign.sim.area)

#: Okabe & Ito (2008), "Color Universal Design": eight colours told apart with any common colour-vision
#: deficiency (also Wong, Nature Methods 8:441, 2011). Use these, in this order, for categorical data.
OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)


def hw_file(hw: Accelerator) -> str:
    """The hardware file an accelerator came from, relative to the repo when inside it."""
    src = hw.source or hw.name
    try:
        return os.path.relpath(src, REPO_ROOT) if os.path.isabs(src) else src
    except ValueError:
        return src


@dataclass
class Provenance:
    """What produced an output: hardware file(s), codesign version, date, and free-form notes."""

    hardware: str
    version: str = codesign.__version__
    date: str = field(default_factory=lambda: _dt.date.today().isoformat())
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One 'key: value' line per field, then the notes (written as comments into every output)."""
        out = [
            f"hardware: {self.hardware}",
            f"codesign version: {self.version}",
            f"date: {self.date}",
        ]
        return out + list(self.notes)

    def one_line(self) -> str:
        """'codesign VERSION | hardware FILE | DATE', the footer of Markdown outputs."""
        return f"codesign {self.version} | hardware {self.hardware} | {self.date}"


def provenance_for(hw: Accelerator, notes: Sequence[str] = ()) -> Provenance:
    """Provenance of an output computed on accelerator `hw` (its YAML file is recorded)."""
    return Provenance(hardware=hw_file(hw), notes=list(notes))


def out_dir(path: str | Path | None) -> Path:
    """The output directory, created if needed."""
    p = Path(path) if path else DEFAULT_OUT
    p.mkdir(parents=True, exist_ok=True)
    return p


def write_table(
    out: Path,
    stem: str,
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    prov: Provenance,
    title: str = "",
    text: str = "",
) -> list[Path]:
    """Write `stem`.md, .csv and .tex; `text` (a paragraph) is appended to the Markdown and LaTeX."""
    meta = prov.lines()
    md = render(records, columns, "md", title=title)
    md += "\n" + (text.strip() + "\n\n" if text else "")
    md += "\n".join(f"<!-- {m} -->" for m in meta) + "\n"
    md += f"\n_{prov.one_line()}_\n"
    csv_text = "".join(f"# {m}\n" for m in meta) + render(records, columns, "csv")
    tex = "".join(f"% {m}\n" for m in meta)
    if title:
        tex += f"% {title}\n"
    tex += render(records, columns, "latex")
    if text:
        tex += "\n" + "".join(f"% {line}\n" for line in text.strip().splitlines())
    paths = [
        write_text_atomic(out / f"{stem}.md", md),
        write_text_atomic(out / f"{stem}.csv", csv_text),
        write_text_atomic(out / f"{stem}.tex", tex),
    ]
    return paths


def write_text(out: Path, name: str, text: str, prov: Provenance) -> Path:
    """A Markdown note (e.g. the Table 1 discussion) with the provenance lines at the end."""
    body = text.rstrip() + "\n\n" + "\n".join(f"<!-- {m} -->" for m in prov.lines()) + "\n"
    body += f"\n_{prov.one_line()}_\n"
    return write_text_atomic(out / name, body)


def write_figure(out: Path, stem: str, fig: Figure, prov: Provenance, caption: str = "") -> list[Path]:
    """Save `fig` as `stem`.png (300 dpi), vector `stem`.pdf and `stem`.caption.txt.

    The provenance (hardware file, codesign version, date, notes) goes into the PNG text chunks and the PDF
    document information and into the caption file, after `caption`; nothing is drawn into the figure.
    """
    desc = "; ".join(prov.lines())
    title = caption.strip().splitlines()[0] if caption.strip() else stem
    png = out / f"{stem}.png"
    pdf = out / f"{stem}.pdf"
    fig.savefig(
        png,
        dpi=300,
        metadata={"Title": title, "Description": desc, "Software": f"codesign {prov.version}"},
    )
    fig.savefig(pdf, metadata={"Title": title, "Subject": desc, "Creator": f"codesign {prov.version}"})
    plt.close(fig)
    cap = write_text_atomic(
        out / f"{stem}.caption.txt",
        (caption.strip() + "\n\n" if caption.strip() else "") + "\n".join(prov.lines()) + "\n",
    )
    return [png, pdf, cap]


def read_csv_records(path: str | Path) -> list[dict[str, str]]:
    """Read back a CSV written by `write_table` (skips the '#' provenance lines)."""
    import csv

    with open(path, newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines))


def ratio_fmt(v: SupportsFloat | str | None) -> str:
    """'2.41x', or '-' when missing."""
    return "-" if v is None or v == "" else f"{float(v):.2f}x"


def script_main(
    run: Callable[[str | None, bool], Mapping[str, Any]],
    description: str,
    quick_help: str,
    argv: list[str] | None = None,
) -> None:
    """The command line every experiment script shares: --quick, --out, then one 'wrote FILE' per output.

    `run(out, quick)` is the script's entry point; it returns a mapping whose "files" lists what it wrote.
    """
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help=quick_help)
    p.add_argument("--out", help="output directory (default: experiments/results)")
    args = p.parse_args(argv)
    for f in run(args.out, args.quick)["files"]:
        print(f"wrote {f}")
