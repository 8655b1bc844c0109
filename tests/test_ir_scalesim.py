"""The SCALE-Sim topology reader: every file SCALE-Sim ships (tests/data/scalesim_topologies, see SOURCE.md)
gives the right layers or a clear refusal, and each malformed input is refused in one line, never misread."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from codesign.ir.layers import Conv
from codesign.ir.scalesim_csv import MAX_ELEMENTS, TopologyError, read_topology

DATA = Path(__file__).parent / "data" / "scalesim_topologies"
EXPECTED = list(csv.DictReader((DATA / "expected.csv").open()))
V3 = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
V2 = "Layer name,IFMAP height,IFMAP width,Filter height,Filter width,Channels,Num filter,Stride height,Stride width,\n"


def _cells_independently(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header words and data rows, split the simplest way (for cross-checking the reader)."""
    text = path.read_bytes().decode("utf-8-sig")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    sep = "," if "," in lines[0] else "\t"
    split = [[c.strip() for c in ln.split(sep)] for ln in lines]
    rows = [r for r in split[1:] if any(r)]
    return [h.lower() for h in split[0]], rows


@pytest.mark.parametrize("case", EXPECTED, ids=[c["file"] for c in EXPECTED])
def test_every_shipped_topology_is_read_exactly_or_refused(case: dict[str, str]) -> None:
    path = DATA / case["file"]
    if case["outcome"] == "refused":
        with pytest.raises(TopologyError) as info:
            read_topology(path)
        message = str(info.value)
        assert case["detail"] in message and "\n" not in message and message.startswith(str(path))
        return
    graph = read_topology(path)
    convs = [la for la in graph.compute_layers() if isinstance(la, Conv)]
    assert len(convs) == int(case["detail"])
    header, rows = _cells_independently(path)
    assert [r[0] for r in rows] == [c.name for c in convs]
    gemm = [h for h in header[1:4]] == ["m", "n", "k"]
    for row, conv in zip(rows, convs, strict=True):
        v = [int(x) for x in row[1:] if x.isdigit()]
        if gemm:  # SCALE-Sim's GEMM mode: ifmap M x K, 1 channel, N filters of 1 x K
            m, n, k = v[:3]
            assert (conv.in_shape.h, conv.in_shape.w, conv.in_channels) == (m, k, 1)
            assert (conv.kernel_h, conv.kernel_w, conv.out_channels) == (1, k, n)
            assert conv.macs == m * n * k
        else:
            h, w, fh, fw, c, n, s = v[:7]
            assert (conv.in_shape.c, conv.in_shape.h, conv.in_shape.w) == (c, h, w)
            assert (conv.kernel_h, conv.kernel_w, conv.out_channels, conv.stride_h) == (fh, fw, n, s)
            assert conv.out_shape.h == (h - fh) // s + 1


