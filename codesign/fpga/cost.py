"""Stage 2 of the FPGA cost model: per-layer and per-FIFO costs (BRAM18K, URAM, DSP, LUT, FF) and timing.

Public API:
  * `layer_estimate(layer, backend=, strategy=, io_type=, reuse=, precision=, target=)` -> `LayerCost`
    for one layer under given settings; `layer_cost(layer, design, target)` for a layer of a design;
  * `fifo_cost(width, depth, channels, backend, target, memory, impl)` -> `FifoCost` of one io_stream stream
    (`impl`: a Plan's binding bram | uram | lutram | srl);
  * `estimate(design, target, plan=None)` -> `DesignEstimate`: per-layer rows, FIFOs, totals, latency and
    interval; `plan` (`codesign.fpga.plan.Plan`: per-layer reuse factor, weight width, dense/codebook
    storage; per-stream FIFO memory) is applied first;
  * `conv_step_cycles(rf, backend, strategy)`: the conv timing rule the FIFO-sizing pipeline model shares.
The reuse planner on top of this model is `codesign.fpga.planner`.
`target` is "csynth" (what the HLS report states) or "synth" (what Vivado synthesis builds; default for
fit verdicts). Every rule below names the hls4ml template or the report lines it comes from; the reports
are stored in tests/data/fpga_reports/ (manifest.yaml gives their sources).

Timing (io_stream; hls4ml puts every layer function in one DATAFLOW region):
  * conv/depthwise: cycles per input pixel by `conv_step_cycles` (Latency: RF per pixel, nnet_conv2d_stream.h
    pipelines the pixel loop with II = reuse factor; tutorial csynth: conv config2 1,027 cycles for 32x32 =
    1,024 input pixels, config7 229 for 15x15, config12 40 for 6x6; Vitis keeps it, CI depthwise2d: 1,028
    for 1,024. Resource: RF on a window-completing pixel, little on the others; Vitis RF 1: 2 per pixel,
    cnn_large csynth conv config2 302 cycles for 150 pixels). csynth states the worst case (every pixel
    completing a window); the "synth" target counts the out_pixels windows.
  * pooling reads one pixel per cycle: its channel loop is unrolled inside the pipelined pixel loop
    (nnet_pooling_stream.h; tutorial csynth: pool config6 903 cycles for 30x30 = 900 pixels). Same for
    ReLU (relu config5 902 for 900) and zero padding (one output pixel per cycle; Vitis adds a fixed 13).
  * a layer's `cycles` is its csynth latency when fed at full speed; `tail` the cycles from its last input
    to its last output. The design latency follows the graph: finish_i = max(finish_in + tail_i,
    start_i + cycles_i), start_i = max(start_in + tail_in) over its inputs; the interval is the slowest
    layer's interval + 1 (tutorial: 1,028 = 1,027 + 1; cnn_large: 303 = 302 + 1; cnn_small 12,338 =
    12,337 + 1). An io_stream dense is timed by backend, strategy and hls4ml template version
    (`_stream_dense_timing`: hls4ml 0.x Vivado HLS not pipelined across calls, RF + 2; hls4ml 1.x one word in:
    RF + 1 cycles, Vivado HLS pipelined at II = RF, Vitis HLS not; Vitis Resource RF - 1, cnn_large 0). Vitis
    HLS does not overlap calls of a region whose layers each read one word per call: interval = latency.
  * io_parallel: layers run one after another (latency = sum of layer latencies); a Latency dense is
    1 cycle at RF 1 (jet tagger csynth: every dense_latency instance 1 cycle); a conv with io_parallel
    computes one output pixel per RF cycles (CI conv2d io_parallel: 49 output pixels -> interval 49).

Memory:
  * FIFOs, Vivado HLS: an `hls::stream<array<T, C>>` becomes C FIFOs of T bits (tutorial csynth lists
    `layerN_out_V_data_k_V` for k < C). Each is registers when 1-4 deep (5 FF each), SRLs up to 32 deep
    (depth 16 -> 0 BRAM, 7 FF), else block RAM (depth 36, 169, 225, 900 -> 1 BRAM18K each).
    Vitis HLS packs the array into one FIFO of C*T bits (cnn_large csynth: `layer2_out` 104 x 128): it is
    registers at depth 1-2 or <= 1,024 bits (UG1399 `config_storage fifo` defaults), else BRAM18K in a
    1K x 18 tiling, ceil(depth/1024)*ceil(width/18) (104 x 128 -> 8, 24 x 208 -> 12, 150 x 16 -> 1).
    Known exception (held-out cnn_small, same Vitis 2023.1 on an UltraScale+ xcvu13p): FIFOs <= 48 deep
    stayed out of block RAM and the rest took 512 x 36 tiles (104 x 64 -> 2): the binding depends on the
    device, and the model follows the Kintex UltraScale report.
    Vivado synthesis then rebuilds block-RAM FIFOs of <= 1,024 bits as SRLs (tutorial: csynth 100 BRAM18K,
    synthesis 84 and 68: exactly the 36 x 16 and 169 x 6 FIFOs left block RAM).
  * Weights: Resource strategy at RF > 1 keeps them in a ROM RF deep and ceil(n_in*n_out/RF)*bits wide
    (nnet_dense_resource.h) -> bram18k_for(RF, width) per layer (per group of a grouped conv; a depthwise
    conv's kh*kw*C weights are one array, nnet_depthwise_product.h). At RF 1 or with the Latency strategy
    they are constants in the fabric (nnet_dense_latency.h): no BRAM.
  * Codebook storage (a Plan's `storage: codebook`, `codesign.hls.storage`'s nnet_codebook.h: the weight
    is an `index_bits`-bit index, the product `a * table[index]`): the ROM holds indices (index_bits wide
    per weight instead of the value width); every multiplier decodes a 2^b-entry table of value-width
    words as a LUT ROM, value bits x ceil(2^b / 64) LUT6s (UG574). DSPs unchanged (still a x value). At
    RF 1 the index is a constant and the layer costs what the dense layer of that value width costs.
    Not checked against synthesis (no report of the codebook layer exists).
  * Table activations (nnet_activation.h, nnet_activation_stream.h; hls4ml's defaults `table_size` 1,024 and
    `table_t` ap_fixed<18,8>: one table = 1 BRAM18K): softmax 4 BRAM18K (exp and inverse tables; tutorial and
    jet-tagger csynth: 4). A single-table activation (sigmoid, tanh, ELU, ...) reads its table once per
    element in one pipelined step: io_parallel `#pragma HLS PIPELINE` over the function unrolls the loop over
    all n_in elements; io_stream `#pragma HLS UNROLL` of the pack loop over res_T::size (the channels) inside
    the pipelined loop. A block RAM has two read ports (true dual-port, UG573), so HLS replicates the table
    ceil(reads per cycle / 2) times: 1 copy for 1-2 reads (cnn_large sigmoid, 1 output; CI dense(2)+ELU),
    32 for 64 (CI test_activations elu and sigmoid, all 12 reports).

DSP:
  * a product whose weight is a run-time value (RF > 1): `constmult.dsp48e2_slices` DSP48E2 slices (27x18
    ports, UG579, 17-bit cascade) when the wider operand has >= 11 and the narrower >= 4 bits, else LUTs
    (cnn_small bind reports: 16 x 10 bits 1 DSP, 10 x 10 in fabric); the layer needs ceil(nonzero
    products/RF) of them (nnet_dense_resource.h / nnet_dense_latency.h block factor).
  * a product by a constant (RF 1) whose value is known (a design's `weights` file or the `init` of an
    untrained model): `codesign.fpga.constmult`, read off the cnn_large bind reports: zeros removed,
    constants of <= 2 signed digits built as shifts and one adder, equal constants on one input computed
    once, the rest bound by the same width rule (cnn_large: 926 DSP vs 928).
  * a product by a constant whose value is not known (trained weights not published): synthesis builds many
    in LUTs, by the constant's value. Calibrated fraction in DSPs: `CONST_DSP_FRACTION[strategy]` (Latency
    0.76, Resource 0.48) x a weight-width factor (`CONST_DSP_BY_WEIGHT_BITS`: 0 at 4 bits, 0.042 at 6, 1
    from 14), times ceil((weight + input bits)/45) DSPs (one DSP48E2 gives a 45-bit product); none when the
    width rule puts it in LUTs, the constant taken as at most its fractional bits wide (trained weights
    assumed below 0.5 in magnitude). Measured at 16x16: tutorial 0.76, jet tagger 0.65 (Latency).
    The spread is the weight values (constants of few signed digits become shift-adds).
  * unfolded BatchNorm (`normalize`): one DSP per channel (tutorial QKeras: 40 for 42 channels, 64 for 64);
    softmax: one per output (tutorial: 10 for 10, jet tagger: 5 for 5).

Logic (LUT/FF): per layer kind, linear in the work it does (adder bits, comparator bits, register bits),
coefficients in `LOGIC` with the rows they were calibrated on (experiments/fpga_validation.py prints the
resulting error on calibration and held-out reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil, log2

from codesign.errors import HardwareConfigError
from codesign.fpga.constmult import (  # DSP48E2 ports (UG579) and DSP binding widths are defined there
    DSP_PRODUCT_BITS,
    constant_layer_dsp,
    dsp48e2_slices,
    expected_constant_layer_dsp,
    product_in_dsp,
    quantize,
)
from codesign.fpga.design import TABLE_ACTIVATIONS, WEIGHT_KINDS, HlsDesign, StreamLayer, consumers, with_plan
from codesign.fpga.memory import bram18k_for, lutram_luts, srl_luts, uram_for
from codesign.fpga.plan import MemoryImpl, Plan

TARGETS = ("csynth", "synth")

#: Vivado HLS: FIFOs up to this deep are SRLs (tutorial csynth: 16 -> SRL, 36 -> BRAM; SRL32 depth).
VIVADO_SRL_MAX_DEPTH = 32
#: ... and up to this deep plain registers (tutorial csynth: depth 1 and 4 -> 5 FF, no LUT).
REG_FIFO_MAX_DEPTH = 4
#: Vitis HLS `config_storage fifo` defaults (UG1399): registers/SRL at <= 2 deep or <= 1,024 bits.
VITIS_SRL_MAX_DEPTH, SRL_MAX_BITS = 2, 1024
#: Vivado synthesis keeps a FIFO in block RAM only above this many bits (tutorial synthesis reports).
SYNTH_BRAM_MIN_BITS = 1024
#: Table BRAM18K per activation (see module doc).
TABLE_BRAM = {"softmax": 4}
#: hls4ml's default activation table: `table_size` 1,024 entries (fpga_backend.py / vivado_backend.py
#: `ConfigurableAttribute('table_size', default=1024)`) of `table_t` ap_fixed<18,8>.
TABLE_SIZE, TABLE_BITS = 1024, 18
#: Read ports of one block RAM (true dual-port BRAM18K, UG573): a table read r times per cycle is replicated
#: ceil(r / BRAM_READ_PORTS) times (`table_copies`).
BRAM_READ_PORTS = 2

#: Entries of one LUT6 used as a ROM (64 x 1; UG574): a codebook table of 2^b values of w bits read by one
#: multiplier costs w * ceil(2^b / 64) LUTs (one LUT per value bit up to 6-bit indices).
LUT_ROM_ENTRIES = 64
#: FIFO memories a Plan can bind (`#pragma HLS bind_storage variable=... type=fifo impl=...`, UG1399).
FIFO_IMPLS: tuple[MemoryImpl, ...] = ("bram", "uram", "lutram", "srl")

#: LUT/FF coefficients. Each is per unit of a feature computed from the layer (see `layer_cost`), read off
#: the calibration reports' per-instance rows (tutorial csynth, Vivado HLS 2020.1) and CI baseline totals:
LOGIC: dict[str, float] = {
    # Weight layers. Adder bits = products x accumulator width; LUT-product bits = products built in LUTs x
    # weight bits x input bits. Tutorial 16x16 (30% LUT products): 30 LUT per product; QKeras 6x6 dense
    # (97% LUT products): 18.6 per product -> 0.57 per adder bit, 0.27 per LUT-product bit.
    "mult.lut_per_adder_bit": 0.57,
    "mult.lut_per_lut_product_bit": 0.27,
    # Vivado HLS registers the adder tree: tutorial dense FF 0.19-0.27 and jet-tagger dense 0.14-0.19 per
    # adder bit; Vitis HLS does not (cnn_large dense: 3 FF). A tree of k products has k - 1 adders: none at
    # one input (CI test_activations Vivado HLS io_parallel Dense(64) on 1 input: 18 FF = 16 input bits + 2).
    # Vitis HLS io_stream Latency dense at RF 1 registers its products instead, (weight + input) bits each
    # (CI test_activations Vitis 2023.1/2024.1 io_stream Dense(64) + ReLU: 2,064 FF = 64 x 32 + 16).
    "mult.ff_per_adder_bit.vivado": 0.2,
    "mult.ff_per_adder_bit.vitis": 0.0,
    # io_stream conv line buffers ((kh-1) rows x W x C x bits, nnet_conv_stream.h `ap_shift_reg`) are
    # counted as FF by csynth (tutorial conv config2: 3,072 bits, 3,799 FF; cnn_large conv config6: 1,536
    # bits, 1,427 FF) and become SRLs (LUTs) in synthesis.
    "linebuffer.ff_per_bit": 1.0,
    # Pooling: comparators (max) or adders (avg), per operation bit = outputs x (window - 1) x bits.
    # io_parallel CI pooling: max 1.83-1.89 LUT per op bit, average 1.11-1.45.
    "maxpool.lut_per_op_bit": 1.85,
    "avgpool.lut_per_op_bit": 1.2,
    # io_stream pooling, per channel op bit (tutorial pool config6/11: 2,705 LUT for 16 ch x 3 ops x 16 bit).
    "pool_stream.lut_per_op_bit": 3.5,
    # ... and 2 FF per window bit (tutorial: 2,006-2,008 FF for 2x2x16x16 = 1,024 bits; Vitis ~0.5-0.9).
    "pool_stream.ff_per_window_bit.vivado": 2.0,
    "pool_stream.ff_per_window_bit.vitis": 0.7,
    # Elementwise: ReLU per element bit (tutorial io_stream: 3.3; jet tagger io_parallel: 1.75).
    "relu.lut_per_bit": 3.3,
    "relu.lut_per_bit.io_parallel": 1.75,
    # ... casting to another type (QKeras 6-bit ReLU: 6.9; cnn_large ReLU to ufixed<10,0,RND_CONV,SAT>: 4.0-4.3).
    "relu.lut_per_bit.requantize": 5.0,
    # A ReLU fused into its producer's output cast (codesign.fpga.fusion), per output channel per bit the
    # ReLU read: the rounding/saturating cast's share of a ReLU row. cnn_large ReLU casting ap_fixed<16,6,TRN,
    # WRAP> to ap_ufixed<10,0,RND_CONV,SAT>: 547 LUT for 8 x 16 bits (4.27), 823 for 13 x 16 (3.96); tutorial
    # ReLU without a cast: 3.3 -> the cast adds 0.66-0.97; charged 1.0 in full, although the signed
    # RND_CONV/SAT cast it replaces is not charged to an unfused producer. The ReLU layer and its FIFO are gone.
    "relu.fused_cast_lut_per_bit": 1.0,
    # Unfolded BatchNorm per channel bit (tutorial QKeras normalize: 2,016 LUT, 676 FF for 42 x 16 bits).
    "bn.lut_per_bit": 3.0,
    "bn.ff_per_bit": 1.0,
    # Table activations per output (tutorial softmax io_stream: 3,096 LUT, 788 FF for 10; jet tagger
    # io_parallel softmax: 78 LUT for 5).
    "table.lut_per_output": 300.0,
    "table.lut_per_output.io_parallel": 16.0,
    "table.ff_per_output": 80.0,
    # Single-table activations (sigmoid, tanh, ELU) per output: cnn_large sigmoid 204 LUT, 4 FF for 1;
    # CI dense+ELU designs: ~150 LUT for 2 outputs beside the dense layer.
    "table1.lut_per_output": 100.0,
    # ... and one register per result bit: the pipelined lookup registers each table read once (the BRAM
    # output latch is inside the block). CI test_activations (64 outputs x 16 bits, FF beside the same
    # design with ReLU): 0.6-2.1 per result bit (one 3.8: Vitis 2024.1 io_parallel ELU); cnn_large: 4 FF for 16.
    "table1.ff_per_output_bit": 1.0,
    # Zero padding (cnn_large csynth: 445 and 427 LUT; 66 FF at 1 x 16 bits, 170 at 8 x 16).
    "pad.lut": 440.0,
    "pad.ff": 50.0,
    "pad.ff_per_channel_bit": 1.0,
    # Concatenate: registers the output vector (cnn_large: 1,266 FF, 1,078 LUT for 79 x 16 bits).
    "concat.lut_per_bit": 0.85,
    "concat.ff_per_bit": 1.0,
    # io_parallel top level: input registers (CI io_parallel pooling: FF = input bits + 2, exactly).
    "io_parallel.ff_per_input_bit": 1.0,
    # FIFO control (tutorial csynth FIFO rows: 5 FF at depth 1-4, 7 at 16, 33-49 in block RAM; Vitis
    # cnn_large: 99 FF in registers, 148-163 in block RAM, 56 LUT each).
    "fifo.lut": 20.0,
    "fifo.ff_reg": 5.0,
    "fifo.ff_srl": 7.0,
    "fifo.ff_bram_per_addr_bit": 4.0,
    "fifo.ff_vitis_reg": 99.0,
    "fifo.ff_vitis_bram": 155.0,
    "fifo.lut_vitis": 56.0,
    # Vivado synthesis over csynth (tutorial pair: LUT 0.50, 0.45; FF 0.83, 0.70). csynth counts each
    # product's LUTs before synthesis shares and trims them.
    "synth.lut_factor": 0.48,
    "synth.ff_factor": 0.76,
}

#: Fraction of constant products (RF 1) built in DSPs at >= 14-bit weights, per strategy: Latency
#: (nnet_dense_latency.h): 0.76 = products-weighted over the calibration designs (tutorial 5,404 DSP for
#: 7,096 products; CI dense and depthwise1d 15 for 19); held-out: jet tagger 0.65, hls4ml test_report
#: dense 0.91 (csynth) / 0.83 (synthesis). Resource at RF 1
#: (nnet_dense_resource.h) CI conv2d Vivado 0.48, Vitis 0.52 (held-out), cnn_large 0.46 (held-out).
CONST_DSP_FRACTION = {"latency": 0.76, "resource": 0.48}


@dataclass(frozen=True)
class Cost:
    """Resource counts: BRAM18K, URAM, DSP slices, LUTs, flip-flops."""

    bram18k: float = 0
    uram: float = 0
    dsp: float = 0
    lut: float = 0
    ff: float = 0

    def __add__(self, o: Cost) -> Cost:
        """Resource by resource sum (BRAM18K, URAM blocks, DSP slices, LUT, FF)."""
        return Cost(
            self.bram18k + o.bram18k, self.uram + o.uram, self.dsp + o.dsp, self.lut + o.lut, self.ff + o.ff
        )

    def scaled(self, lut: float, ff: float) -> Cost:
        """This cost with LUT and FF multiplied by the factors `lut` and `ff` (dimensionless; e.g. the
        csynth -> post-synthesis ratios of the module doc); memory and DSP counts are kept."""
        return Cost(self.bram18k, self.uram, self.dsp, self.lut * lut, self.ff * ff)


@dataclass(frozen=True)
class LayerCost:
    """One layer's resources and timing: `cycles` at full input speed, `tail` after its last input, `interval`."""

    name: str
    kind: str
    cost: Cost
    cycles: int
    tail: int
    interval: int
    multipliers: int = 0
    dsp_multipliers: float = 0.0
    weight_bram18k: float = 0


