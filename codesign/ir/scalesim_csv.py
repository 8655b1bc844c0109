"""SCALE-Sim topology CSV: read a user's workload into the IR, write ours for SCALE-Sim.

Format (SCALE-Sim v2/v3): a header row
``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,``
(v2's writer ends in ``Stride height, Stride width``; GEMM files are ``Layer name, M, N, K,``), then one row
per layer; see `read_topology` for what is accepted and what is refused. Sizes are pre-padded: SCALE-Sim has no padding field. Two faults of that
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

from codesign.errors import InputError
from codesign.ir.graph import LayerGraph
from codesign.ir.layers import Conv, Input, Layer, Linear, Shape
from codesign.textfile import read_text_file

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


class TopologyError(InputError):
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
    """Write the conv and linear layers of `graph` as a SCALE-Sim topology CSV; returns the path.

    One row per layer in SCALE-Sim v2's column order (name, ifmap height, ifmap width, filter height, filter
    width, channels, filters, stride; the padded ifmap size that yields the layer's output), a grouped conv
    as one row per group (`<name>_g<i>`), a linear layer as a 1x1 conv over a 1x1 map. Raises TopologyError
    for a non-square stride or a dilated conv (the format has neither).
    """
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


#: Refusal limits, checked before anything is allocated: a size field over MAX_DIM (2^31 - 1, SCALE-Sim's
#: int32 arrays), or a layer whose ifmap, filter or ofmap holds more than MAX_ELEMENTS values (2^32: 16 GiB
#: at 32-bit words; SCALE-Sim's largest shipped workload, GEMM_mnk/unet2d.csv, has 6.0e8), is not a workload
#: any PE array here could run but a typo.
MAX_DIM = 2**31 - 1
MAX_ELEMENTS = 2**32
MAX_FILE_BYTES = 64 * 2**20

#: Header words (lower case, spaces collapsed) -> field. SCALE-Sim reads its files by position and ignores
#: the header; we read by header so that a column is never taken for another, and accept the spellings of
#: the files SCALE-Sim ships (scale-sim-v3/topologies/) and of its v2 writer (topology_utils.write_topo_file).
_FIELD_NAMES = {
    "ifmap height": "ifmap_h",
    "ifmap width": "ifmap_w",
    "filter height": "filter_h",
    "filter width": "filter_w",
    "channels": "channels",
    "channel": "channels",
    "num filter": "num_filter",
    "num filters": "num_filter",
    "strides": "stride",
    "stride": "stride",
    "stride height": "stride_h",
    "stride width": "stride_w",
    "sparsity": "sparsity",
    "batch size": "batch",
    "m": "m",
    "n": "n",
    "k": "k",
}
_CONV_FIELDS = ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filter")
_LAYOUTS = {
    "conv": (*_CONV_FIELDS, "stride"),  # SCALE-Sim v3 topologies
    "conv_hw": (*_CONV_FIELDS, "stride_h", "stride_w"),  # SCALE-Sim v2's writer
    "gemm": ("m", "n", "k"),  # SCALE-Sim GEMM mode (-i gemm)
}
_OPTIONAL = ("sparsity", "batch")
_NAME_HEADERS = ("layer name", "layer", "name", "l")


def _norm(text: str) -> str:
    return " ".join(text.strip().lower().split())


def _cells(line: str, delimiter: str) -> list[str]:
    """A row's cells, stripped, without the trailing empty cells (SCALE-Sim rows end in a comma)."""
    cells = [c.strip() for c in next(csv.reader([line], delimiter=delimiter))] if line.strip() else []
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def _layout(path: Path, header: list[str]) -> tuple[str, list[str]]:
    """(layout name, field of each column after the name) from the header row, or a refusal."""
    expected = (
        "'Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides' "
        "(SCALE-Sim v3), the same ending 'Stride height, Stride width' (v2) or 'Layer name, M, N, K' (GEMM)"
    )
    if not header or _norm(header[0]) not in _NAME_HEADERS:
        raise TopologyError(f"{path}:1: not a SCALE-Sim topology header; expected {expected}")
    words = [_norm(h) for h in header[1:]]
    if words[:2] == ["ifmap width", "ifmap width"]:
        words[0] = "ifmap height"  # a typo in 14 of SCALE-Sim's own files; SCALE-Sim reads column 2 as height
    unknown = [
        f"{i} '{header[i - 1].strip() or '(empty)'}'"
        for i, w in enumerate(words, start=2)
        if w not in _FIELD_NAMES
    ]
    if unknown:
        raise TopologyError(
            f"{path}:1: column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            f"{'are' if len(unknown) > 1 else 'is'} not SCALE-Sim topology columns; expected {expected}, "
            "optionally followed by Sparsity and Batch size"
        )
    fields = []
    for word in words:
        fields.append(_FIELD_NAMES[word])
    for name, layout in _LAYOUTS.items():
        rest = fields[len(layout) :]
        if (
            tuple(fields[: len(layout)]) == layout
            and all(f in _OPTIONAL for f in rest)
            and len(set(rest)) == len(rest)
        ):
            return name, fields
    raise TopologyError(f"{path}:1: header columns {', '.join(h.strip() for h in header)} are not {expected}")


