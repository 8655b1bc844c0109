"""Generate the stored Yosys per-PE table of the FPGA-overlay area model (`codesign.fpga.overlay_model`).

    python -m codesign.rtl.pe_table [--out hw_models/fpga/overlay_pe_yosys.yaml]

For every configuration in `CONFIGS` and synth family in `FAMILIES`, the generated array (no event counters)
is synthesized with Yosys ``synth_xilinx`` at the square sizes in `SIZES` (2x2, 4x4, 8x8), and the
model ``total = per_pe * n^2 + per_edge * n + fixed`` is solved exactly through the three (the edge term
carries the skew registers, n(n-1)/2 words per edge, and the edge adders). The file records the Yosys
version and the command; `tests/test_overlay.py` re-runs one 4x4 synthesis and checks the stored totals.
Syntheses are cached under ``$CODESIGN_RTL_BUILD/yosys`` (default ~/.cache/codesign/rtl/yosys).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: (dataflow, shadow registers, act_bits, weight_bits, psum_bits) stored in the table.
CONFIGS: tuple[tuple[str, bool, int, int, int], ...] = tuple(
    (df, sh, a, w, p)
    for (a, w, p) in ((8, 8, 32), (16, 16, 32))
    for (df, sh) in (("ws", True), ("ws", False), ("os", False), ("is", True), ("is", False))
)
#: synth_xilinx family -> the part named for it (7-series, UltraScale+).
FAMILIES = {"xc7": "xc7z020", "xcup": "xczu7ev"}
#: Square array sizes the model is solved through.
SIZES = (2, 4, 8)
KEYS = ("lut", "ff", "dsp")


def fit_model(totals: dict[int, dict[str, int]]) -> dict[str, dict[str, float]]:
    """{per_pe, per_edge, fixed} of ``a n^2 + b n + c`` through the totals at three square sizes
    {n: {lut, ff, dsp}} (numpy.linalg.solve on the 3x3 Vandermonde system)."""
    import numpy as np

    ns = sorted(totals)
    if len(ns) != 3:
        raise ValueError(f"need three sizes, got {ns}")
    vander = np.array([[n * n, n, 1] for n in ns], dtype=float)
    out: dict[str, dict[str, float]] = {"per_pe": {}, "per_edge": {}, "fixed": {}}
    for k in KEYS:
        a, b, c = np.linalg.solve(vander, np.array([totals[n][k] for n in ns], dtype=float))
        out["per_pe"][k], out["per_edge"][k], out["fixed"][k] = float(a), float(b), float(c)
    return out


def build_table(
    configs: Sequence[tuple[str, bool, int, int, int]] = CONFIGS,
    families: Mapping[str, str] = FAMILIES,
    sizes: Sequence[int] = SIZES,
    log: Callable[[str], object] = print,
) -> dict[str, Any]:
    """Run Yosys for every configuration, family and size; returns the table (see module docstring)."""
    from codesign.fpga.overlay_model import config_key
    from codesign.rtl.array import ArrayConfig
    from codesign.rtl.resources import synth_resources, yosys_version
    from codesign.rtl.verilator import default_build_root

    cache = default_build_root() / "yosys"
    table: dict[str, Any] = {
        "yosys": yosys_version(),
        "command": "python -m codesign.rtl.pe_table",
        "configs": {},
    }
    for df, sh, a, w, p in configs:
        key = config_key(df, sh, a, w, p)
        for family, part in families.items():
            totals: dict[int, dict[str, int]] = {}
            for n in sizes:
                cfg = ArrayConfig(n, n, a, w, p, dataflow=df, shadow=sh, counters=False)
                res = synth_resources(cfg, part, cache=cache)
                totals[n] = {"lut": res.lut, "ff": res.ff, "dsp": res.dsp}
                log(f"{key} {family} {n}x{n}: {totals[n]}")
            model = fit_model(totals)
            table["configs"].setdefault(key, {})[family] = {
                "totals": {f"{n}x{n}": totals[n] for n in sizes},
                **{term: {k: round(v, 4) for k, v in model[term].items()} for term in model},
            }
    return table


def main(argv: list[str] | None = None) -> int:
    """``python -m codesign.rtl.pe_table [--out FILE]``: synthesize every configuration with Yosys and write the
    PE table YAML (default: the shipped ``hw_models`` copy). Raises RtlToolError when Yosys is missing."""
    from codesign.fpga.overlay_model import PE_TABLE
    from codesign.resources import hw_models_dir

    ap = argparse.ArgumentParser(prog="python -m codesign.rtl.pe_table", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=hw_models_dir() / PE_TABLE, help="YAML file to write")
    args = ap.parse_args(argv)
    import yaml

    table = build_table()
    header = (
        "# Yosys synth_xilinx cell counts of the generated PE array (codesign.rtl.array, no event counters):\n"
        "# LUT/FF/DSP = per_pe * R*C + per_edge * (R+C)/2 + fixed, solved through 2x2, 4x4 and 8x8 arrays, for the\n"
        "# FPGA-overlay area model "
        "(codesign.fpga.overlay_model). GENERATED: do not edit; regenerate with `python -m codesign.rtl.pe_table`.\n"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(header + yaml.safe_dump(table, sort_keys=True))
    tmp.replace(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