@dataclass(frozen=True)
class FifoCost:
    """One stream (all its FIFOs): writer layer, FIFOs, depth and width of each, and its cost."""

    name: str
    count: int
    depth: int
    width: int
    cost: Cost


@dataclass(frozen=True)
class DesignEstimate:
    """Per-layer and per-stream costs, totals, latency and interval (cycles) of one design."""

    design: HlsDesign
    target: str
    layers: list[LayerCost]
    fifos: list[FifoCost] = field(default_factory=list)
    io_cost: Cost = Cost()
    latency_cycles: int = 0
    interval_cycles: int = 0

    @property
    def total(self) -> Cost:
        """The whole design: I/O, every layer (clone layers included) and every stream FIFO."""
        t = self.io_cost
        for lay in self.layers:
            t = t + lay.cost
        for f in self.fifos:
            t = t + f.cost
        return t

    def as_dict(self) -> dict[str, float | int]:
        """bram18k, uram, dsp, lut, ff (rounded), latency_cycles, interval_cycles."""
        t = self.total
        return {
            "bram18k": round(t.bram18k), "uram": round(t.uram), "dsp": round(t.dsp), "lut": round(t.lut),
            "ff": round(t.ff), "latency_cycles": self.latency_cycles, "interval_cycles": self.interval_cycles,
        }  # fmt: skip