def _int_field(where: str, column: str, text: str) -> int:
    if text == "":
        raise TopologyError(f"{where}: column '{column}' is empty; every cell of a layer row needs a value")
    if not text.isdigit():
        raise TopologyError(f"{where}: column '{column}' = {text!r} is not a positive integer")
    if len(text) > len(str(MAX_DIM)) or int(text) > MAX_DIM:
        shown = text if len(text) <= 12 else f"{text[:6]}...({len(text)} digits)"
        raise TopologyError(f"{where}: column '{column}' = {shown} exceeds the limit of {MAX_DIM:,}")
    value = int(text)
    if value < 1:
        raise TopologyError(f"{where}: column '{column}' = {value} must be a positive integer")
    return value


def _check_dense(where: str, column: str, text: str) -> None:
    if text == "" or column == "":
        return
    if column == "sparsity":
        parts = text.split(":")
        if len(parts) == 2 and all(p.strip().isdigit() for p in parts) and int(parts[0]) == int(parts[1]) > 0:
            return
        raise TopologyError(
            f"{where}: Sparsity = {text!r}: structured N:M sparsity is not modeled (codesign simulates dense "
            "layers); use 1:1 or remove the column"
        )
    if text != "1":
        raise TopologyError(
            f"{where}: Batch size = {text!r}: a per-layer batch is not modeled; use 1 and 'codesign simulate --batch'"
        )


