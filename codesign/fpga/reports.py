"""Readers for the vendor reports that hls4ml builds leave behind: the ground truth of the cost model.

Three formats:
  * Vivado HLS / Vitis HLS `myproject_csynth.rpt`: the HLS estimate. Summary latency/interval, the
    utilisation "Total" row (BRAM_18K, DSP48E or DSP, FF, LUT, URAM), the per-instance table (one row per
    hls4ml layer function, with its latency/interval and resources) and the FIFO table (one row per stream
    FIFO: BRAM_18K, FF, LUT, depth, bits).
  * Vivado `report_utilization` (`vivado_synth.rpt`): the post-synthesis counts. "CLB LUTs"/"Slice LUTs",
    "CLB Registers"/"Slice Registers", "RAMB18" + 2 x "RAMB36/FIFO", "DSPs", "URAM".
  * hls4ml's CI baselines (`test/pytest/baselines/*.json`): the csynth summary as JSON under
    "CSynthesisReport".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from codesign.errors import CodesignError


class ReportError(CodesignError):
    """A report file that cannot be read or lacks the figures the cost model is checked against."""


@dataclass(frozen=True)
class InstanceRow:
    """One instance (hls4ml layer function) of a csynth report."""

    module: str
    bram18k: int = 0
    dsp: int = 0
    ff: int = 0
    lut: int = 0
    latency: int | None = None
    interval: int | None = None


@dataclass(frozen=True)
class FifoRow:
    """One stream FIFO of a csynth report."""

    name: str
    bram18k: int
    ff: int
    lut: int
    depth: int
    bits: int


@dataclass(frozen=True)
class SynthReport:
    """Figures of one report. `kind`: "csynth" (HLS estimate) or "vivado_synth" (post-synthesis).

    Latency/interval are in clock cycles (None for post-synthesis reports, which carry none).
    """

    kind: str
    tool: str = ""  # "vivado_hls" | "vitis_hls" | "vivado"
    version: str = ""
    part: str = ""
    clock_ns: float | None = None
    latency: int | None = None
    interval: int | None = None
    bram18k: int = 0
    dsp: int = 0
    ff: int = 0
    lut: int = 0
    uram: int = 0
    instances: list[InstanceRow] = field(default_factory=list)
    fifos: list[FifoRow] = field(default_factory=list)


def _int(text: str) -> int:
    text = text.strip().replace(",", "")
    return 0 if text in ("-", "", "~0") else int(float(text))


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _table_after(lines: list[str], start: int) -> list[list[str]]:
    """Rows of the +---+ table that begins at or after line `start` (header rows included)."""
    rows, seen_border, i = [], 0, start
    while i < len(lines) and not lines[i].strip().startswith("+"):
        i += 1
    while i < len(lines):
        s = lines[i].strip()
        if s.startswith("+"):
            seen_border += 1
        elif s.startswith("|"):
            rows.append(_cells(s))
        else:
            break
        i += 1
    return rows


def parse_csynth(text: str) -> SynthReport:
    """Read a Vivado HLS or Vitis HLS csynth report (see module doc). Raises ReportError if no summary."""
    lines = text.splitlines()
    tool = "vitis_hls" if "Vitis HLS Report" in text else "vivado_hls"
    version = re.search(r"\* Version:\s+(\S+)", text)
    part = re.search(r"\* Target device:\s+(\S+)", text)
    clock = re.search(r"\|ap_clk\s*\|\s*([\d.]+)", text)
    latency = interval = None
    bram = dsp = ff = lut = uram = 0
    instances: list[InstanceRow] = []
    fifos: list[FifoRow] = []
    perf: dict[str, tuple[int | None, int | None]] = {}
    for i, line in enumerate(lines):
        s = line.strip()
        if s == "+ Latency:" or s.startswith("+ Latency (clock cycles)"):
            for row in _table_after(lines, i + 1):
                if row and row[0].replace(",", "").isdigit():
                    latency = _int(row[1])
                    # columns: min, max, [abs min, abs max], interval min, interval max, type
                    ints = [c for c in row if c.replace(",", "").isdigit()]
                    interval = _int(ints[-1])
                    break
        elif s == "* Instance:" and "Detail" in lines[i - 1] and latency is not None and not perf:
            for row in _table_after(lines, i + 1):
                if len(row) >= 8 and row[1] and row[2].replace(",", "").isdigit():
                    nums = [c for c in row[2:] if c.replace(",", "").isdigit()]
                    perf[row[1]] = (_int(nums[1]), _int(nums[-1]))
        if s == "* Summary:" and "BRAM_18K" in "".join(lines[i + 1 : i + 4]):
            for row in _table_after(lines, i + 1):
                if row[0] == "Total":
                    bram, dsp, ff, lut, uram = (_int(c) for c in row[1:6])
        if s == "* Instance:" and "BRAM_18K" in "".join(lines[i + 1 : i + 4]):
            for row in _table_after(lines, i + 1):
                if len(row) >= 7 and row[0] not in ("Instance", "Total") and row[1]:
                    lat, ii = perf.get(row[1], (None, None))
                    b, d, f, lu = (_int(c) for c in row[2:6])
                    instances.append(InstanceRow(row[1], b, d, f, lu, lat, ii))
        if s == "* FIFO:":
            for row in _table_after(lines, i + 1):
                if len(row) >= 8 and row[0] not in ("Name", "Total"):
                    fifos.append(
                        FifoRow(row[0], _int(row[1]), _int(row[2]), _int(row[3]), _int(row[5]), _int(row[6]))
                    )
    if latency is None or not (bram or dsp or ff or lut):
        raise ReportError("not a csynth report: no latency summary or utilisation Total row found")
    return SynthReport(
        "csynth", tool, version.group(1) if version else "", part.group(1) if part else "",
        float(clock.group(1)) if clock else None, latency, interval, bram, dsp, ff, lut, uram, instances, fifos,
    )  # fmt: skip


def _site(text: str, *names: str) -> int:
    for name in names:
        m = re.search(r"^\|\s*" + re.escape(name) + r"\s*\|\s*([\d.]+)\s*\|", text, re.M)
        if m:
            return int(float(m.group(1)))
    return 0


def parse_vivado_synth(text: str) -> SynthReport:
    """Read a Vivado `report_utilization` file. BRAM18K counts RAMB18 plus two per RAMB36 (UG573: a RAMB36
    is two 18 Kb halves). Raises ReportError when the text is not such a report."""
    if "report_utilization" not in text and "Utilization Design Information" not in text:
        raise ReportError("not a Vivado utilization report (no 'report_utilization' header)")
    version = re.search(r"Tool Version\s*:\s*Vivado v\.(\S+)", text)
    part = re.search(r"\| Device\s*:\s*(\S+)", text)
    lut = _site(text, "CLB LUTs*", "CLB LUTs", "Slice LUTs*", "Slice LUTs")
    ff = _site(text, "CLB Registers", "Slice Registers")
    bram = _site(text, "RAMB18") + 2 * _site(text, "RAMB36/FIFO*", "RAMB36/FIFO")
    return SynthReport(
        "vivado_synth", "vivado", version.group(1) if version else "", part.group(1) if part else "",
        None, None, None, bram, _site(text, "DSPs"), ff, lut, _site(text, "URAM"),
    )  # fmt: skip


def parse_baseline_json(text: str) -> SynthReport:
    """Read one of hls4ml's CI synthesis baselines (the csynth summary as JSON: `CSynthesisReport` with
    TargetClockPeriod in ns, WorstLatency/IntervalMax in cycles, BRAM_18K, DSP, FF, LUT, URAM). Raises
    ReportError when the text is not such a JSON document."""
    try:
        d = json.loads(text)["CSynthesisReport"]
    except (ValueError, KeyError) as exc:
        raise ReportError(f"not an hls4ml baseline JSON (no CSynthesisReport): {exc}") from None
    return SynthReport(
        "csynth", "", "", "", float(d["TargetClockPeriod"]), _int(d["WorstLatency"]), _int(d["IntervalMax"]),
        _int(d["BRAM_18K"]), _int(d["DSP"]), _int(d["FF"]), _int(d["LUT"]), _int(d.get("URAM", "0")),
    )  # fmt: skip


def read_report(path: str | Path) -> SynthReport:
    """Read any of the three formats, chosen by content. Raises ReportError naming the file."""
    p = Path(path)
    try:
        text = p.read_text(errors="replace")
    except OSError as exc:
        raise ReportError(f"cannot read report {p}: {exc.strerror}") from None
    try:
        if p.suffix == ".json":
            return parse_baseline_json(text)
        if "HLS Report for" in text:
            return parse_csynth(text)
        return parse_vivado_synth(text)
    except ReportError as exc:
        raise ReportError(f"{p}: {exc}") from None