def _clamp01(x: float) -> float:
    return max(0.0, min(1.0, x))


def variable_product_dsp(a_bits: int, b_bits: int) -> int:
    """DSP48E2 slices of one product of two run-time operands of `a_bits` and `b_bits` bits (0 when HLS
    builds it in LUTs: the wider operand under `DSP_MIN_WIDE_BITS` or the narrower under
    `DSP_MIN_NARROW_BITS`, 11 and 4 bits: Duarte et al. 2018, JINST 13 P07027; cnn_small bind report: 10 x 10
    bits in fabric, 16 x 10 in 1 DSP); else the 27 x 18 multiplier of a DSP48E2 (UG579) with the 17-bit
    cascade: `constmult.dsp48e2_slices` (16 x 16 -> 1, 32 x 20 -> 2, 32 x 32 -> 4)."""
    return dsp48e2_slices(a_bits, b_bits) if product_in_dsp(a_bits, b_bits) else 0


#: Fraction of constant products in DSPs by weight width, before `CONST_DSP_FRACTION` (linear in between):
#: 4-bit constants never (shift-adds), 6-bit 0.042 (tutorial QKeras: 226 DSP for 7,096 products = 0.032
#: = 0.76 x 0.042 (Latency)), 14 bits and wider all (the 16-bit tutorial and CI designs).
CONST_DSP_BY_WEIGHT_BITS: tuple[tuple[int, float], ...] = ((4, 0.0), (6, 0.042), (14, 1.0))


