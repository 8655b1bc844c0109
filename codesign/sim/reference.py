"""Register-level reference model of an R x C systolic PE array (WS, OS and IS dataflows).

What it is
==========
The executable meaning of "cycle-level" for the simulator. Operand values really move, one
register hop per clock cycle, through a full ``rows x cols`` array of PEs; the outputs must equal
``torch.nn.functional.conv2d`` and the cycle count must equal SCALE-Sim's closed form. It is meant
for small layers and arrays (up to ~8x8 PEs, a few thousand MACs): every cycle is one handful of
vectorised numpy operations on the ``(rows, cols)`` register arrays, never a per-PE Python loop.

Mapping (SCALE-Sim's)
=====================
A conv layer becomes, per group ``g``, a GEMM ``O[T, N] = A[T, K] @ B[K, N]``:

* ``T = Hout * Wout`` output pixels (row-major ``oh, ow``),
* ``K = Fh * Fw * Cin/groups`` window, ordered ``(cin, fh, fw)`` exactly like
  ``w.reshape(Cout, -1)`` (im2col on the zero-padded input, dilation honoured),
* ``N = Cout/groups`` filters.

A linear layer is a 1x1 conv on a 1x1 map (:func:`run_linear`). Groups are mapped one after the
other (group outermost), each with its own folds.

* **WS** (weight-stationary): array rows hold the window ``K``, columns the filters ``N``; the
  ``T`` pixels stream through. Folds per group ``ceil(K/R) * ceil(N/C)``, ordered N-block
  outermost, K-block innermost (SCALE-Sim's ``for fc: for fr:``), so the K-folds of one N-block
  are consecutive and their partial sums are "accumulated outside": the psums of K-fold ``k`` leave
  the bottom edge, are added (outside the array) to the partial written by K-fold ``k-1`` (one
  psum read), and written back (one ofmap write, partial unless ``k`` is the last K-fold).
* **OS** (output-stationary): array rows hold output pixels ``T``, columns filters ``N``; the whole
  window ``K`` streams through (ifmap from the left, weights from the top). Folds per group
  ``ceil(T/R) * ceil(N/C)``, N-block outermost. Every PE accumulates one final output.
* **IS** (input-stationary, SCALE-Sim's third dataflow, ``systolic_compute_is``): WS with the roles of
  ``T`` and ``N`` and of the two operands swapped. Array rows hold the window ``K``, columns hold output
  pixels ``T`` (array column ``j`` keeps the window of pixel ``t0 + j`` in its PEs, preloaded through the
  stationary chain exactly like WS weights); the ``N`` filters stream in from the left, filter ``n``'s
  window words skewed down the rows like a WS pixel; psums of ``O[t0 + j, n]`` leave the bottom edge of
  column ``j``. Folds per group ``ceil(K/R) * ceil(T/C)``, T-block outermost, K-block innermost, K-folds
  accumulated outside like WS. Cycles and counters are WS's with ``T <-> N`` and ifmap <-> filter: per
  fold ``2R + C + N - 2`` (``scalesim``), overlap as WS; ``ifmap_reads = groups * K * T`` (each window
  word preloaded once), ``filter_reads = groups * ceil(T/C) * K * N``, ``filter`` hops ``C-1`` per word
  read, ``ifmap`` hops ``r`` for the word preloaded into array row ``r``.

Fixed-schedule array (why R and C are the *full* dimensions in partial folds)
------------------------------------------------------------------------------
The controller always sequences the full ``R x C`` array, exactly like SCALE-Sim's "null
requests": a partial fold is a full-size block whose unmapped rows/columns carry *null tokens*
(zero values, flagged not-valid). Null tokens move and occupy pipeline slots like real ones but
are never counted as reads, MACs, hops or writes. The end of a fold is detected from the tokens
(see below), so partial folds last as long as full ones by construction.

Register timing (all cycles 0-based within a fold; registers latch at the end of a cycle)
=========================================================================================
**WS, ``timing="scalesim"``** — per fold ``2R + C + T - 2`` cycles:

* cycles ``0 .. R-1``: weight preload. The weight chain shifts down one row per cycle; at load
  cycle ``s`` the top edge receives the weights of array row ``R-1-s`` (bottom row first), so after
  ``R`` cycles row ``r`` holds its weight (having made ``r`` hops). The chain is then copied into
  the active weight registers.
* stream cycle ``u = 0, 1, ...`` (fold cycle ``R + u``): the left edge of array row ``r`` receives
  ``A[t, k0 + r]`` for pixel ``t = u - r`` (skew of one cycle per row); ifmap registers shift right
  one column per cycle, so PE ``(r, c)`` sees pixel ``t`` in stream cycle ``t + r + c``. It adds
  ``w * x`` to the psum arriving from the PE above (row 0 starts from zero) and latches it; psums
  move down one row per cycle. The bottom row's latched psum is the array's output port: the output
  buffer captures it at the same clock edge (that is the ofmap write, attributed to that cycle).
* the fold ends at the end of the cycle in which the last psum token (pixel ``T-1``, column
  ``C-1``) leaves the bottom edge: stream cycle ``(T-1) + (R-1) + (C-1)``. Stream length
  ``T + R + C - 2`` plus ``R`` preload cycles gives ``2R + C + T - 2``.

**WS, ``timing="overlap"``** — double-buffered PE weights: each PE has an active weight register
and a shadow (load-chain) register. Only the first fold of the *layer* (first group included) pays
the ``R``-cycle preload; the weights of fold ``f+1`` (also across a group boundary) shift into the
shadow chain during the first ``R`` stream cycles of fold ``f`` (always possible: a stream phase
lasts ``R + C + T - 2 >= R`` cycles), and are swapped into the active registers at the fold
boundary. Per-fold cycles: first fold ``2R + C + T - 2``, every later fold ``R + C + T - 2``;
a layer of ``F`` folds (all groups) takes ``R + F * (R + C + T - 2)`` cycles. Folds do not
otherwise overlap (fold ``f+1`` starts streaming after fold ``f``'s last psum left).

**OS** (both timing modes; OS has no preload, so ``"overlap"`` equals ``"scalesim"``) — per fold
``R + C + K - 2`` cycles:

* cycle ``s``: row ``i``'s left edge receives ``A[t0 + i, k]`` and column ``j``'s top edge
  receives ``B[k, n0 + j]`` for ``k = s - i`` and ``k = s - j`` respectively; ifmap registers shift
  right, filter registers shift down, so PE ``(i, j)`` sees the ``k``-th pair in cycle
  ``k + i + j`` and accumulates it into its own accumulator (cleared at fold start).
* the fold ends at the end of the cycle in which the last PE ``(R-1, C-1)`` performs its ``K``-th
  accumulation (its output is then final): cycle ``(K-1) + (R-1) + (C-1)``, i.e. ``R + C + K - 2``
  cycles.
* output drain: the final accumulators are copied into per-PE output (shadow) registers and shifted
  down the columns to the bottom edge (``R-1-i`` hops for row ``i``). Like SCALE-Sim we keep the
  drain off the critical path (it overlaps the next fold, double-buffered accumulators); it is
  simulated for values and hop counts but its cycles are not counted.

A layer's ``cycles`` is the sum of its fold cycles. SCALE-Sim's reported "compute cycles" are this
number minus one (its cycle counter starts at 0 and it reports the index of the last cycle).

Access counts (all exclude null tokens; "word" = one operand value)
====================================================================
* ``ifmap_reads``: im2col words entering the array at the left edge. Padding zeros are included
  (they are operand-matrix words; ``ifmap_pad_reads`` says how many were padding, subtract it for a
  design that injects zeros instead of reading them). Each fold re-reads its block, so for both
  WS and OS: ``groups * ceil(N/C) * T * K`` (each N-block re-streams the whole im2col matrix).
* ``filter_reads``: weight words entering the array at the top edge. WS: ``groups * K * N`` (once
  per fold, each weight in exactly one fold); OS: ``groups * ceil(T/R) * K * N``.
* ``psum_reads``: partial sums read back from the output buffer to be accumulated (outside the
  array) with a later K-fold's psum. WS: ``groups * T * N * (ceil(K/R) - 1)``; OS: 0.
* ``ofmap_writes``: output-side words leaving the array and written to the output buffer
  (``partial_writes`` of them are partial sums that are re-read later, ``final_writes`` are final
  outputs ``= Cout * Hout * Wout``). WS: ``groups * T * N * ceil(K/R)``; OS: ``Cout*Hout*Wout``.
* ``inter_pe_hops[op]``: a valid value moving from one PE's register to a neighbour's. Entering at
  an edge is a read (not a hop); leaving at the far edge is a write or, for a streamed operand, a
  drop (not a hop). The array being fixed-schedule, a streamed word crosses the *whole* array:
  WS: ``ifmap`` ``C-1`` hops per word read, ``psum`` ``R-1`` hops per word written (psums cross
  unmapped rows too: outputs leave at the bottom edge), ``filter`` ``r`` hops for the weight of
  array row ``r`` (shift-in from the top), i.e. ``groups * N * sum_kb kb*(kb-1)/2`` over the
  K-blocks ``kb = min(R, K - k0)``.
  OS: ``ifmap`` ``C-1`` per word read, ``filter`` ``R-1`` per word read, ``psum`` (the output
  drain) ``R-1-i`` for the output held in array row ``i``, i.e.
  ``groups * N * sum_tb (tb*(R-1) - tb*(tb-1)/2)`` over the T-blocks ``tb = min(R, T - t0)``.
* ``rf_accesses[op]``: PE-local register accesses made by the MAC datapath: every MAC reads one
  ``ifmap`` and one ``filter`` register and reads + writes one ``psum`` register (WS: the incoming
  psum, zero for row 0, and the outgoing psum; OS: the accumulator). So ``{"ifmap": macs,
  "filter": macs, "psum": 2 * macs}``. Register writes caused by data movement are the hops.
* ``macs``: MACs on valid (mapped) operands, padding zeros included (conv2d semantics:
  ``Cout * Hout * Wout * K`` = ``Layer.macs``); ``padding_macs`` of them multiply a padding zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["ReferenceResult", "run_conv", "run_linear", "im2col"]

_DATAFLOWS = ("ws", "os", "is")
_TIMINGS = ("scalesim", "overlap")
_OPERANDS = ("ifmap", "filter", "psum")

#: Register and operand values (float64: exact for the integer test data used to check the counts).
Floats = npt.NDArray[np.float64]
#: Per-register flags: "holds a valid word", "is a padding zero".
Mask = npt.NDArray[np.bool_]


@dataclass
class ReferenceResult:
    """Outputs and counters of one layer run on the register-level model (see module docstring)."""

    output: Floats  # (Cout, Hout, Wout)
    cycles: int
    folds: int
    macs: int
    ifmap_reads: int
    filter_reads: int
    psum_reads: int
    ofmap_writes: int
    inter_pe_hops: dict[str, int]
    rf_accesses: dict[str, int]
    partial_writes: int = 0
    final_writes: int = 0
    ifmap_pad_reads: int = 0
    padding_macs: int = 0
    fold_cycles: list[int] = field(default_factory=list)


def _pair(v: int | tuple[int, int]) -> tuple[int, int]:
    """Normalise an int-or-pair argument (PyTorch style) to an ``(h, w)`` pair."""
    if isinstance(v, int | np.integer):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def im2col(
    x: Floats,
    fh: int,
    fw: int,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
) -> tuple[Floats, Mask, int, int]:
    """Window matrix of a (C, H, W) map: ``(T, C*fh*fw)`` values, a same-shape "is padding" mask,
    and ``(Hout, Wout)``. Columns are ordered ``(c, i, j)`` like ``w.reshape(Cout, -1)``."""
    c, h, w = x.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    hout = (h + 2 * ph - dh * (fh - 1) - 1) // sh + 1
    wout = (w + 2 * pw - dw * (fw - 1) - 1) // sw + 1
    if hout <= 0 or wout <= 0:
        raise ValueError(f"empty output: input {h}x{w}, kernel {fh}x{fw}, padding {padding}")
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
    real = np.pad(np.ones_like(x, dtype=bool), ((0, 0), (ph, ph), (pw, pw)))
    oh = np.arange(hout)[:, None, None, None, None] * sh
    ow = np.arange(wout)[None, :, None, None, None] * sw
    ci = np.arange(c)[None, None, :, None, None]
    ii = np.arange(fh)[None, None, None, :, None] * dh
    jj = np.arange(fw)[None, None, None, None, :] * dw
    shape = (hout * wout, c * fh * fw)
    cols = xp[ci, oh + ii, ow + jj].reshape(shape)
    pad = ~real[ci, oh + ii, ow + jj].reshape(shape)
    return cols, pad, hout, wout


@dataclass
class _Counters:
    """Running totals, filled in while the registers move."""

    ifmap_reads: int = 0
    ifmap_pad_reads: int = 0
    filter_reads: int = 0
    psum_reads: int = 0
    partial_writes: int = 0
    final_writes: int = 0
    macs: int = 0
    padding_macs: int = 0
    hops: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_OPERANDS, 0))
    rf: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_OPERANDS, 0))

    def count_macs(self, mac: Mask, pad: Mask) -> None:
        n = int(mac.sum())
        self.macs += n
        self.padding_macs += int((mac & pad).sum())
        self.rf["ifmap"] += n
        self.rf["filter"] += n
        self.rf["psum"] += 2 * n


@dataclass
class _Fold:
    """One fold's operand blocks, zero-padded to the full array with validity masks.

    WS: ``a`` is ``(T, R)`` (streamed pixels x array rows), ``b`` is ``(R, C)`` (stationary).
    OS: ``a`` is ``(R, K)`` (array rows x streamed window), ``b`` is ``(K, C)``.
    IS: as WS with ``a`` ``(N, R)`` (streamed filters) and ``b`` ``(R, C)`` (stationary windows), the output
    matrix transposed (``O^T[N, T]``).
    ``a_pad`` marks padding zeros in ``a``, ``b_pad`` (IS) in ``b``; ``out_rows``/``out_cols`` index the
    group's output matrix ``O[T, N]`` (IS: ``O^T``) for the mapped block; ``first``/``last`` say which K-fold
    it is (WS, IS).
    """

    group: int
    a: Floats
    a_valid: Mask
    a_pad: Mask
    b: Floats
    b_valid: Mask
    out_rows: slice
    out_cols: slice
    first: bool = True
    last: bool = True
    b_pad: Mask | None = None


class _WeightChain:
    """WS weight load path: a column of shift registers per array column, loaded from the top."""

    def __init__(self, rows: int, cols: int) -> None:
        self.val = np.zeros((rows, cols))
        self.valid = np.zeros((rows, cols), dtype=bool)
        self.src: _Fold | None = None
        self.step = 0  # load cycles done for `src`

    def start(self, fold: _Fold) -> None:
        self.val[:] = 0.0
        self.valid[:] = False
        self.src, self.step = fold, 0

    @property
    def loading(self) -> bool:
        return self.src is not None and self.step < self.val.shape[0]

    def shift(self, cnt: _Counters) -> None:
        """One load cycle: everything moves down one row; row ``R-1-step`` enters at the top."""
        assert self.src is not None
        rows = self.val.shape[0]
        cnt.hops["filter"] += int(self.valid[:-1].sum())
        self.val[1:] = self.val[:-1].copy()
        self.valid[1:] = self.valid[:-1].copy()
        r = rows - 1 - self.step
        self.val[0] = self.src.b[r]
        self.valid[0] = self.src.b_valid[r]
        cnt.filter_reads += int(self.valid[0].sum())
        if self.src.b_pad is not None:  # IS: the stationary operand is the ifmap, padding zeros included
            cnt.ifmap_pad_reads += int((self.valid[0] & self.src.b_pad[r]).sum())
        self.step += 1


def _ws_stream(
    fold: _Fold,
    w: Floats,
    w_valid: Mask,
    chain: _WeightChain,
    out: Floats,
    cnt: _Counters,
) -> int:
    """Stream one WS fold through the array with stationary weights ``w``; returns its cycles.

    If ``chain`` is loading (overlap mode), it shifts in the next fold's weights concurrently.
    """
    rows, cols = w.shape
    t_len = fold.a.shape[0]
    x = np.zeros((rows, cols))
    x_tok = np.zeros((rows, cols), dtype=bool)  # a pixel slot (real or null) is here
    x_val = np.zeros((rows, cols), dtype=bool)  # ... and carries a real word
    x_pad = np.zeros((rows, cols), dtype=bool)  # ... that is a padding zero
    p = np.zeros((rows, cols))
    p_tok = np.zeros((rows, cols), dtype=bool)
    p_val = np.zeros((rows, cols), dtype=bool)
    r_idx = np.arange(rows)
    n_used = fold.out_cols.stop - fold.out_cols.start
    emitted = 0
    u = 0
    while emitted < t_len * cols:
        if chain.loading:
            chain.shift(cnt)
        # ifmap: shift right (the word in the last column drops off), inject skewed at the left.
        cnt.hops["ifmap"] += int(x_val[:, :-1].sum())
        for reg in (x, x_tok, x_val, x_pad):
            reg[:, 1:] = reg[:, :-1].copy()
        t = u - r_idx
        ok = (t >= 0) & (t < t_len)
        tt = np.where(ok, t, 0)
        x[:, 0] = np.where(ok, fold.a[tt, r_idx], 0.0)
        x_tok[:, 0] = ok
        x_val[:, 0] = ok & fold.a_valid[tt, r_idx]
        x_pad[:, 0] = x_val[:, 0] & fold.a_pad[tt, r_idx]
        cnt.ifmap_reads += int(x_val[:, 0].sum())
        cnt.ifmap_pad_reads += int(x_pad[:, 0].sum())
        # psum: shift down (the bottom row was written out last cycle), row 0 starts from zero.
        cnt.hops["psum"] += int(p_val[:-1].sum())
        p_in = np.zeros((rows, cols))
        p_in[1:] = p[:-1]
        tok_in = np.zeros((rows, cols), dtype=bool)
        tok_in[0] = x_tok[0]
        tok_in[1:] = p_tok[:-1]
        val_in = np.zeros((rows, cols), dtype=bool)
        val_in[1:] = p_val[:-1]
        # The skew makes a pixel's ifmap word and its psum meet in the same PE and cycle.
        assert np.array_equal(tok_in, x_tok), "WS skew broken"
        mac = x_val & w_valid
        cnt.count_macs(mac, x_pad if fold.b_pad is None else x_pad | fold.b_pad)
        p = p_in + np.where(mac, w * x, 0.0)
        p_tok = tok_in
        p_val = val_in | mac
        # Bottom row: latched psums are captured by the output buffer at this clock edge.
        emitted += int(p_tok[-1].sum())
        cs = np.flatnonzero(p_val[-1])
        assert np.all(cs < n_used)
        oi = fold.out_rows.start + u - (rows - 1) - cs
        oj = fold.out_cols.start + cs
        if fold.first:
            out[oi, oj] = p[-1, cs]
        else:
            cnt.psum_reads += cs.size
            out[oi, oj] += p[-1, cs]
        if fold.last:
            cnt.final_writes += cs.size
        else:
            cnt.partial_writes += cs.size
        u += 1
    return u


def _run_ws(
    folds: list[_Fold], outs: list[Floats], rows: int, cols: int, timing: str, cnt: _Counters
) -> list[int]:
    """Run the WS folds in order (preload, swap, stream); returns the cycles of each fold."""
    chain = _WeightChain(rows, cols)
    fold_cycles: list[int] = []
    for f, fold in enumerate(folds):
        cycles = 0
        if timing == "scalesim" or f == 0:
            chain.start(fold)
            while chain.loading:
                chain.shift(cnt)
                cycles += 1
        assert chain.src is fold and not chain.loading, "weights of this fold not loaded"
        w, w_valid = chain.val.copy(), chain.valid.copy()  # swap shadow -> active
        assert np.array_equal(w_valid, fold.b_valid) and np.array_equal(w, fold.b)
        chain.src = None
        if timing == "overlap" and f + 1 < len(folds):
            chain.start(folds[f + 1])
        cycles += _ws_stream(fold, w, w_valid, chain, outs[fold.group], cnt)
        fold_cycles.append(cycles)
    return fold_cycles


def _os_fold(fold: _Fold, out: Floats, cnt: _Counters) -> int:
    """Run one OS fold (accumulate, then drain); returns its counted cycles."""
    rows, k_len = fold.a.shape
    cols = fold.b.shape[1]
    x = np.zeros((rows, cols))
    x_tok = np.zeros((rows, cols), dtype=bool)
    x_val = np.zeros((rows, cols), dtype=bool)
    x_pad = np.zeros((rows, cols), dtype=bool)
    f = np.zeros((rows, cols))
    f_tok = np.zeros((rows, cols), dtype=bool)
    f_val = np.zeros((rows, cols), dtype=bool)
    acc = np.zeros((rows, cols))
    steps = np.zeros((rows, cols), dtype=np.int64)  # accumulation steps (real or null) per PE
    r_idx, c_idx = np.arange(rows), np.arange(cols)
    s = 0
    while steps[-1, -1] < k_len:
        # ifmap: shift right, inject row i's window skewed by i.
        cnt.hops["ifmap"] += int(x_val[:, :-1].sum())
        for reg in (x, x_tok, x_val, x_pad):
            reg[:, 1:] = reg[:, :-1].copy()
        k = s - r_idx
        ok = (k >= 0) & (k < k_len)
        kk = np.where(ok, k, 0)
        x[:, 0] = np.where(ok, fold.a[r_idx, kk], 0.0)
        x_tok[:, 0] = ok
        x_val[:, 0] = ok & fold.a_valid[r_idx, kk]
        x_pad[:, 0] = x_val[:, 0] & fold.a_pad[r_idx, kk]
        cnt.ifmap_reads += int(x_val[:, 0].sum())
        cnt.ifmap_pad_reads += int(x_pad[:, 0].sum())
        # filter: shift down, inject column j's window skewed by j.
        cnt.hops["filter"] += int(f_val[:-1].sum())
        for reg in (f, f_tok, f_val):
            reg[1:] = reg[:-1].copy()
        k = s - c_idx
        ok = (k >= 0) & (k < k_len)
        kk = np.where(ok, k, 0)
        f[0] = np.where(ok, fold.b[kk, c_idx], 0.0)
        f_tok[0] = ok
        f_val[0] = ok & fold.b_valid[kk, c_idx]
        cnt.filter_reads += int(f_val[0].sum())
        # The skews make the k-th ifmap and filter words meet in every PE in the same cycle.
        assert np.array_equal(x_tok, f_tok), "OS skew broken"
        mac = x_val & f_val
        cnt.count_macs(mac, x_pad)
        acc += np.where(mac, x * f, 0.0)
        steps += x_tok
        s += 1
    assert np.all(steps == k_len)
    # Drain (off the critical path): shift the outputs down the columns out of the bottom edge.
    valid = fold.a_valid[:, :1] & fold.b_valid[:1, :]
    d, d_val = acc.copy(), valid.copy()
    row_of = np.broadcast_to(r_idx[:, None], (rows, cols)).copy()
    for _ in range(rows):
        cs = np.flatnonzero(d_val[-1])
        out[fold.out_rows.start + row_of[-1, cs], fold.out_cols.start + cs] = d[-1, cs]
        cnt.final_writes += cs.size
        cnt.hops["psum"] += int(d_val[:-1].sum())
        for reg, fill in ((d, 0.0), (d_val, False), (row_of, 0)):
            reg[1:] = reg[:-1].copy()
            reg[0] = fill
    return s


def _is_folds(g: int, a: Floats, a_pad: Mask, b: Floats, rows: int, cols: int) -> list[_Fold]:
    """IS folds of one group (T-block outermost, K-block innermost): the streamed operand is the filter
    matrix ``B^T`` (``N x kb`` per fold), the stationary one the window block ``A^T`` (``kb x tb``)."""
    t_len, k_len = a.shape
    n_len = b.shape[1]
    folds: list[_Fold] = []
    for t0 in range(0, t_len, cols):
        tb = min(cols, t_len - t0)
        for k0 in range(0, k_len, rows):
            kb = min(rows, k_len - k0)
            fa = np.zeros((n_len, rows))
            fa[:, :kb] = b[k0 : k0 + kb].T
            fa_valid = np.zeros((n_len, rows), dtype=bool)
            fa_valid[:, :kb] = True
            fb = np.zeros((rows, cols))
            fb[:kb, :tb] = a[t0 : t0 + tb, k0 : k0 + kb].T
            fb_pad = np.zeros((rows, cols), dtype=bool)
            fb_pad[:kb, :tb] = a_pad[t0 : t0 + tb, k0 : k0 + kb].T
            fb_valid = np.zeros((rows, cols), dtype=bool)
            fb_valid[:kb, :tb] = True
            folds.append(
                _Fold(
                    g, fa, fa_valid, np.zeros((n_len, rows), dtype=bool), fb, fb_valid,
                    slice(0, n_len), slice(t0, t0 + tb), first=k0 == 0, last=k0 + kb == k_len, b_pad=fb_pad,
                )
            )  # fmt: skip
    return folds


def run_conv(
    x: npt.ArrayLike,
    w: npt.ArrayLike,
    *,
    stride: int | tuple[int, int] = (1, 1),
    padding: int | tuple[int, int] = (0, 0),
    groups: int = 1,
    dilation: int | tuple[int, int] = (1, 1),
    rows: int,
    cols: int,
    dataflow: str,
    timing: str = "scalesim",
) -> ReferenceResult:
    """Run a conv layer (no bias) on a ``rows x cols`` systolic array, moving real values.

    ``x`` is ``(Cin, H, W)``, ``w`` is ``(Cout, Cin/groups, Fh, Fw)``; ``dataflow`` is ``"ws"``,
    ``"os"`` or ``"is"``, ``timing`` is ``"scalesim"`` or ``"overlap"`` (see the module docstring for the exact
    cycle conventions and counter definitions). Raises ValueError for another dataflow or timing, an
    array under 1x1, operands of the wrong rank, `groups` inconsistent with the channel counts, or a kernel
    that leaves an empty output (this is a test oracle: its callers pass arrays, not user input).
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    dataflow, timing = dataflow.lower(), timing.lower()
    if dataflow not in _DATAFLOWS:
        raise ValueError(f"dataflow must be one of {_DATAFLOWS}, got {dataflow!r}")
    if timing not in _TIMINGS:
        raise ValueError(f"timing must be one of {_TIMINGS}, got {timing!r}")
    if rows < 1 or cols < 1:
        raise ValueError(f"array must be at least 1x1, got {rows}x{cols}")
    if x.ndim != 3 or w.ndim != 4:
        raise ValueError(f"x must be (Cin, H, W) and w (Cout, Cin/groups, Fh, Fw); got {x.shape}, {w.shape}")
    cin, cout = x.shape[0], w.shape[0]
    if groups < 1 or cin % groups or cout % groups or w.shape[1] * groups != cin:
        raise ValueError(f"groups={groups} does not divide Cin={cin} / Cout={cout} consistently with w")
    stride_, padding_, dilation_ = _pair(stride), _pair(padding), _pair(dilation)
    fh, fw = w.shape[2], w.shape[3]
    cin_g, n_len = cin // groups, cout // groups

    folds: list[_Fold] = []
    outs: list[Floats] = []
    hout = wout = 0
    for g in range(groups):
        a, a_pad, hout, wout = im2col(x[g * cin_g : (g + 1) * cin_g], fh, fw, stride_, padding_, dilation_)
        b = w[g * n_len : (g + 1) * n_len].reshape(n_len, -1).T  # (K, N)
        t_len, k_len = a.shape
        if dataflow == "is":
            folds += _is_folds(g, a, a_pad, b, rows, cols)
            outs.append(np.zeros((n_len, t_len)))  # O^T: stream index n, column index t
            continue
        outs.append(np.zeros((t_len, n_len)))
        for n0 in range(0, n_len, cols):
            nb = min(cols, n_len - n0)
            if dataflow == "ws":
                for k0 in range(0, k_len, rows):
                    kb = min(rows, k_len - k0)
                    fa = np.zeros((t_len, rows))
                    fa_pad = np.zeros((t_len, rows), dtype=bool)
                    fa[:, :kb] = a[:, k0 : k0 + kb]
                    fa_pad[:, :kb] = a_pad[:, k0 : k0 + kb]
                    fa_valid = np.zeros((t_len, rows), dtype=bool)
                    fa_valid[:, :kb] = True
                    fb = np.zeros((rows, cols))
                    fb[:kb, :nb] = b[k0 : k0 + kb, n0 : n0 + nb]
                    fb_valid = np.zeros((rows, cols), dtype=bool)
                    fb_valid[:kb, :nb] = True
                    folds.append(
                        _Fold(
                            g, fa, fa_valid, fa_pad, fb, fb_valid, slice(0, t_len), slice(n0, n0 + nb),
                            first=k0 == 0, last=k0 + kb == k_len,
                        )
                    )  # fmt: skip
            else:
                for t0 in range(0, t_len, rows):
                    tb = min(rows, t_len - t0)
                    fa = np.zeros((rows, k_len))
                    fa[:tb] = a[t0 : t0 + tb]
                    fa_pad = np.zeros((rows, k_len), dtype=bool)
                    fa_pad[:tb] = a_pad[t0 : t0 + tb]
                    fa_valid = np.zeros((rows, k_len), dtype=bool)
                    fa_valid[:tb] = True
                    fb = np.zeros((k_len, cols))
                    fb[:, :nb] = b[:, n0 : n0 + nb]
                    fb_valid = np.zeros((k_len, cols), dtype=bool)
                    fb_valid[:, :nb] = True
                    folds.append(
                        _Fold(g, fa, fa_valid, fa_pad, fb, fb_valid, slice(t0, t0 + tb), slice(n0, n0 + nb))
                    )

    cnt = _Counters()
    if dataflow in ("ws", "is"):
        fold_cycles = _run_ws(folds, outs, rows, cols, timing, cnt)
    else:
        fold_cycles = [_os_fold(fold, outs[fold.group], cnt) for fold in folds]
    if dataflow == "is":  # the WS machinery moved filters as the streamed and ifmap as the stationary operand
        cnt.ifmap_reads, cnt.filter_reads = cnt.filter_reads, cnt.ifmap_reads
        cnt.hops["ifmap"], cnt.hops["filter"] = cnt.hops["filter"], cnt.hops["ifmap"]
        outs = [o.T for o in outs]

    output = np.concatenate([o.T for o in outs], axis=0).reshape(cout, hout, wout)
    return ReferenceResult(
        output=output,
        cycles=sum(fold_cycles),
        folds=len(folds),
        macs=cnt.macs,
        ifmap_reads=cnt.ifmap_reads,
        filter_reads=cnt.filter_reads,
        psum_reads=cnt.psum_reads,
        ofmap_writes=cnt.partial_writes + cnt.final_writes,
        inter_pe_hops=dict(cnt.hops),
        rf_accesses=dict(cnt.rf),
        partial_writes=cnt.partial_writes,
        final_writes=cnt.final_writes,
        ifmap_pad_reads=cnt.ifmap_pad_reads,
        padding_macs=cnt.padding_macs,
        fold_cycles=fold_cycles,
    )


def run_linear(
    x: npt.ArrayLike, w: npt.ArrayLike, *, rows: int, cols: int, dataflow: str, timing: str = "scalesim"
) -> ReferenceResult:
    """A linear layer (no bias) as a 1x1 conv on a 1x1 map: ``x`` is ``(in,)``, ``w`` is
    ``(out, in)``; the result's ``output`` has shape ``(out, 1, 1)``."""
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    return run_conv(
        x.reshape(-1, 1, 1), w.reshape(w.shape[0], w.shape[1], 1, 1),
        rows=rows, cols=cols, dataflow=dataflow, timing=timing,
    )  # fmt: skip
