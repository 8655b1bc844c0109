"""Stage 4 of the FPGA cost model: utilisation of a part, the binding resource, the verdict, text/JSON.

`fit_summary(estimate, part)` compares a `DesignEstimate` (codesign.fpga.cost) with a part's BRAM18K,
URAM, DSP, LUT and FF and states each share with the model's error band: the median relative error of
that figure over the stored synthesis reports (`ERROR_BAND`, checked against
`codesign.fpga.validation` by tests/test_fpga_cost.py), rounded up to 5% and never below 5%.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from codesign.fpga.cost import DesignEstimate
from codesign.fpga.parts import FpgaPart

RESOURCES = ("bram18k", "uram", "dsp", "lut", "ff")
LABELS = {"bram18k": "BRAM18K", "uram": "URAM", "dsp": "DSP", "lut": "LUT", "ff": "FF"}
#: Median relative error per figure over calibration and held-out reports (the larger), rounded up to 5%.
ERROR_BAND = {
    "bram18k": 0.05,
    "uram": 0.05,
    "dsp": 0.05,
    "lut": 0.25,
    "ff": 0.20,
    "latency": 0.05,
    "interval": 0.05,
}


@dataclass(frozen=True)
class FitSummary:
    """Totals, capacities, shares, binding resource and verdict of one design on one part."""

    part: FpgaPart
    used: dict[str, int]
    available: dict[str, int]
    latency_cycles: int
    interval_cycles: int
    clock_mhz: float
    fits: bool
    binding: str
    verdict: str

    def share(self, resource: str) -> float:
        """Used / available of `resource` (0 when neither, inf when the part has none and the design needs some)."""
        cap = self.available[resource]
        return self.used[resource] / cap if cap else (0.0 if self.used[resource] == 0 else float("inf"))

    def band_text(self, resource: str) -> str:
        """'LUT 81% +/- 20%' (the +/- is the model's error band on that share)."""
        s = self.share(resource)
        if s == float("inf"):
            return f"{LABELS[resource]} {self.used[resource]:,} (part has none)"
        return f"{LABELS[resource]} {s:.0%} +/- {s * ERROR_BAND[resource]:.0%}"

    def as_dict(self) -> dict[str, Any]:
        """bram18k, uram, dsp, lut, ff, latency_cycles, interval_cycles, verdict, fits, binding, shares."""
        out: dict[str, Any] = dict(self.used)
        out |= {
            "latency_cycles": self.latency_cycles, "interval_cycles": self.interval_cycles,
            "clock_mhz": self.clock_mhz, "part": self.part.name, "fits": self.fits, "binding": self.binding,
            "verdict": self.verdict,
            "utilization": {r: round(self.share(r), 4) for r in RESOURCES if self.available[r] or self.used[r]},
            "error_band": dict(ERROR_BAND),
        }  # fmt: skip
        return out


def fit_summary(est: DesignEstimate, part: FpgaPart) -> FitSummary:
    """Shares of `part` used by `est`, the binding (largest-share) resource and the verdict line.

    The verdict starts "FITS <part> (<board>)" or "DOES NOT FIT <part> (<board>)"; a share within the
    error band of 100% is called out as a near miss either way.
    """
    t = est.total
    used = {"bram18k": round(t.bram18k), "uram": round(t.uram), "dsp": round(t.dsp), "lut": round(t.lut),
            "ff": round(t.ff)}  # fmt: skip
    avail = {"bram18k": int(part.bram18k), "uram": part.uram, "dsp": part.dsp, "lut": part.lut, "ff": part.ff}

    def share(r: str) -> float:
        return used[r] / avail[r] if avail[r] else (0.0 if used[r] == 0 else float("inf"))

    binding = max(RESOURCES, key=share)
    fits = all(used[r] <= avail[r] for r in RESOURCES)
    mhz = est.design.clock_mhz
    timing = (f"latency {est.latency_cycles:,} cycles ({est.latency_cycles / mhz / 1e3:,.3f} ms at {mhz:g} MHz), "
              f"interval {est.interval_cycles:,} cycles ({mhz * 1e6 / max(est.interval_cycles, 1):,.0f} inferences/s)")  # fmt: skip
    summary = FitSummary(part, used, avail, est.latency_cycles, est.interval_cycles, mhz, fits, binding, "")
    shares = ", ".join(summary.band_text(r) for r in RESOURCES if avail[r] or used[r])
    head = f"FITS {part.name} ({part.board})" if fits else f"DOES NOT FIT {part.name} ({part.board})"
    bind = f"binding: {summary.band_text(binding)}"
    near = (
        share(binding) * (1 + ERROR_BAND[binding]) > 1
        and fits
        or share(binding) * (1 - ERROR_BAND[binding]) <= 1 < share(binding)
    )
    note = " (within the model's error of the limit: confirm with synthesis)" if near else ""
    verdict = f"{head}: {shares}; {bind}{note}; {timing}."
    return FitSummary(part, used, avail, est.latency_cycles, est.interval_cycles, mhz, fits, binding, verdict)