def _interp(x: float, points: tuple[tuple[int, float], ...]) -> float:
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return points[-1][1]


def constant_product_dsp(
    weight_bits: int, input_bits: int, strategy: str = "latency", weight_frac_bits: int | None = None
) -> float:
    """Expected DSP48E2 slices of one product by a constant weight whose value is not known (module doc:
    calibrated fraction; known values: `codesign.fpga.constmult`).

    0 when HLS builds the product in LUTs (`product_in_dsp` on the input width and the constant's width; with
    `weight_frac_bits` = f given, the model assumes trained weights below 0.5 in magnitude, so a constant of
    at most f signed bits: QKeras tutorial, the 16-bit output dense fed by 6-bit ReLUs); else
    CONST_DSP_FRACTION[strategy] x the weight-width factor x ceil((weight_bits + input_bits) / 45) (a DSP48E2
    gives a 45-bit product, UG579).
    """
    const_bits = weight_bits if weight_frac_bits is None else max(1, min(weight_bits, weight_frac_bits))
    if not product_in_dsp(const_bits, input_bits):
        return 0.0
    frac = _interp(weight_bits, CONST_DSP_BY_WEIGHT_BITS)
    return CONST_DSP_FRACTION[strategy] * frac * ceil((weight_bits + input_bits) / DSP_PRODUCT_BITS)


def table_copies(reads_per_cycle: int) -> int:
    """Copies of one activation table that HLS builds for `reads_per_cycle` lookups in the same cycle: a
    BRAM18K has two read ports (true dual-port, UG573), so ceil(reads / 2), at least 1. hls4ml issues n_in
    reads per call in io_parallel (nnet_activation.h `sigmoid`/`elu`: `#pragma HLS PIPELINE` over the loop on
    n_in) and res_T::size (the channels) per word in io_stream (nnet_activation_stream.h: `#pragma HLS
    UNROLL` of `SigmoidPackLoop` inside the pipelined `SigmoidActLoop`). CI test_activations: 32 BRAM18K
    for 64 outputs in all 12 elu/sigmoid reports; cnn_large sigmoid: 1 for 1."""
    return max(1, ceil(reads_per_cycle / BRAM_READ_PORTS))


def _acc_bits(layer: StreamLayer) -> int:
    """Accumulator width: hls4ml's accum_t defaults to the result type; products of n_in terms add log2 bits.
    A fused ReLU's unsigned result (`codesign.fpga.fusion`) drops the sign bit, not an accumulator bit."""
    return layer.result.width + (1 if layer.fused_relu and not layer.result.signed else 0)


def _strategy(layer: StreamLayer, design: HlsDesign) -> str:
    return layer.strategy or design.strategy


@dataclass(frozen=True)
class _Timing:
    cycles: int  # csynth latency of the layer fed at full speed
    tail: int  # cycles from its last input to its last output
    interval: int  # cycles between two images entering it


def _line_buffer_bits(layer: StreamLayer) -> int:
    """(kh-1) rows x padded input width x channels x input bits: nnet_conv_stream.h's `ap_shift_reg`s."""
    kh = layer.kernel[0]
    return max(kh - 1, 0) * layer.in_shape[1] * layer.in_shape[2] * layer.input.width


def conv_step_cycles(rf: int, backend: str, strategy: str) -> tuple[int, int]:
    """Cycles an io_stream conv/depthwise layer spends on one input pixel: (a pixel that completes an output
    window, a pixel that does not). The one rule both this cost model and the FIFO-sizing pipeline model
    (`codesign.fpga.dataflow`) use.

    * Latency strategy: the pixel loop is pipelined at II = RF (nnet_conv2d_stream.h `conv_2d_buffer_cl`:
      `#pragma HLS PIPELINE II=CONFIG_T::reuse_factor`): (RF, RF) (tutorial csynth: 1,027 for 1,024 pixels).
    * Resource strategy, Vivado HLS: the loop is not pipelined; `dense_resource` (RF iterations at II = 1,
      nnet_dense_resource.h) runs only on a complete window: (RF, 1).
    * Resource strategy, Vitis HLS: RF 1: (2, 2) (cnn_large csynth: conv config2 302 cycles for 150 pixels,
      config6 98 for 48); RF > 1: (RF + 5, 4) (cnn_small csynth at RF 36: 601 = 150 x 4 + 1 to
      6,151 = 150 x 41 + 1; at RF 252: 193 = 48 x 4 + 1 to 12,337 = 48 x 257 + 1).
    """
    if strategy == "latency":
        return rf, rf
    if backend == "vivado":
        return rf, 1
    return (2, 2) if rf == 1 else (rf + 5, 4)


def known_constant_dsp(layer: StreamLayer) -> tuple[float, float]:
    """(DSP slices, DSP-mapped products) of a weight layer at RF 1 whose weights are known: its values
    (`weight_values`, counted product by product) or the Keras initializer of untrained weights
    (`weight_init`, the expected count); rules and sources in `codesign.fpga.constmult`. Raises ValueError
    when the layer has neither."""
    assert layer.weight is not None
    w, ab = layer.weight, layer.input.width
    n_in, n_out, copies = layer.mult_size
    if layer.weight_values is not None:
        q = quantize(layer.weight_values, w.width, w.integer, w.signed)
        n_slices, n_products = constant_layer_dsp(q, n_out, ab)
        return float(n_slices), float(n_products)
    if layer.weight_init is None:
        raise ValueError(f"layer {layer.name} has no known weights")
    kh, kw = layer.kernel
    if layer.kind == "depthwise":  # Keras kernel (kh, kw, C, 1): fan_in kh*kw*C, fan_out kh*kw
        fans = (kh * kw * layer.in_shape[2], kh * kw)
    elif layer.kind == "conv":  # (kh, kw, cin, cout)
        fans = (n_in, kh * kw * n_out)
    else:
        fans = (n_in, n_out)
    slices, products = expected_constant_layer_dsp(
        layer.weight_init, fans, n_in * copies, n_out, w.width, w.integer, ab
    )
    d = layer.density  # pruned weights are zeros: the surviving share of the expectation (no shift of levels)
    return float(ceil(slices * d)), products * d


