"""SCALE-Sim topology CSV: read a user's workload into the IR, write ours for SCALE-Sim.

Format (SCALE-Sim v2/v3): a header row
``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,``
then one row per conv/GEMM layer. Sizes are pre-padded: SCALE-Sim has no padding field. Two faults of that
format are handled here rather than copied:

* SCALE-Sim computes the output size as ceil((H - F + S) / S), which over-counts by one row/column when
  (H - F) % S != 0. On read we use the true size floor((H - F) / S) + 1; on write we emit the effective
  input extent (H_out - 1) * S + F, for which both formulas agree, so SCALE-Sim gets the right output size.
* Grouped convolutions cannot be expressed; we write one row per group (``name_g<i>``), which is exact for
  compute and traffic, and say so in the row name.
"""

from __future__ import annotations

import csv
from pathlib import Path

from codesign.errors import CodesignError
from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Conv, Input, Layer, Linear, Shape

HEADER = [
    "Layer name",
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
]


class TopologyError(CodesignError):
    """A SCALE-Sim topology file we cannot read."""


def _rows_for(layer: Layer) -> list[list[object]]:
    if isinstance(layer, Linear):
        return [[layer.name, 1, 1, 1, 1, layer.in_features, layer.out_features, 1]]
    assert isinstance(layer, Conv)
    if layer.stride_h != layer.stride_w:
        raise TopologyError(
            f"layer {layer.name}: stride {layer.stride_h}x{layer.stride_w} is not square; "
            "SCALE-Sim topologies have a single stride"
        )
    if layer.dilation_h != 1 or layer.dilation_w != 1:
        raise TopologyError(
            f"layer {layer.name}: dilated convolutions cannot be written to a SCALE-Sim topology"
        )
    eff_kh = layer.kernel_h
    eff_kw = layer.kernel_w
    height = (layer.out_shape.h - 1) * layer.stride_h + eff_kh
    width = (layer.out_shape.w - 1) * layer.stride_w + eff_kw
    cin = layer.in_channels // layer.groups
    cout = layer.out_channels // layer.groups
    row = [height, width, eff_kh, eff_kw, cin, cout, layer.stride_h]
    if layer.groups == 1:
        return [[layer.name, *row]]
    return [[f"{layer.name}_g{g}", *row] for g in range(layer.groups)]


def write_topology(graph: LayerGraph, path: str | Path) -> Path:
    """Write the conv and linear layers of `graph` as a SCALE-Sim topology CSV; returns the path."""
    path = Path(path)
    rows = [row for layer in graph.compute_layers() for row in _rows_for(layer)]
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([*HEADER, ""])
        for row in rows:
            writer.writerow([*row, ""])
    tmp.replace(path)
    return path


def _int_field(path: Path, line: int, column: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise TopologyError(
            f"{path}:{line}: column '{column}' = {text.strip()!r} is not an integer"
        ) from None
    if value < 1:
        raise TopologyError(f"{path}:{line}: column '{column}' = {value} must be a positive integer")
    return value


def read_topology(path: str | Path, name: str | None = None) -> LayerGraph:
    """Read a SCALE-Sim topology CSV into a LayerGraph of independent conv layers (one input each)."""
    path = Path(path)
    if not path.is_file():
        raise TopologyError(f"{path}: no such topology file")
    with path.open(newline="") as fh:
        rows = [r for r in csv.reader(fh) if any(cell.strip() for cell in r)]
    if not rows:
        raise TopologyError(f"{path}: empty topology file")
    header = [c.strip() for c in rows[0] if c.strip()]
    if [h.lower() for h in header[: len(HEADER)]] != [h.lower() for h in HEADER]:
        raise TopologyError(f"{path}:1: header must start with: {', '.join(HEADER)}")
    layers: list[Layer] = []
    for line, row in enumerate(rows[1:], start=2):
        cells = [c for c in row if c.strip() != ""]
        if len(cells) < len(HEADER):
            raise TopologyError(f"{path}:{line}: expected {len(HEADER)} columns, found {len(cells)}")
        layer_name = cells[0].strip()
        h, w, fh_, fw, c, n, s = (_int_field(path, line, HEADER[i], cells[i]) for i in range(1, 8))
        if fh_ > h or fw > w:
            raise TopologyError(f"{path}:{line}: filter {fh_}x{fw} is larger than the ifmap {h}x{w}")
        out = Shape(n, (h - fh_) // s + 1, (w - fw) // s + 1)
        src = f"{layer_name}.ifmap"
        layers.append(Input(name=src, inputs=(), in_shapes=(), out_shape=Shape(c, h, w)))
        layers.append(
            Conv(
                name=layer_name,
                inputs=(src,),
                in_shapes=(Shape(c, h, w),),
                out_shape=out,
                in_channels=c,
                out_channels=n,
                kernel_h=fh_,
                kernel_w=fw,
                stride_h=s,
                stride_w=s,
            )
        )
    return LayerGraph.from_layers(name or path.stem, layers)
