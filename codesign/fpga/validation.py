"""Stage 4 (report): re-run every stored synthesis report through the cost model; estimate vs actual.

`tests/data/fpga_reports/manifest.yaml` lists each public hls4ml design, the reports it produced and its
split (calibration or held-out). `validate()` estimates every design (`codesign.fpga.cost.estimate`, target
"csynth" for HLS reports and "synth" for Vivado utilisation reports) and returns one `Comparison` per
(report, figure); `error_table()` gives median and worst absolute relative error per figure and split.

Relative error = |estimate - actual| / actual. Pairs where both are 0 are left out of the medians (they
are counted: "n both 0"); an actual 0 with a nonzero estimate counts as |estimate| / 1.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from codesign.errors import CodesignError
from codesign.fpga.cost import DesignEstimate, estimate
from codesign.fpga.design import HlsDesign, design_from_dict
from codesign.fpga.reports import SynthReport, read_report
from codesign.resources import fpga_reports_dir

#: The stored reports and their manifest (repository test data, shipped in the wheel: `codesign.resources`).
REPORTS_DIR = fpga_reports_dir()
FIGURES = ("bram18k", "dsp", "lut", "ff", "latency", "interval")


@dataclass(frozen=True)
class Case:
    """One report of one design."""

    design_id: str
    split: str
    report_path: Path
    report: SynthReport
    design: HlsDesign


@dataclass(frozen=True)
class Comparison:
    """Estimate vs actual for one figure of one report."""

    design_id: str
    report: str
    split: str
    kind: str  # "csynth" | "vivado_synth"
    io_type: str
    figure: str
    estimate: float
    actual: float

    @property
    def both_zero(self) -> bool:
        """True when estimate and report are both 0 (counted apart: their relative error is 0 by definition)."""
        return self.estimate == 0 and self.actual == 0

    @property
    def error(self) -> float:
        """Relative error |estimate - actual| / max(|actual|, 1) (dimensionless; the floor of 1 unit keeps a
        figure the report gives as 0 from dividing by zero)."""
        return abs(self.estimate - self.actual) / max(abs(self.actual), 1.0)


def load_cases(directory: str | Path = REPORTS_DIR) -> list[Case]:
    """Every (design, report) pair of the manifest. Raises CodesignError on a bad manifest entry."""
    root = Path(directory)
    try:
        manifest = yaml.safe_load((root / "manifest.yaml").read_text())
    except OSError as exc:
        raise CodesignError(f"cannot read {root / 'manifest.yaml'}: {exc.strerror}") from None
    cases = []
    for entry in manifest["designs"]:
        design = design_from_dict(entry["design"], entry["id"], base_dir=root)
        if entry["split"] not in ("calibration", "heldout"):
            raise CodesignError(f"manifest: {entry['id']}: split must be calibration or heldout")
        for rel in entry["reports"]:
            path = root / rel
            cases.append(Case(entry["id"], entry["split"], path, read_report(path), design))
    return cases


def _figures(est: DesignEstimate, rep: SynthReport) -> dict[str, tuple[float, float]]:
    t = est.total
    out: dict[str, tuple[float, float]] = {
        "bram18k": (t.bram18k, rep.bram18k),
        "dsp": (t.dsp, rep.dsp),
        "lut": (t.lut, rep.lut),
        "ff": (t.ff, rep.ff),
    }
    if rep.latency is not None:
        out["latency"] = (est.latency_cycles, rep.latency)
        out["interval"] = (est.interval_cycles, rep.interval or 0)
    return out


Estimator = Callable[[HlsDesign, str], dict[str, float] | None]


def _model(design: HlsDesign, target: str) -> dict[str, float]:
    est = estimate(design, target)
    t = est.total
    return {"bram18k": t.bram18k, "dsp": t.dsp, "lut": t.lut, "ff": t.ff,
            "latency": est.latency_cycles, "interval": est.interval_cycles}  # fmt: skip


def validate(cases: Iterable[Case] | None = None, estimator: Estimator = _model) -> list[Comparison]:
    """Estimate vs actual for every figure of every report (module doc). `estimator` defaults to the model;
    one returning None for a design skips it (the old model cannot express every design)."""
    out: list[Comparison] = []
    for case in cases if cases is not None else load_cases():
        rep = case.report
        target = "csynth" if rep.kind == "csynth" else "synth"
        got = estimator(case.design, target)
        if got is None:
            continue
        actual = {"bram18k": rep.bram18k, "dsp": rep.dsp, "lut": rep.lut, "ff": rep.ff}
        if rep.latency is not None:
            actual |= {"latency": rep.latency, "interval": rep.interval or 0}
        for fig, act in actual.items():
            if fig in got:
                out.append(Comparison(case.design_id, case.report_path.name, case.split, rep.kind,
                                      case.design.io_type, fig, float(got[fig]), float(act)))  # fmt: skip
    return out


@dataclass(frozen=True)
class ErrorRow:
    """Median/worst error of one figure over one split."""

    split: str
    figure: str
    n: int
    n_both_zero: int
    median: float
    worst: float
    worst_case: str


def _label(figure: str, io_type: str | None) -> str:
    return f"{figure} ({io_type})" if io_type else figure


def error_table(comparisons: list[Comparison]) -> list[ErrorRow]:
    """Per split and figure: count, median and worst relative error, and the worst case.

    Latency and interval are split by io type (the targets are stated for io_stream).
    """
    rows = []
    for split in ("calibration", "heldout", "all"):
        for fig in FIGURES:
            for io in (None,) if fig not in ("latency", "interval") else ("io_stream", "io_parallel"):
                sel = [c for c in comparisons if (split == "all" or c.split == split) and c.figure == fig
                       and (io is None or c.io_type == io)]  # fmt: skip
                live = [c for c in sel if not c.both_zero]
                if not sel:
                    continue
                if live:
                    worst = max(live, key=lambda c: c.error)
                    med = statistics.median(c.error for c in live)
                    case = f"{worst.design_id} [{worst.kind}]: {worst.estimate:,.0f} / {worst.actual:,.0f}"
                    rows.append(
                        ErrorRow(
                            split, _label(fig, io), len(live), len(sel) - len(live), med, worst.error, case
                        )
                    )
                else:
                    rows.append(ErrorRow(split, _label(fig, io), 0, len(sel), 0.0, 0.0, "-"))
    return rows


def format_error_table(rows: list[ErrorRow], fmt: str = "github") -> str:
    """The error table as text (tabulate format `fmt`)."""
    from tabulate import tabulate

    body = [
        [r.split, r.figure, r.n, r.n_both_zero, f"{r.median:.0%}", f"{r.worst:.0%}", r.worst_case]
        for r in rows
    ]
    text: str = tabulate(body, headers=["split", "figure", "n", "n both 0", "median |err|", "worst |err|", "worst case: estimate / report"],
                    tablefmt=fmt, disable_numparse=True)  # fmt: skip
    return text


def comparisons_as_rows(comparisons: list[Comparison]) -> list[dict[str, Any]]:
    """Plain dicts (for JSON output): design, report, split, kind, figure, estimate, actual (the figure's
    unit: BRAM18K, DSP, LUT, FF or cycles) and the relative error."""
    return [
        {"design": c.design_id, "report": c.report, "split": c.split, "kind": c.kind, "figure": c.figure,
         "estimate": c.estimate, "actual": c.actual, "error": c.error}
        for c in comparisons
    ]  # fmt: skip