def _outputs_per_pixel(layer: StreamLayer) -> int:
    """Sums a weight layer forms per output pixel (n_out x copies; a depthwise conv one per channel): each
    sums its products in its own adder tree."""
    _, n_out, copies = layer.mult_size
    return n_out * copies


def stream_words_in(layer: StreamLayer, design: HlsDesign) -> int:
    """Stream words an io_stream layer reads per call (hls4ml's `CONFIG_T::n_in / data_T::size`): one per input
    pixel; a dense behind a Flatten reads the flattened map one pixel (all channels) per word, since hls4ml's
    io_stream Flatten is a reshape of the same stream."""
    by_name = {lay.name: lay for lay in design.layers}
    src = by_name.get(layer.inputs[0]) if layer.inputs else None
    if src is not None and src.kind == "flatten":
        return src.in_pixels
    return layer.in_pixels


def _stream_dense_timing(layer: StreamLayer, design: HlsDesign, rf: int, strategy: str) -> _Timing:
    """(cycles, tail, interval) of an io_stream dense (`nnet_dense_stream.h` `dense`), by backend, strategy and
    template version (`HlsDesign.hls4ml_major`). `words` = n_in / data_T::size (`stream_words_in`): the
    DataPrepare loop is pipelined only `if (CONFIG_T::n_in / data_T::size > 1)` (all versions).

    * hls4ml 0.x, Vivado HLS (`dense_wrapper`: `#pragma HLS INLINE region`): the function is not pipelined
      across calls, RF + 2 cycles, interval = latency (tutorial csynth, hls4ml 0.5, dense rows 7/7, 3/3, 2/2;
      hls4ml 0.7 test_report dense on a 7-series part: 7/7, not matched).
    * hls4ml 1.x, Vivado HLS (`dense_wrapper`: `#pragma HLS INLINE recursive` + `PIPELINE II=reuse_factor`):
      one word in, RF + 1 cycles (read and product, then bias add and write), pipelined at II = RF (CI
      test_dense and test_activations io_stream, Vivado HLS 2020.1: Dense(2)+ELU 3 cycles, Dense(64)+ReLU 2,
      interval 1). More words: the pipelined DataPrepare loop first (`words` cycles), then the product
      pipeline; the function is then not pipelined across calls (interval = latency; template rule, no report).
    * Vitis HLS, Latency (hls4ml 1.x Vitis `dense`: `INLINE recursive`; `data_prepare` and `res_write` outside
      the pipelined `dense_latency_wrapper`): the same RF + 1 cycles (+ `words` when > 1), not pipelined
      across calls (CI test_activations io_stream Dense(64)+ReLU, Vitis 2023.1/2024.1: 2 cycles, interval 2).
    * Vitis HLS, Resource: RF - 1 cycles, interval RF (cnn_large csynth dense rows: 0 at RF 1; cnn_small: RF).
    """
    words = stream_words_in(layer, design)
    read = words if words > 1 else 0
    if design.backend == "vitis":
        if strategy == "latency":
            cycles = read + rf + 1
            return _Timing(cycles, cycles, cycles)
        return _Timing(max(rf - 1, 0), max(rf - 1, 0), rf)
    if design.hls4ml_major == 0:
        return _Timing(rf + 2, rf + 2, rf + 2)
    cycles = read + rf + 1
    return _Timing(cycles, cycles, rf if words == 1 else cycles)


def _weight_layer(
    layer: StreamLayer, design: HlsDesign, target: str = "csynth"
) -> tuple[Cost, float, float, _Timing]:
    """(cost, multipliers, DSP-mapped multipliers, timing) of a conv/depthwise/dense layer (module doc)."""
    assert layer.weight is not None
    rf = max(1, layer.reuse)
    nz = layer.nonzero_multipliers
    wb, ab = layer.weight.width, layer.input.width
    strategy = _strategy(layer, design)
    vitis = design.backend == "vitis"
    weight_bram = 0.0
    codebook = layer.storage == "codebook"
    table_lut = 0.0
    if rf == 1 and (layer.weight_values is not None or layer.weight_init is not None):
        mults = float(nz)  # products by known constants: `codesign.fpga.constmult` (values or initializer)
        dsp, dsp_mults = known_constant_dsp(layer)
    elif rf == 1:
        mults = float(nz)
        per = constant_product_dsp(wb, ab, strategy, layer.weight.width - layer.weight.integer)
        dsp = float(ceil(nz * per))  # whole slices per layer (CI dense 1x2: 2 DSP for 2 products)
        dsp_mults = nz * _clamp01(per)
    else:
        # block factor per copy (nnet_dense_resource.h; depthwise: ceil(kh*kw*C / RF),
        # nnet_depthwise_product.h `block_factor`): stored zeros are multiplied too
        mults = float(layer.copies * ceil(layer.weights_per_copy / rf))
        dsp = mults * variable_product_dsp(wb, ab)
        dsp_mults = mults if dsp else 0.0
        if strategy == "resource":
            # the ROM: RF words deep, block x stored bits wide per copy; codebook storage stores an index
            stored = layer.index_bits if codebook else wb
            weight_bram = layer.copies * bram18k_for(rf, ceil(layer.weights_per_copy / rf) * stored)
            if codebook:  # every multiplier decodes table[index]: a 2^b-entry LUT ROM per value bit
                table_lut = mults * wb * ceil(2**layer.index_bits / LUT_ROM_ENTRIES)
    # Adders: at RF 1 every output sums its products in a tree of (products - 1) adders, so a layer with one input
    # per output (CI test_activations Dense(64) on 1 input) has none (Vivado HLS io_parallel: FF = the 16 input
    # bits + 2); at RF > 1 each multiplier feeds an accumulator (nnet_dense_resource.h).
    adders = max(mults - _outputs_per_pixel(layer), 0.0) if rf == 1 else mults
    adder_bits = adders * _acc_bits(layer)
    lut_product_bits = (mults - dsp_mults) * wb * ab
    lut = (
        LOGIC["mult.lut_per_adder_bit"] * adder_bits
        + LOGIC["mult.lut_per_lut_product_bit"] * lut_product_bits
        + table_lut
    )
    ff = LOGIC["mult.ff_per_adder_bit.vitis" if vitis else "mult.ff_per_adder_bit.vivado"] * adder_bits
    stream = design.io_type == "io_stream"
    if stream and layer.kind in ("conv", "depthwise"):
        ff += LOGIC["linebuffer.ff_per_bit"] * _line_buffer_bits(layer)
    if stream:
        if layer.kind == "dense":  # nnet_dense_stream.h: one dense call per vector
            timing = _stream_dense_timing(layer, design, rf, strategy)
            if vitis and strategy == "latency" and rf == 1:
                # Vitis registers the products of its Latency dense (CI test_activations io_stream Dense(64) +
                # ReLU, Vitis 2023.1/2024.1: 2,064 FF = 64 products x 32 bits + 16; Vitis io_parallel: 18 FF)
                ff += nz * (wb + ab)
        else:  # per input pixel, by whether it completes an output window (`conv_step_cycles`)
            window, other = conv_step_cycles(rf, design.backend, strategy)
            extra = 2 if vitis else 3
            # csynth states the worst case (every pixel taking the window branch: cnn_small 6,151 = 150 x 41
            # + 1); the design runs `window` cycles on the out_pixels windows and `other` on the rest
            n_win = layer.in_pixels if target == "csynth" else layer.out_pixels
            cycles = n_win * window + (layer.in_pixels - n_win) * other + extra
            timing = _Timing(cycles, extra, cycles)
    elif layer.kind == "dense":  # nnet_dense_latency.h, fully pipelined at II = RF
        cycles = rf if strategy == "latency" else rf + 1
        timing = _Timing(cycles, cycles, rf)
    else:  # io_parallel conv: one output pixel per RF cycles (CI conv2d: 49 pixels -> interval 49)
        timing = _Timing(layer.out_pixels * rf + 3, layer.out_pixels * rf + 3, layer.out_pixels * rf)
    return Cost(weight_bram, 0, dsp, lut, ff), mults, dsp_mults, timing