def read_topology(path: str | Path, name: str | None = None) -> LayerGraph:
    """Read a SCALE-Sim topology CSV into a LayerGraph of independent conv layers (one input each).

    Accepts SCALE-Sim v3 conv files (one 'Strides' column; a 9th integer cell under that header is a stride
    width, as SCALE-Sim v2's files have), v2 files with 'Stride height, Stride width', GEMM files
    ('Layer name, M, N, K'; each row simulated as SCALE-Sim does, an M x K ifmap with N filters of 1 x K),
    optional 'Sparsity' (only 1:1) and 'Batch size' (only 1) columns, a UTF-8 byte-order mark, comma or tab
    separators. A layer whose name contains 'DP' is depthwise, as in SCALE-Sim (one group per channel).
    Anything else is refused with one TopologyError line giving the file, line, column and fix: never a
    silently dropped cell. Refusals include UTF-16 or invalid UTF-8, duplicate layer names, empty cells,
    a header with no rows, and sizes over MAX_DIM / MAX_ELEMENTS (checked before anything is built).
    """
    path = Path(path)
    lines = read_text_file(path, "topology file", TopologyError, MAX_FILE_BYTES).splitlines()
    numbered = [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise TopologyError(f"{path}: empty topology file")
    first_line, first = numbered[0]
    delimiter = "\t" if "," not in first and "\t" in first else ","
    header = _cells(first, delimiter)
    layout, fields = _layout(path, header)
    width = len(fields)
    layers: list[Layer] = []
    seen: dict[str, int] = {}
    for line, text in numbered[1:]:
        where = f"{path}:{line}"
        cells = _cells(text, delimiter)
        if not cells:
            continue  # a row of empty cells (',,,,,')
        values = cells[1:]
        row_fields = list(fields)
        if layout == "conv" and width == 7 and len(values) == 8 and values[7].isdigit():
            row_fields = list(_LAYOUTS["conv_hw"])  # a v2 row: Stride height, Stride width
        if len(values) > len(row_fields):
            extra = ", ".join(repr(v) for v in values[len(row_fields) :])
            raise TopologyError(
                f"{where}: {len(values) + 1} cells but the header has {len(row_fields) + 1} columns; "
                f"the extra cells {extra} have no column (add it to the header or remove them)"
            )
        required = [f for f in row_fields if f not in _OPTIONAL]
        if len(values) < len(required):
            missing = [_header_text(header, fields, f) for f in required[len(values) :]]
            raise TopologyError(
                f"{where}: row '{cells[0]}' has {len(values) + 1} cell{'s' if values else ''}; missing {', '.join(missing)}"
            )
        layer_name = cells[0]
        if not layer_name:
            raise TopologyError(f"{where}: the layer name is empty")
        if layer_name in seen:
            raise TopologyError(
                f"{where}: layer name '{layer_name}' is also used on line {seen[layer_name]}; names must be unique"
            )
        seen[layer_name] = line
        ints: dict[str, int] = {}
        for field, cell in zip(row_fields, values, strict=False):
            column = _header_text(header, fields, field)
            if field in _OPTIONAL:
                _check_dense(where, field, cell)
            else:
                ints[field] = _int_field(where, column, cell)
        layers.extend(_layers_of(where, layer_name, layout, ints))
    if not layers:
        raise TopologyError(f"{path}: the header (line {first_line}) is followed by no layer rows")
    return LayerGraph.from_layers(name or path.stem, layers)


def _header_text(header: list[str], fields: list[str], field: str) -> str:
    if field in fields:
        return header[1 + fields.index(field)].strip()
    return {"stride_h": "Stride height", "stride_w": "Stride width"}.get(field, field)


def _layers_of(where: str, layer_name: str, layout: str, v: dict[str, int]) -> list[Layer]:
    """The Input and Conv layers of one row, after the size limits."""
    if layout == "gemm":  # SCALE-Sim's GEMM mode: ifmap M x K, one channel, N filters of 1 x K, stride 1
        m, n, k = v["m"], v["n"], v["k"]
        h, w, fh_, fw, c, nf, sh, sw = m, k, 1, k, 1, n, 1, 1
    else:
        h, w, fh_, fw, c, nf = (v[f] for f in _CONV_FIELDS)
        sh = v["stride_h"] if "stride_h" in v else v["stride"]
        sw = v["stride_w"] if "stride_w" in v else v["stride"]
    groups = 1
    if "DP" in layer_name:  # SCALE-Sim: a 'DP' layer is depthwise, one layer of `nf` filters per channel
        groups, nf = c, c * nf
    for what, count in (("ifmap", h * w * c), ("filter", fh_ * fw * (c // groups) * nf)):
        if count > MAX_ELEMENTS:
            raise TopologyError(
                f"{where}: the {what} holds {count:,} values, over the limit of {MAX_ELEMENTS:,}"
            )
    if fh_ > h or fw > w:
        raise TopologyError(f"{where}: filter {fh_}x{fw} is larger than the ifmap {h}x{w}")
    out = Shape(nf, (h - fh_) // sh + 1, (w - fw) // sw + 1)
    if out.numel > MAX_ELEMENTS:
        raise TopologyError(
            f"{where}: the ofmap holds {out.numel:,} values, over the limit of {MAX_ELEMENTS:,}"
        )
    src = f"{layer_name}.ifmap"
    return [
        Input(name=src, inputs=(), in_shapes=(), out_shape=Shape(c, h, w)),
        Conv(
            name=layer_name,
            inputs=(src,),
            in_shapes=(Shape(c, h, w),),
            out_shape=out,
            in_channels=c,
            out_channels=nf,
            kernel_h=fh_,
            kernel_w=fw,
            stride_h=sh,
            stride_w=sw,
            groups=groups,
        ),
    ]