def _write(tmp_path: Path, text: str | bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def test_v2_header_with_separate_strides(tmp_path) -> None:
    graph = read_topology(_write(tmp_path, V2 + "conv1,224,224,3,3,3,8,1,2,\n"))
    conv = graph["conv1"]
    assert (conv.stride_h, conv.stride_w) == (1, 2)
    assert (conv.out_shape.h, conv.out_shape.w) == (222, 111)


def test_ninth_stride_width_cell_under_the_v3_header_is_read_not_dropped(tmp_path) -> None:
    conv = read_topology(_write(tmp_path, V3 + "conv1,224,224,3,3,3,8,1,2,\n"))["conv1"]
    assert (conv.stride_h, conv.stride_w) == (1, 2) and conv.out_shape.w == 111


def test_gemm_file_is_simulated_as_the_equivalent_layer(tmp_path) -> None:
    from codesign.ir.graph import LayerGraph
    from codesign.ir.layers import Input, Shape
    from codesign.sim.network import simulate_graph

    m, n, k = 300, 70, 129
    gemm = read_topology(_write(tmp_path, f"Layer name, M, N, K,\nfc1, {m}, {n}, {k},\n"))
    assert gemm["fc1"].macs == m * n * k
    # the same GEMM as a 1x1 convolution: T = M output pixels, K input channels, N filters
    equiv = LayerGraph.from_layers(
        "equiv",
        [
            Input(name="x", inputs=(), in_shapes=(), out_shape=Shape(k, m, 1)),
            Conv(name="fc1", inputs=("x",), in_shapes=(Shape(k, m, 1),), out_shape=Shape(n, m, 1),
                 in_channels=k, out_channels=n),
        ],
    )  # fmt: skip
    from codesign.hw.cached import load_accelerator_cached

    hw = load_accelerator_cached("scalesim_default")
    a = simulate_graph(gemm, hw, dataflow=hw.dataflows[0])
    b = simulate_graph(equiv, hw, dataflow=hw.dataflows[0])
    assert (a.cycles, a.macs) == (b.cycles, b.macs) and a.layers[0].folds == b.layers[0].folds


def test_dp_layers_are_depthwise_as_in_scalesim(tmp_path) -> None:
    conv = read_topology(_write(tmp_path, V3 + "Conv2DP,112,112,3,3,32,1,1,\n"))["Conv2DP"]
    assert (conv.groups, conv.in_channels, conv.out_channels) == (32, 32, 32)
    assert conv.macs == 110 * 110 * 9 * 32  # SCALE-Sim: 32 one-channel layers of one filter each


def test_byte_order_mark_and_tabs_are_accepted(tmp_path) -> None:
    graph = read_topology(_write(tmp_path, "\ufeff" + V3 + "c1,8,8,3,3,2,4,1,\n"))
    assert graph["c1"].out_shape.h == 6
    tabbed = V3.replace(", ", "\t").rstrip(",\n") + "\nc1\t8\t8\t3\t3\t2\t4\t1\n"
    assert read_topology(_write(tmp_path, tabbed, "tab.csv"))["c1"].out_channels == 4


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (V3 + "a,8,8,3,3,2,4,1,\na,8,8,3,3,2,4,1,\n", "layer name 'a' is also used on line 2"),
        ((V3 + "a,8,8,3,3,2,4,1,\n").encode("utf-16"), "UTF-16"),
        ((V3 + "a,8,8,3,3,2,4,1,\n").encode("utf-16-le"), "NUL bytes"),
        (V3.encode() + b"caf\xe9,8,8,3,3,2,4,1,\n", "t.csv:2: not UTF-8 text (byte 0xe9 at offset 102)"),
        (V3 + "a,8,,3,3,2,4,1,\n", "column 'IFMAP Width' is empty"),
        (V3, "followed by no layer rows"),
        (V3 + "a,12345678901234567890123,8,3,3,2,4,1,\n", "(23 digits) exceeds the limit"),
        (V3 + "a,100000,100000,3,3,1,4,1,\n", f"over the limit of {MAX_ELEMENTS:,}"),
        (V3 + "a,8,8,3,3,2,4,1,1,1,\n", "the extra cells '1', '1' have no column"),
        (V3 + "a,8,8,3,3,2,4,1,x,\n", "the extra cells 'x' have no column"),
        (V3 + "a,8,8,3,3,2,4,\n", "missing Strides"),
        (V3 + "a,8,8,9,3,2,4,1,\n", "filter 9x3 is larger than the ifmap 8x8"),
        (V3 + "a,8,8,3,3,2,0,1,\n", "must be a positive integer"),
        ("Layer name, M, N, K, Sparsity,\ng,4,4,4,2:4,\n", "N:M sparsity is not modeled"),
        ("Layer name, M, N,\ng,4,4,\n", "are not"),
        ("Layer name, M, N, K, Stride,\ng,4,4,4,1\n", "are not"),
        ("name,height,width\n", "columns 2 'height', 3 'width' are not SCALE-Sim topology columns"),
        ("", "empty topology file"),
    ],
)
def test_bad_inputs_are_refused_in_one_line(tmp_path, content, needle) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(TopologyError) as info:
        read_topology(path)
    message = str(info.value)
    assert needle in message and "\n" not in message, message


def test_refusal_through_the_cli_is_one_line(tmp_path, capsys) -> None:
    from codesign.cli import main

    path = _write(tmp_path, V3 + "a,8,8,3,3,2,4,1,\na,8,8,3,3,2,4,1,\n")
    assert main(["simulate", "--topology", str(path)]) == 4  # a bad input file (codesign.errors)
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "also used on line 2" in err