def layer_cost(layer: StreamLayer, design: HlsDesign, target: str = "csynth") -> LayerCost:
    """Resources and timing of one hls4ml layer function in `design` (module doc gives every rule).

    `target`: "csynth" (the HLS report) or "synth" (after Vivado synthesis). Raises HardwareConfigError
    for an unknown target.
    """
    if target not in TARGETS:
        raise HardwareConfigError(f"target must be one of {TARGETS}, got {target!r}")
    stream = design.io_type == "io_stream"
    vitis = design.backend == "vitis"
    h, w, c = layer.in_shape
    bits = layer.input.width
    mults = dsp_mults = 0.0
    weight_bram = 0.0
    if layer.kind in WEIGHT_KINDS:
        cost, mults, dsp_mults, timing = _weight_layer(layer, design, target)
        weight_bram = cost.bram18k
    elif layer.kind in ("global_maxpool", "global_avgpool"):
        # nnet_pooling_stream.h `global_pooling2d_cl`: `accum_t data_window[n_filt]` (ARRAY_PARTITION complete),
        # one accumulator (or running max) per channel updated once per input pixel; then `AvgPoolRes`
        # computes every channel's `data_window[i] / (in_height * in_width)` in one pipelined iteration
        # (res_T::size = n_filt). A division by a constant that is not a power of two is a product by a
        # constant (HLS lowers it to multiply and shift), costed by the constant-product rule at the
        # accumulator width; a power of two is a shift. No stored report has a global pool: this rule is
        # read off the template, not checked against synthesis.
        acc = bits + ceil(log2(max(h * w, 2))) + (0 if layer.input.signed else 1)  # a signed accumulator
        if stream:
            lut = LOGIC["avgpool.lut_per_op_bit"] * c * acc  # one adder (comparator) per channel
            ff = float(c * acc)
            timing = _Timing(layer.in_pixels + 3, 3, layer.in_pixels + 3)
        else:
            lut, ff = LOGIC["avgpool.lut_per_op_bit"] * c * (h * w - 1) * bits, 0.0
            timing = _Timing(0, 0, 1)
        dsp = 0.0
        n = h * w
        if layer.kind == "global_avgpool" and n & (n - 1):
            per = constant_product_dsp(acc, acc, "latency")
            dsp = float(ceil(c * per))
            mults, dsp_mults = float(c), c * _clamp01(per)
            lut += LOGIC["mult.lut_per_lut_product_bit"] * (c - dsp_mults) * acc * acc
        cost = Cost(0, 0, dsp, lut, ff)
    elif layer.kind in ("maxpool", "avgpool"):
        kh, kw = layer.kernel
        op = layer.kind
        if stream:  # nnet_pooling_stream.h: channel loop unrolled inside the pixel loop
            lut = LOGIC["pool_stream.lut_per_op_bit"] * c * (kh * kw - 1) * bits
            ff = LOGIC["pool_stream.ff_per_window_bit." + design.backend] * kh * kw * c * bits
            extra = 2 if vitis else 3
            timing = _Timing(layer.in_pixels + extra, extra, layer.in_pixels + extra)
        else:  # io_parallel: one tree per output, combinational (CI pooling: latency 0, interval 1)
            n_out = layer.out_shape[0] * layer.out_shape[1] * c
            lut = LOGIC[op + ".lut_per_op_bit"] * n_out * (kh * kw - 1) * bits
            ff = 0.0
            timing = _Timing(0, 0, 1)
        cost = Cost(0, 0, 0, lut, ff)
    elif layer.kind == "relu":
        n = c if stream else h * w * c
        key = "relu.lut_per_bit" if stream else "relu.lut_per_bit.io_parallel"
        if layer.result != layer.input:  # a cast with rounding/saturation to a narrower type
            key = "relu.lut_per_bit.requantize"
        cost = Cost(0, 0, 0, LOGIC[key] * n * bits, 0)
        if stream and layer.in_pixels > 1:
            timing = _Timing(layer.in_pixels + 2, 2, layer.in_pixels + 2)
        else:  # a vector: inlined (tutorial: relu after dense 0 cycles; jet tagger io_parallel: 1 register)
            timing = _Timing(0 if stream else 1, 0 if stream else 1, 1)
    elif layer.kind == "bn":
        n = c if stream else h * w * c
        cost = Cost(0, 0, n, LOGIC["bn.lut_per_bit"] * n * bits, LOGIC["bn.ff_per_bit"] * n * bits)
        cyc = layer.in_pixels + 1 if stream and layer.in_pixels > 1 else 1
        timing = _Timing(cyc, 1, max(cyc, 1))
    elif layer.kind in TABLE_ACTIVATIONS:
        n = layer.out_shape[0] * layer.out_shape[1] * layer.out_shape[2]
        if layer.kind == "softmax":
            lut_key = "table.lut_per_output" if stream else "table.lut_per_output.io_parallel"
            ff = LOGIC["table.ff_per_output"] * n if stream else 0
        else:
            lut_key, ff = "table1.lut_per_output", LOGIC["table1.ff_per_output_bit"] * n * layer.result.width
        dsp = n if layer.kind == "softmax" else 0
        if layer.kind in TABLE_BRAM:
            bram = float(TABLE_BRAM[layer.kind])
        else:  # one table copy per two reads in the same cycle (module doc)
            reads = layer.out_shape[2] if stream else n
            bram = float(table_copies(reads) * bram18k_for(TABLE_SIZE, TABLE_BITS))
        cost = Cost(bram, 0, dsp, LOGIC[lut_key] * n, ff)
        cyc = (7 if stream else 2) if layer.kind == "softmax" else (2 if vitis else 1)
        timing = _Timing(cyc, cyc, 1)
    elif layer.kind == "pad":  # nnet_padding_stream.h: one output pixel per cycle
        cost = Cost(0, 0, 0, LOGIC["pad.lut"], LOGIC["pad.ff"] + LOGIC["pad.ff_per_channel_bit"] * c * bits)
        cyc = layer.out_pixels + (13 if vitis else 3)
        timing = _Timing(cyc, 1, cyc)
    elif layer.kind == "concat":
        # nnet_merge_stream.h: a vector concat registers the whole output (cnn_large concatenate1d);
        # a feature-map concat handles one pixel (all channels) per cycle.
        n_bits = layer.out_shape[2] * layer.result.width
        cost = Cost(0, 0, 0, LOGIC["concat.lut_per_bit"] * n_bits, LOGIC["concat.ff_per_bit"] * n_bits)
        timing = (
            _Timing(layer.in_pixels + 7, 7, layer.in_pixels + 7)
            if layer.out_pixels == 1
            else _Timing(layer.out_pixels + 2, 2, layer.out_pixels + 2)
        )
    elif layer.kind == "transpose":
        # nnet_transpose_stream.h: `data_array[N]` fully partitioned (N registers of the input type), written one
        # input pixel per cycle, then read out one output word (W elements) per cycle. LUT: a write-enable per
        # register bit (our assumption; no stored report has a transpose).
        n_bits = h * w * c * bits
        cost = Cost(0, 0, 0, n_bits, n_bits)
        n_out = layer.out_shape[0] * layer.out_shape[1]
        timing = _Timing(layer.in_pixels + n_out + 2, n_out + 1, layer.in_pixels + n_out + 2)
    elif layer.kind == "flatten":  # a reshape of the stream: no hardware
        cost, timing = Cost(), _Timing(0, 0, 1)
    else:  # clone, add: a copy or an adder per element per pixel
        cost = Cost(0, 0, 0, c * bits, 0)
        timing = _Timing(layer.in_pixels + 1, 1, layer.in_pixels + 1)
    if layer.fused_relu:  # the output cast also saturates at 0 (codesign.fpga.fusion); per bit the ReLU read
        n_out = layer.out_shape[2] if stream else layer.out_pixels * layer.out_shape[2]
        relu_bits = layer.result.width + (0 if layer.result.signed else 1)
        cost = cost + Cost(0, 0, 0, LOGIC["relu.fused_cast_lut_per_bit"] * n_out * relu_bits, 0)
    if target == "synth":
        cost = cost.scaled(LOGIC["synth.lut_factor"], LOGIC["synth.ff_factor"])
    return LayerCost(layer.name, layer.kind, cost, int(timing.cycles), int(timing.tail), int(max(timing.interval, 1)),
                     int(mults), dsp_mults, weight_bram)  # fmt: skip


