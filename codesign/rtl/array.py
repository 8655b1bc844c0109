"""Amaranth generator of the R x C systolic PE array the simulator models (WS, OS and IS dataflows).

The generated design is the register-level machine of `codesign.sim.reference` in hardware, with the
global buffer (GB) left outside as line-wide read/write ports driven by a testbench or a memory system:

* **Ports.** ``a_rd`` (out) asks for the next ifmap line this cycle; the GB answers in the same cycle on
  ``a_in`` (R packed signed words, row r at bits ``r*act_bits``; IS: the filter, ``weight_bits``) with ``a_in_v`` (R valid bits; a null word of
  a partial fold has its bit clear). ``w_rd``/``w_row`` (out) ask for a weight line: WS, the weights of array
  row ``w_row`` (bottom row first, SCALE-Sim's preload order); OS, the next filter line ``B[k, n0:n0+C]``.
  The GB answers on ``w_in``/``w_in_v`` (C packed words). Outputs leave at the bottom edge: ``o_v`` (C bits)
  marks a valid word on ``o_data`` (C packed ``psum_bits`` words) in this cycle; WS ``o_acc`` says the GB must
  add it to the partial sum it already holds (a psum read) instead of overwriting.
* **Commands.** One command per fold: ``cmd_len`` (stream length: T pixels for WS, K window words for OS),
  ``cmd_first`` (WS: first K-fold, no psum read-back), ``cmd_has_next`` (WS overlap: the next fold's weights
  may be shifted in during this fold). The array takes a command in a cycle where ``cmd_ready`` is high and
  ``cmd_valid`` is set, back to back with the previous fold (no idle cycle). ``overlap`` (static) selects the
  overlap timing on a design generated with shadow weight registers.
* **Skew.** Row r of the ifmap (and, OS, column c of the filter) passes r (c) delay registers before the
  array, so PE (r, c) sees stream word t in stream cycle t + r + c.
* **Fold end.** Data-driven, not a formula: a ``last`` flag travels with the last stream word of the bottom
  row; the fold ends in the cycle the bottom-right PE consumes it (WS: the last psum leaves the bottom edge;
  OS: the last PE does its K-th accumulation). ``fold_done`` pulses the next cycle with ``fold_cycles``.
* **Weights (WS).** A shift chain per column, loaded from the top, one row per cycle, bottom row first. With
  ``shadow=True`` each PE also has an active weight register: in overlap timing the chain (shadow) takes the
  next fold's weights during the first R stream cycles and is copied into the active registers at the fold
  boundary, so only the layer's first fold pays the R-cycle preload.
* **IS (input-stationary).** The WS datapath with the operands' roles swapped, as in the simulator
  (`codesign.sim.mapping`): the stationary chain (``w_*`` ports, ``act_bits`` words) preloads the ifmap
  window block, array column c holding the window of output pixel t0 + c, bottom row first; the left edge
  (``a_*`` ports, ``weight_bits`` words) streams the N filters, one K-block line per filter (``cmd_len`` =
  N); psums of pixel t0 + c leave the bottom of column c in filter order. Shadow registers and the overlap
  timing work as for WS. The counters keep the simulator's operand names: stationary-chain reads and hops
  count as ifmap, left-edge reads and hops as filter.
* **OS drain.** At the fold end the accumulators are copied into drain registers that shift down one row per
  cycle into the GB (bottom row first), overlapping the next fold, as in the reference.
* **Counters** (instrumentation, ``counters=True``): cycles in folds, MACs, GB words read/written per operand,
  and inter-PE hops per operand, counting valid words only (null words of a partial fold move but do not
  count), with the definitions of `codesign.sim.analytical`.

Widths come from the hardware YAML (`codesign.hw.model.Accelerator`): ``act_bits``, ``weight_bits`` signed
operands, ``psum_bits`` signed accumulators (two's-complement wrap-around on overflow).
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Elaboratable, Module, Mux, Signal, Value, signed

#: Width of the stream-length field and the per-fold cycle counter.
LEN_BITS = 24
#: Width of every event counter.
COUNTER_BITS = 48

#: Counter outputs, in the order the testbench reads them.
COUNTERS = (
    "cycles", "macs", "gb_ifmap_rd", "gb_filter_rd", "gb_psum_rd", "gb_ofmap_wr",
    "hop_ifmap", "hop_filter", "hop_ofmap",
)  # fmt: skip


@dataclass(frozen=True)
class ArrayConfig:
    """Static parameters of one generated array.

    rows, cols: PE array size (R, C). act_bits, weight_bits, psum_bits: signed operand and accumulator widths
    in bits (a product or sum wider than psum_bits wraps around, as in a real accumulator). dataflow: 'ws', 'os'
    or 'is'. shadow: WS and IS only, generate shadow registers for the stationary operand (overlap timing).
    counters: generate the event counters (off for resource figures of the bare array).
    """

    rows: int
    cols: int
    act_bits: int = 8
    weight_bits: int = 8
    psum_bits: int = 32
    dataflow: str = "ws"
    shadow: bool = True
    counters: bool = True

    def __post_init__(self) -> None:
        if self.dataflow not in ("ws", "os", "is"):
            raise ValueError(f"dataflow must be 'ws', 'os' or 'is', got {self.dataflow!r}")
        if self.rows < 1 or self.cols < 1:
            raise ValueError(f"array must be at least 1x1, got {self.rows}x{self.cols}")
        if min(self.act_bits, self.weight_bits, self.psum_bits) < 2:
            raise ValueError("act_bits, weight_bits and psum_bits must be at least 2")

    @property
    def stationary(self) -> bool:
        """True for the dataflows with a preloaded stationary operand (WS, IS)."""
        return self.dataflow in ("ws", "is")

    @property
    def stream_bits(self) -> int:
        """Width of the words entering at the left edge (``a_in``): the filter in IS, the ifmap otherwise."""
        return self.weight_bits if self.dataflow == "is" else self.act_bits

    @property
    def top_bits(self) -> int:
        """Width of the words entering at the top edge (``w_in``): the ifmap in IS, the filter otherwise."""
        return self.act_bits if self.dataflow == "is" else self.weight_bits

    @property
    def name(self) -> str:
        """Verilog module name: dataflow, rows x cols, operand/psum widths (bits), ``_shadow`` if double-buffered."""
        sh = "_shadow" if self.stationary and self.shadow else ""
        return (
            f"systolic_{self.dataflow}_{self.rows}x{self.cols}_a{self.act_bits}w{self.weight_bits}"
            f"p{self.psum_bits}{sh}"
        )


#: IS counter names: the left edge carries the filter and the stationary chain the ifmap (WS's roles swapped).
_IS_NAMES = {
    "gb_ifmap_rd": "gb_filter_rd", "gb_filter_rd": "gb_ifmap_rd", "hop_ifmap": "hop_filter", "hop_filter": "hop_ifmap",
}  # fmt: skip


def _popcount(bits: list[Value]) -> Value:
    """Sum of 1-bit values as a balanced adder tree (0 for an empty list)."""
    vals = list(bits)
    if not vals:
        return Const(0, 1)
    while len(vals) > 1:
        nxt = [vals[i] + vals[i + 1] for i in range(0, len(vals) - 1, 2)]
        if len(vals) % 2:
            nxt.append(vals[-1])
        vals = nxt
    return vals[0]


class SystolicArray(Elaboratable):  # type: ignore[misc]  # amaranth ships no type information
    """The generated array; see the module docstring for the ports and their timing."""

    def __init__(self, cfg: ArrayConfig) -> None:
        self.cfg = cfg
        R, C = cfg.rows, cfg.cols
        self.overlap = Signal()
        self.cmd_valid = Signal()
        self.cmd_len = Signal(LEN_BITS)
        self.cmd_first = Signal()
        self.cmd_has_next = Signal()
        self.cmd_ready = Signal()
        self.clear = Signal()
        self.a_rd = Signal()
        self.a_in = Signal(R * cfg.stream_bits)
        self.a_in_v = Signal(R)
        self.w_rd = Signal()
        self.w_row = Signal(range(max(R, 2)))
        self.w_in = Signal(C * cfg.top_bits)
        self.w_in_v = Signal(C)
        self.o_v = Signal(C)
        self.o_acc = Signal(C)
        self.o_data = Signal(C * cfg.psum_bits)
        self.busy = Signal()
        self.fold_done = Signal()
        self.fold_cycles = Signal(LEN_BITS)
        self.cnt = (
            {name: Signal(COUNTER_BITS, name=f"cnt_{name}") for name in COUNTERS} if cfg.counters else {}
        )

    @property
    def ports(self) -> list[Signal]:
        """Top-level ports, for `amaranth.back.verilog.convert`."""
        return [
            self.overlap, self.cmd_valid, self.cmd_len, self.cmd_first, self.cmd_has_next, self.cmd_ready,
            self.clear, self.a_rd, self.a_in, self.a_in_v, self.w_rd, self.w_row, self.w_in, self.w_in_v,
            self.o_v, self.o_acc, self.o_data, self.busy, self.fold_done, self.fold_cycles,
            *self.cnt.values(),
        ]  # fmt: skip

    # -- helpers -----------------------------------------------------------------------------------------
    @staticmethod
    def _delay(m: Module, sig: Value, n: int, name: str) -> Value:
        """`sig` delayed by n registers (n = 0: the signal itself)."""
        cur = sig
        for s in range(n):
            reg = Signal(Value.cast(sig).shape(), name=f"{name}_d{s}")
            m.d.sync += reg.eq(cur)
            cur = reg
        return cur

    def _word(self, bus: Signal, i: int, bits: int) -> Value:
        return bus[i * bits : (i + 1) * bits].as_signed()

    def _count(self, m: Module, name: str, expr: Value) -> None:
        if not self.cfg.counters:
            return
        if self.cfg.dataflow == "is":  # left edge = filter, stationary chain = ifmap
            name = _IS_NAMES.get(name, name)
        c = self.cnt[name]
        with m.If(self.clear):
            m.d.sync += c.eq(0)
        with m.Else():
            m.d.sync += c.eq(c + expr)

    # -- elaboration -------------------------------------------------------------------------------------
    def elaborate(self, platform: object) -> Module:
        """The array's logic (amaranth ``Elaboratable`` protocol; ``platform`` is unused: plain RTL)."""
        m = Module()
        cfg = self.cfg
        R, C = cfg.rows, cfg.cols
        IDLE, PRELOAD, STREAM = 0, 1, 2
        state = Signal(2)
        length = Signal(LEN_BITS)
        ucnt = Signal(LEN_BITS)
        first = Signal()
        has_next = Signal()
        cyc = Signal(LEN_BITS)

        streaming = state == STREAM
        m.d.comb += self.a_rd.eq(streaming & (ucnt < length))
        last_in = self.a_rd & (ucnt == length - 1)
        first_in = self.a_rd & (ucnt == 0)
        m.d.comb += self.busy.eq(state != IDLE)
        with m.If(self.a_rd):
            m.d.sync += ucnt.eq(ucnt + 1)
        m.d.sync += cyc.eq(Mux(state != IDLE, cyc + 1, 0))
        self._count(m, "cycles", state != IDLE)

        # Left edge: row r's ifmap word, valid bit and flags after r skew registers.
        ex, ev, etok, efirst, elast, eacc = [], [], [], [], [], []
        for r in range(R):
            x0 = Signal(signed(cfg.stream_bits), name=f"a_word{r}")
            v0 = Signal(name=f"a_valid{r}")
            m.d.comb += [x0.eq(self._word(self.a_in, r, cfg.stream_bits)), v0.eq(self.a_in_v[r] & self.a_rd)]
            ex.append(self._delay(m, x0, r, f"skew_x{r}"))
            ev.append(self._delay(m, v0, r, f"skew_v{r}"))
            etok.append(self._delay(m, self.a_rd, r, f"skew_tok{r}") if cfg.dataflow == "os" else None)
            efirst.append(self._delay(m, first_in, r, f"skew_first{r}") if cfg.dataflow == "os" else None)
            elast.append(self._delay(m, last_in, r, f"skew_last{r}") if r == R - 1 else None)
        acc_flag_in = Signal()
        m.d.comb += acc_flag_in.eq(self.a_rd & ~first)
        eacc = acc_flag_in

        # ifmap registers (shift right every cycle) and the last flag along the bottom row.
        x = [[Signal(signed(cfg.stream_bits), name=f"x_{r}_{c}") for c in range(C)] for r in range(R)]
        xv = [[Signal(name=f"xv_{r}_{c}") for c in range(C)] for r in range(R)]
        xl = [Signal(name=f"xl_{c}") for c in range(C)]
        x_in = [[ex[r] if c == 0 else x[r][c - 1] for c in range(C)] for r in range(R)]
        xv_in = [[ev[r] if c == 0 else xv[r][c - 1] for c in range(C)] for r in range(R)]
        for r in range(R):
            for c in range(C):
                m.d.sync += [x[r][c].eq(x_in[r][c]), xv[r][c].eq(xv_in[r][c])]
        for c in range(C):
            m.d.sync += xl[c].eq(elast[R - 1] if c == 0 else xl[c - 1])
        last_at_end = elast[R - 1] if C == 1 else xl[C - 2]
        fold_end = Signal()
        m.d.comb += fold_end.eq(streaming & last_at_end)
        self._count(m, "hop_ifmap", _popcount([xv[r][c] for r in range(R) for c in range(C - 1)]))
        self._count(m, "gb_ifmap_rd", Mux(self.a_rd, _popcount([self.a_in_v[r] for r in range(R)]), 0))

        if cfg.stationary:
            load_done, need_preload = self._ws(m, x_in, xv_in, eacc, state, has_next, fold_end)
        else:
            load_done = need_preload = None
            self._os(m, x_in, xv_in, etok, efirst, fold_end)

        # Controller.
        accept = Signal()
        m.d.comb += [
            self.cmd_ready.eq((state == IDLE) | fold_end),
            accept.eq(self.cmd_ready & self.cmd_valid),
        ]
        m.d.sync += self.fold_done.eq(fold_end)
        with m.If(fold_end):
            m.d.sync += self.fold_cycles.eq(cyc + 1)
        if cfg.stationary:
            with m.If((state == PRELOAD) & load_done):
                m.d.sync += state.eq(STREAM)
        with m.If(accept):
            m.d.sync += [
                length.eq(self.cmd_len), first.eq(self.cmd_first), has_next.eq(self.cmd_has_next),
                cyc.eq(0), ucnt.eq(0),
            ]  # fmt: skip
            if cfg.stationary:
                with m.If(need_preload):
                    m.d.sync += state.eq(PRELOAD)
                with m.Else():
                    m.d.sync += state.eq(STREAM)
            else:
                m.d.sync += state.eq(STREAM)
        with m.Elif(fold_end):
            m.d.sync += state.eq(IDLE)
        return m

    def _ws(
        self,
        m: Module,
        x_in: Value,
        xv_in: Value,
        acc_flag_in: Value,
        state: Signal,
        has_next: Value,
        fold_end: Value,
    ) -> tuple[Value, Value]:
        """WS (and IS) datapath: stationary chain (+ shadow), psums moving down, writes at the bottom edge."""
        cfg = self.cfg
        R, C = cfg.rows, cfg.cols
        PRELOAD, STREAM = 1, 2
        loading = Signal()
        step = Signal(range(max(R, 2)))
        shadow_ready = Signal()
        swap_now = Signal()  # active <= chain (its next value) at this edge
        load_done = Signal()
        m.d.comb += [
            load_done.eq(loading & (step == R - 1)),
            self.w_rd.eq(loading),
            self.w_row.eq(R - 1 - step),
        ]
        shift = loading

        overlap = self.overlap if cfg.shadow else Const(0, 1)
        shadow_now = Signal()
        m.d.comb += shadow_now.eq(shadow_ready | (load_done & (state == STREAM)))
        need_preload = Signal()
        m.d.comb += need_preload.eq(~(overlap & shadow_now))
        start_stream = Signal()
        # Edge into STREAM: end of preload, or a command taken while the shadow holds its weights.
        accept = self.cmd_valid & ((state == 0) | fold_end)
        m.d.comb += start_stream.eq(((state == PRELOAD) & load_done) | (accept & ~need_preload))
        m.d.comb += swap_now.eq(start_stream)

        with m.If(loading):
            m.d.sync += step.eq(Mux(load_done, 0, step + 1))
            with m.If(load_done):
                m.d.sync += loading.eq(0)
                with m.If(state == STREAM):
                    m.d.sync += shadow_ready.eq(1)
        # Start a load: preload of this fold, or (overlap) the next fold's weights behind this stream.
        with m.If(accept & need_preload):
            m.d.sync += [loading.eq(1), step.eq(0)]
        with m.If(start_stream):
            m.d.sync += shadow_ready.eq(0)
            nxt = Mux(accept & ~need_preload, self.cmd_has_next, has_next)
            with m.If(overlap & nxt):
                m.d.sync += [loading.eq(1), step.eq(0)]

        chain = [[Signal(signed(cfg.top_bits), name=f"wchain_{r}_{c}") for c in range(C)] for r in range(R)]
        chain_v = [[Signal(name=f"wchain_v_{r}_{c}") for c in range(C)] for r in range(R)]
        fresh = step != 0  # the chain is cleared at the start of a load: stale words do not move
        nchain, nchain_v = [], []
        for r in range(R):
            row, row_v = [], []
            for c in range(C):
                src = self._word(self.w_in, c, cfg.top_bits) if r == 0 else chain[r - 1][c]
                src_v = self.w_in_v[c] if r == 0 else chain_v[r - 1][c] & fresh
                nv = Signal(signed(cfg.top_bits), name=f"wchain_n_{r}_{c}")
                nvv = Signal(name=f"wchain_nv_{r}_{c}")
                m.d.comb += [nv.eq(Mux(shift, src, chain[r][c])), nvv.eq(Mux(shift, src_v, chain_v[r][c]))]
                m.d.sync += [chain[r][c].eq(nv), chain_v[r][c].eq(nvv)]
                row.append(nv)
                row_v.append(nvv)
            nchain.append(row)
            nchain_v.append(row_v)
        self._count(m, "gb_filter_rd", Mux(shift, _popcount([self.w_in_v[c] for c in range(C)]), 0))
        self._count(
            m,
            "hop_filter",
            Mux(shift & fresh, _popcount([chain_v[r][c] for r in range(R - 1) for c in range(C)]), 0),
        )

        if cfg.shadow:
            w = [[Signal(signed(cfg.top_bits), name=f"w_{r}_{c}") for c in range(C)] for r in range(R)]
            wv = [[Signal(name=f"wv_{r}_{c}") for c in range(C)] for r in range(R)]
            with m.If(swap_now):
                for r in range(R):
                    for c in range(C):
                        m.d.sync += [w[r][c].eq(nchain[r][c]), wv[r][c].eq(nchain_v[r][c])]
        else:
            w, wv = chain, chain_v

        # psum registers: row r adds w * x to the psum from above and passes it down.
        p = [[Signal(signed(cfg.psum_bits), name=f"p_{r}_{c}") for c in range(C)] for r in range(R)]
        pv = [[Signal(name=f"pv_{r}_{c}") for c in range(C)] for r in range(R)]
        pa = [[Signal(name=f"pa_{r}_{c}") for c in range(C)] for r in range(R)]
        xa = [Signal(name=f"xa_{c}") for c in range(C)]  # "accumulate in GB" flag along row 0
        macs = []
        for c in range(C):
            m.d.sync += xa[c].eq(acc_flag_in if c == 0 else xa[c - 1])
        for r in range(R):
            for c in range(C):
                mac = Signal(name=f"mac_{r}_{c}")
                m.d.comb += mac.eq(xv_in[r][c] & wv[r][c])
                macs.append(mac)
                prod = x_in[r][c] * w[r][c]
                p_in = Const(0, signed(cfg.psum_bits)) if r == 0 else p[r - 1][c]
                pv_in = Const(0, 1) if r == 0 else pv[r - 1][c]
                pa_in = (acc_flag_in if c == 0 else xa[c - 1]) if r == 0 else pa[r - 1][c]
                m.d.sync += [
                    p[r][c].eq(p_in + Mux(mac, prod, 0)),
                    pv[r][c].eq(pv_in | mac),
                    pa[r][c].eq(pa_in),
                ]
        m.d.comb += [
            self.o_v.eq(Cat(*[pv[R - 1][c] for c in range(C)])),
            self.o_acc.eq(Cat(*[pa[R - 1][c] & pv[R - 1][c] for c in range(C)])),
            self.o_data.eq(Cat(*[p[R - 1][c] for c in range(C)])),
        ]
        self._count(m, "macs", _popcount(macs))
        self._count(m, "hop_ofmap", _popcount([pv[r][c] for r in range(R - 1) for c in range(C)]))
        self._count(m, "gb_ofmap_wr", _popcount([pv[R - 1][c] for c in range(C)]))
        self._count(m, "gb_psum_rd", _popcount([pa[R - 1][c] & pv[R - 1][c] for c in range(C)]))
        return load_done, need_preload

    def _os(self, m: Module, x_in: Value, xv_in: Value, etok: Value, efirst: Value, fold_end: Value) -> None:
        """OS datapath: filters moving down, accumulators in place, drain registers to the bottom edge."""
        cfg = self.cfg
        R, C = cfg.rows, cfg.cols
        m.d.comb += [self.w_rd.eq(self.a_rd), self.w_row.eq(0)]
        # Top edge: column c's filter word after c skew registers.
        fx, fvx = [], []
        for c in range(C):
            f0 = Signal(signed(cfg.weight_bits), name=f"b_word{c}")
            v0 = Signal(name=f"b_valid{c}")
            m.d.comb += [f0.eq(self._word(self.w_in, c, cfg.weight_bits)), v0.eq(self.w_in_v[c] & self.w_rd)]
            fx.append(self._delay(m, f0, c, f"skew_f{c}"))
            fvx.append(self._delay(m, v0, c, f"skew_fv{c}"))
        self._count(m, "gb_filter_rd", Mux(self.w_rd, _popcount([self.w_in_v[c] for c in range(C)]), 0))
        f = [[Signal(signed(cfg.weight_bits), name=f"f_{r}_{c}") for c in range(C)] for r in range(R)]
        fv = [[Signal(name=f"fv_{r}_{c}") for c in range(C)] for r in range(R)]
        xf = [[Signal(name=f"xf_{r}_{c}") for c in range(C)] for r in range(R)]  # first-word flag
        acc = [[Signal(signed(cfg.psum_bits), name=f"acc_{r}_{c}") for c in range(C)] for r in range(R)]
        acc_v = [[Signal(name=f"accv_{r}_{c}") for c in range(C)] for r in range(R)]
        d = [[Signal(signed(cfg.psum_bits), name=f"drain_{r}_{c}") for c in range(C)] for r in range(R)]
        dv = [[Signal(name=f"drainv_{r}_{c}") for c in range(C)] for r in range(R)]
        macs = []
        for r in range(R):
            for c in range(C):
                f_in = fx[c] if r == 0 else f[r - 1][c]
                fv_in = fvx[c] if r == 0 else fv[r - 1][c]
                xf_in = efirst[r] if c == 0 else xf[r][c - 1]
                m.d.sync += [f[r][c].eq(f_in), fv[r][c].eq(fv_in), xf[r][c].eq(xf_in)]
                mac = Signal(name=f"mac_{r}_{c}")
                m.d.comb += mac.eq(xv_in[r][c] & fv_in)
                macs.append(mac)
                prod = Signal(signed(cfg.psum_bits), name=f"prod_{r}_{c}")
                m.d.comb += prod.eq(Mux(mac, x_in[r][c] * f_in, 0))
                nacc = Signal(signed(cfg.psum_bits), name=f"acc_n_{r}_{c}")
                nacc_v = Signal(name=f"accv_n_{r}_{c}")
                m.d.comb += [
                    nacc.eq(Mux(xf_in, prod, acc[r][c] + prod)),
                    nacc_v.eq(Mux(xf_in, mac, acc_v[r][c])),
                ]
                m.d.sync += [acc[r][c].eq(nacc), acc_v[r][c].eq(nacc_v)]
                with m.If(fold_end):
                    m.d.sync += [d[r][c].eq(nacc), dv[r][c].eq(nacc_v)]
                with m.Else():
                    m.d.sync += [
                        d[r][c].eq(0 if r == 0 else d[r - 1][c]),
                        dv[r][c].eq(0 if r == 0 else dv[r - 1][c]),
                    ]
        m.d.comb += [
            self.o_v.eq(Cat(*[dv[R - 1][c] for c in range(C)])),
            self.o_acc.eq(0),
            self.o_data.eq(Cat(*[d[R - 1][c] for c in range(C)])),
        ]
        self._count(m, "macs", _popcount(macs))
        self._count(m, "hop_filter", _popcount([fv[r][c] for r in range(R - 1) for c in range(C)]))
        self._count(
            m, "hop_ofmap", Mux(fold_end, 0, _popcount([dv[r][c] for r in range(R - 1) for c in range(C)]))
        )
        self._count(m, "gb_ofmap_wr", _popcount([dv[R - 1][c] for c in range(C)]))
        self._count(m, "gb_psum_rd", Const(0, 1))