def fifo_cost(
    width: int,
    depth: int,
    channels: int,
    backend: str,
    target: str = "csynth",
    memory: str = "bram",
    impl: str | None = None,
) -> FifoCost:
    """Cost of one io_stream stream of `channels` elements of `width` bits, `depth` deep (module doc).

    `memory="uram"`: the FIFOs that would take block RAM take URAM instead, 4096 x 72 per block (UG573).
    `impl` (a Plan's binding, `bind_storage ... type=fifo impl=`, UG1399) forces the memory of every FIFO
    of the stream: "bram" (Vivado HLS: the best BRAM18K tiling per FIFO; Vitis: its 1K x 18 tiles),
    "uram" (4096 x 72 blocks), "lutram" (RAM32M/RAM64M, 4 LUTs per 32 x 6 or 64 x 3, UG574) or "srl"
    (SRL32: one LUT per 32 entries per bit, UG574); None or "auto" keeps the tool's own rule.
    Raises HardwareConfigError for another `impl`.
    """
    if impl not in (None, "auto", *FIFO_IMPLS):
        raise HardwareConfigError(f"FIFO memory must be one of auto, {', '.join(FIFO_IMPLS)}; got {impl!r}")
    if backend == "vivado":
        count, fw = channels, width
    else:
        count, fw = 1, channels * width
    memory_luts = 0
    if impl in (None, "auto"):
        one = _auto_fifo(fw, depth, backend, target)
    else:
        lut = LOGIC["fifo.lut"] if backend == "vivado" else LOGIC["fifo.lut_vitis"]
        ff = LOGIC["fifo.ff_srl"] if backend == "vivado" else LOGIC["fifo.ff_vitis_reg"]
        if impl in ("bram", "uram"):
            ff = (
                LOGIC["fifo.ff_bram_per_addr_bit"] * ceil(log2(depth + 1)) + 5
                if backend == "vivado"
                else LOGIC["fifo.ff_vitis_bram"]
            )
        if impl == "bram":
            blocks = bram18k_for(depth, fw) if backend == "vivado" else ceil(depth / 1024) * ceil(fw / 18)
            one = Cost(blocks, 0, 0, lut, ff)
        elif impl == "uram":
            one = Cost(0, uram_for(depth, fw), 0, lut, ff)
        elif impl == "lutram":
            one, memory_luts = Cost(0, 0, 0, lut, ff), lutram_luts(depth, fw)
        else:
            one, memory_luts = Cost(0, 0, 0, lut, ff), srl_luts(depth, fw)
    total = Cost(one.bram18k * count, one.uram * count, 0, one.lut * count, one.ff * count)
    if impl in (None, "auto") and memory == "uram" and total.bram18k:
        total = Cost(0, uram_for(depth, fw) * count, 0, total.lut, total.ff)
    if target == "synth":  # control logic shrinks in synthesis like the layers' logic does
        total = total.scaled(LOGIC["synth.lut_factor"], LOGIC["synth.ff_factor"])
    # A forced LUTRAM/SRL FIFO's storage is counted in primitives (UG574), as many after synthesis as before: it is
    # added after the csynth -> synthesis factor, which applies to control logic only.
    total = Cost(total.bram18k, total.uram, total.dsp, total.lut + memory_luts * count, total.ff)
    return FifoCost("", count, depth, fw, total)


def _auto_fifo(fw: int, depth: int, backend: str, target: str) -> Cost:
    """One FIFO of `fw` bits x `depth` where the HLS tool and synthesis choose the memory (module doc)."""
    bits = depth * fw
    if backend == "vivado":
        if depth <= REG_FIFO_MAX_DEPTH:
            one = Cost(0, 0, 0, LOGIC["fifo.lut"] + fw, LOGIC["fifo.ff_reg"])
        elif depth <= VIVADO_SRL_MAX_DEPTH:
            one = Cost(0, 0, 0, LOGIC["fifo.lut"] + fw * ceil(depth / 32), LOGIC["fifo.ff_srl"])
        else:
            addr = ceil(log2(depth + 1))
            one = Cost(
                bram18k_for(depth, fw), 0, 0, LOGIC["fifo.lut"], LOGIC["fifo.ff_bram_per_addr_bit"] * addr + 5
            )
        if target == "synth" and one.bram18k and bits <= SYNTH_BRAM_MIN_BITS:
            one = Cost(0, 0, 0, LOGIC["fifo.lut"] + fw * ceil(depth / 32), one.ff)
        return one
    if depth <= VITIS_SRL_MAX_DEPTH or bits <= SRL_MAX_BITS:
        return Cost(0, 0, 0, LOGIC["fifo.lut_vitis"], LOGIC["fifo.ff_vitis_reg"])
    return Cost(
        ceil(depth / 1024) * ceil(fw / 18), 0, 0, LOGIC["fifo.lut_vitis"], LOGIC["fifo.ff_vitis_bram"]
    )


def _dag_latency(design: HlsDesign, rows: list[LayerCost]) -> int:
    """finish_i = max(finish_in + tail_i, start_i + cycles_i), start_i = max(start_in + tail_in) (module doc)."""
    start: dict[str, int] = {"input": 0}
    finish: dict[str, int] = {"input": 0}
    tail: dict[str, int] = {"input": 0}
    prev = "input"
    for lay, r in zip(design.layers, rows, strict=True):
        srcs = [s for s in lay.inputs if s in finish] or [prev]
        start[lay.name] = max(start[s] + tail[s] for s in srcs)
        finish[lay.name] = max(max(finish[s] for s in srcs) + r.tail, start[lay.name] + r.cycles)
        tail[lay.name] = r.tail
        prev = lay.name
    return max(finish.values())


def _stream_fifos(design: HlsDesign, target: str) -> tuple[list[FifoCost], list[LayerCost]]:
    """Every io_stream FIFO and the Clone layers hls4ml inserts (nnet_stream.h `clone_stream`).

    A layer output read by no layer is an output port (no FIFO). A tensor read by k > 1 layers goes
    through a Clone layer writing k more streams `<name>.clone<i>`; that holds for the network input too
    (its Clone reads the input port and writes k FIFOs).
    """
    direct = consumers(design)
    kinds = {lay.name: lay.kind for lay in design.layers}

    def through_reshapes(name: str) -> list[str]:
        """Readers of a stream, a flatten (a reshape of the same stream) replaced by its own readers: a tensor
        whose only reader is a final flatten is the output port (hls4ml's GlobalPooling2D absorbs it)."""
        out: list[str] = []
        for r in direct.get(name, []):
            out += through_reshapes(r) if kinds.get(r) == "flatten" else [r]
        return out

    readers = {name: through_reshapes(name) for name in ["input", *kinds]}
    fifos: list[FifoCost] = []
    clones: list[LayerCost] = []
    streams: list[tuple[str, tuple[int, int, int], int, bool]] = [
        ("input", design.input_shape, design.input_precision.width, False)
    ]
    streams += [(lay.name, lay.out_shape, lay.result.width, lay.kind != "flatten") for lay in design.layers]
    for name, shape, bits, own_fifo in streams:
        k = len(readers.get(name, []))
        if k == 0:
            continue
        h, w, c = shape
        depth = int(design.fifo_depths.get(name, h * w))
        if own_fifo:
            f = fifo_cost(
                bits, depth, c, design.backend, target, design.fifo_memory, design.fifo_impl.get(name)
            )
            fifos.append(FifoCost(name, f.count, f.depth, f.width, f.cost))
        if k > 1:
            for i in range(1, k + 1):
                cname = f"{name}.clone{i}"
                f = fifo_cost(
                    bits,
                    int(design.fifo_depths.get(cname, h * w)),
                    c,
                    design.backend,
                    target,
                    design.fifo_memory,
                    design.fifo_impl.get(cname),
                )
                fifos.append(FifoCost(cname, f.count, f.depth, f.width, f.cost))
            lut = c * bits * k * (LOGIC["synth.lut_factor"] if target == "synth" else 1.0)
            clones.append(LayerCost(f"{name}.clone", "clone", Cost(0, 0, 0, lut, 0), h * w + 1, 1, h * w + 1))
    return fifos, clones


def estimate(design: HlsDesign, target: str = "csynth", plan: Plan | None = None) -> DesignEstimate:
    """Every layer's and stream's cost, the totals, latency and interval of `design` (module doc).

    io_stream: every layer output read by another layer is one stream (`_stream_fifos`), at the design's
    depth for it (hls4ml's default H*W unless set in `fifo_depths`). `plan` (per-layer reuse factor,
    weight width, dense/codebook storage; per-stream FIFO memory) is applied first
    (`codesign.fpga.design.with_plan`); the returned `.design` is the planned one. Raises
    HardwareConfigError for a bad target or a plan naming unknown layers or streams.
    """
    design = with_plan(design, plan)
    rows = [layer_cost(lay, design, target) for lay in design.layers]
    fifos: list[FifoCost] = []
    io = Cost()
    if design.io_type == "io_stream":
        fifos, clones = _stream_fifos(design, target)
        latency = _dag_latency(design, rows)
        rows = rows + clones
        # A layer that is not pipelined across images needs one cycle to restart (tutorial: 1,027 -> 1,028).
        slowest = max(r.interval for r in rows)
        interval = slowest + 1 if slowest > 1 else slowest
        if design.backend == "vitis" and all(lay.in_pixels == 1 for lay in design.layers):
            # Vitis HLS does not overlap two calls of a dataflow region whose layers each read one word per call
            # (no pixel loop): interval = latency (CI test_dense and test_activations io_stream, Vitis
            # 2023.1/2024.1: Dense(2)+ELU 4/4, Dense(64)+ReLU 2/2, +ELU/sigmoid 4/4). With pixel loops the
            # calls overlap (cnn_large 303 < 311).
            interval = max(latency, 1)
    else:
        h, w, c = design.input_shape
        ff = LOGIC["io_parallel.ff_per_input_bit"] * h * w * c * design.input_precision.width
        io = Cost(0, 0, 0, 0, ff if target == "csynth" else ff * LOGIC["synth.ff_factor"])
        latency = sum(r.cycles for r in rows)
        interval = max(max(r.interval for r in rows), 1)
    return DesignEstimate(design, target, rows, fifos, io, int(latency), int(interval))


def layer_estimate(
    layer: StreamLayer,
    *,
    backend: str = "vitis",
    strategy: str = "resource",
    io_type: str = "io_stream",
    reuse: int | None = None,
    precision: str | None = None,
    target: str = "synth",
) -> LayerCost:
    """One layer's costs and timing under these settings, without building a design first.

    `layer`: a StreamLayer (shapes, kind, precisions); `reuse`/`precision` override the layer's own (the
    precision string applies to input, result and weights). Returns `LayerCost` (BRAM18K, URAM, DSP, LUT,
    FF in `.cost`; `cycles`, `tail`, `interval` in clock cycles). Raises HardwareConfigError on bad settings.
    """
    from dataclasses import replace

    from codesign.fpga.design import BACKENDS, IO_TYPES, STRATEGIES, parse_precision

    for value, allowed, what in ((backend, BACKENDS, "backend"), (strategy, STRATEGIES, "strategy"),
                                 (io_type, IO_TYPES, "io_type")):  # fmt: skip
        if value not in allowed:
            raise HardwareConfigError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")
    if reuse is not None:
        if reuse < 1:
            raise HardwareConfigError(f"reuse must be >= 1, got {reuse}")
        layer = replace(layer, reuse=int(reuse))
    if precision is not None:
        p = parse_precision(precision)
        layer = replace(layer, input=p, result=p, weight=p if layer.weight is not None else None)
    design = HlsDesign(layer.name, (layer,), backend, strategy, io_type, layer.in_shape, layer.input)
    return layer_cost(layer, design, target)
