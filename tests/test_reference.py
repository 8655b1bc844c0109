"""The register-level systolic reference model: values equal conv2d, cycles equal the closed form.

The closed forms are written out here, independently of the simulator's analytical model, so that
this file pins down the conventions documented in ``codesign/sim/reference.py``.
"""

from __future__ import annotations

from math import ceil

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.sim.reference import ReferenceResult, run_conv, run_linear


def _conv_ref(x, w, stride, padding, groups, dilation) -> np.ndarray:
    return F.conv2d(
        torch.from_numpy(x)[None], torch.from_numpy(w),
        stride=stride, padding=padding, groups=groups, dilation=dilation,
    )[0].numpy()  # fmt: skip


def _expected(K, N, T, R, C, dataflow, timing, groups) -> dict[str, int]:
    """Closed-form cycles and counters (module docstring of tests/helpers/reference.py)."""
    if dataflow == "ws":
        kf, nf = ceil(K / R), ceil(N / C)
        folds = groups * kf * nf
        # scalesim: every fold pays the R-cycle preload; overlap: only the first fold does.
        per_fold = R + C + T - 2
        cycles = folds * (R + per_fold) if timing == "scalesim" else R + folds * per_fold
        kbs = [min(R, K - k0) for k0 in range(0, K, R)]
        writes = groups * T * N * kf
        return dict(
            folds=folds, cycles=cycles,
            ifmap_reads=groups * nf * T * K, filter_reads=groups * K * N,
            psum_reads=groups * T * N * (kf - 1), ofmap_writes=writes,
            hop_ifmap=groups * nf * T * K * (C - 1), hop_psum=writes * (R - 1),
            hop_filter=groups * N * sum(kb * (kb - 1) // 2 for kb in kbs),
        )  # fmt: skip
    if dataflow == "is":  # WS with T <-> N and ifmap <-> filter (SCALE-Sim's systolic_compute_is)
        kf, tf = ceil(K / R), ceil(T / C)
        folds = groups * kf * tf
        per_fold = R + C + N - 2
        cycles = folds * (R + per_fold) if timing == "scalesim" else R + folds * per_fold
        kbs = [min(R, K - k0) for k0 in range(0, K, R)]
        writes = groups * T * N * kf
        return dict(
            folds=folds, cycles=cycles,
            ifmap_reads=groups * K * T, filter_reads=groups * tf * N * K,
            psum_reads=groups * T * N * (kf - 1), ofmap_writes=writes,
            hop_filter=groups * tf * N * K * (C - 1), hop_psum=writes * (R - 1),
            hop_ifmap=groups * T * sum(kb * (kb - 1) // 2 for kb in kbs),
        )  # fmt: skip
    tf, nf = ceil(T / R), ceil(N / C)
    folds = groups * tf * nf
    tbs = [min(R, T - t0) for t0 in range(0, T, R)]
    return dict(
        folds=folds, cycles=folds * (R + C + K - 2),
        ifmap_reads=groups * nf * T * K, filter_reads=groups * tf * K * N,
        psum_reads=0, ofmap_writes=groups * T * N,
        hop_ifmap=groups * nf * T * K * (C - 1), hop_filter=groups * tf * K * N * (R - 1),
        hop_psum=groups * N * sum(tb * (R - 1) - tb * (tb - 1) // 2 for tb in tbs),
    )  # fmt: skip


def _check(x, w, *, stride=(1, 1), padding=(0, 0), groups=1, dilation=(1, 1), rows, cols, dataflow, timing):
    res = run_conv(
        x, w, stride=stride, padding=padding, groups=groups, dilation=dilation,
        rows=rows, cols=cols, dataflow=dataflow, timing=timing,
    )  # fmt: skip
    ref = _conv_ref(x, w, stride, padding, groups, dilation)
    assert res.output.shape == ref.shape and res.output.dtype == np.float64
    np.testing.assert_allclose(res.output, ref, rtol=1e-12, atol=1e-12)

    cout, _, fh, fw = w.shape
    K, N, T = fh * fw * x.shape[0] // groups, cout // groups, ref.shape[1] * ref.shape[2]
    exp = _expected(K, N, T, rows, cols, dataflow, timing, groups)
    got = dict(
        folds=res.folds, cycles=res.cycles, ifmap_reads=res.ifmap_reads, filter_reads=res.filter_reads,
        psum_reads=res.psum_reads, ofmap_writes=res.ofmap_writes, hop_ifmap=res.inter_pe_hops["ifmap"],
        hop_filter=res.inter_pe_hops["filter"], hop_psum=res.inter_pe_hops["psum"],
    )  # fmt: skip
    assert got == exp
    macs = cout * T * K
    assert res.macs == macs
    assert res.rf_accesses == {"ifmap": macs, "filter": macs, "psum": 2 * macs}
    assert res.final_writes == ref.size
    assert res.partial_writes == res.psum_reads == res.ofmap_writes - res.final_writes
    assert sum(res.fold_cycles) == res.cycles and len(res.fold_cycles) == res.folds
    return res


_rng = np.random.default_rng(1234)


def _rand(*shape: int) -> np.ndarray:
    return _rng.standard_normal(shape)


# name -> (x, w, conv kwargs)
CASES = {
    "kernel_3x1": (_rand(2, 5, 4), _rand(3, 2, 3, 1), {}),
    "kernel_1x3": (_rand(2, 4, 5), _rand(3, 2, 1, 3), {}),
    "stride2_pad1": (_rand(3, 7, 7), _rand(4, 3, 3, 3), dict(stride=(2, 2), padding=(1, 1))),
    "asym_stride_pad": (_rand(2, 6, 5), _rand(3, 2, 3, 2), dict(stride=(2, 1), padding=(1, 0))),
    "groups2": (_rand(4, 5, 5), _rand(6, 2, 3, 3), dict(padding=(1, 1), groups=2)),
    "depthwise": (_rand(3, 5, 5), _rand(3, 1, 3, 3), dict(padding=(1, 1), groups=3)),
    "pointwise_1x1": (_rand(5, 4, 4), _rand(7, 5, 1, 1), {}),
    "dilation2": (_rand(2, 7, 7), _rand(2, 2, 3, 3), dict(dilation=(2, 2), padding=(1, 1))),
}
ARRAYS = [(3, 5), (5, 3), (4, 4), (1, 1), (16, 16)]  # non-square, tiny, larger than the problem


@pytest.mark.parametrize("timing", ["scalesim", "overlap"])
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a[0]}x{a[1]}")
@pytest.mark.parametrize("case", list(CASES))
def test_hand_picked_layers(case, array, dataflow, timing):
    x, w, kw = CASES[case]
    _check(x, w, **kw, rows=array[0], cols=array[1], dataflow=dataflow, timing=timing)


@pytest.mark.parametrize("timing", ["scalesim", "overlap"])
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("array", [(3, 5), (8, 8), (2, 1)], ids=lambda a: f"{a[0]}x{a[1]}")
def test_linear_layer(array, dataflow, timing):
    x, w = _rand(10), _rand(6, 10)
    res = run_linear(x, w, rows=array[0], cols=array[1], dataflow=dataflow, timing=timing)
    np.testing.assert_allclose(res.output.reshape(-1), w @ x, rtol=1e-12, atol=1e-12)
    exp = _expected(10, 6, 1, *array, dataflow, timing, 1)
    assert (res.cycles, res.folds) == (exp["cycles"], exp["folds"])
    assert res.macs == 60


def test_hand_worked_counts_ws():
    """x = [a, b, c] (1x1x3), 1x3 filter [w0, w1, w2], padding (0, 1), on a 2x2 WS array.

    Padded row [0, a, b, c, 0] -> T = 3 pixels, windows [0,a,b], [a,b,c], [b,c,0]; K = 3, N = 1.
    Folds: ceil(3/2) * ceil(1/2) = 2 (K-block rows {0,1}, then {2}), one used column each.
    * cycles: 2 * (2R + C + T - 2) = 2 * (4 + 2 + 3 - 2) = 14; overlap: R + 2*(R+C+T-2) = 2 + 10 = 12.
    * ifmap_reads: 3 pixels x 2 rows + 3 pixels x 1 row = 9, of which 2 padding (the 0 of window 0
      in fold 0, the 0 of window 2 in fold 1). filter_reads: 2 + 1 = 3.
    * hops: ifmap: each of 9 words crosses C-1 = 1 link -> 9. filter: the weight of row 1 makes 1
      hop (fold 0), row 0 weights none -> 1. psum: 3 + 3 psums each cross R-1 = 1 link -> 6.
    * writes: fold 0 writes 3 partials, fold 1 reads them (psum_reads 3) and writes 3 finals -> 6.
    * macs = T*K*N = 9 (2 on padding zeros); rf: 9 ifmap, 9 filter, 18 psum (read + write).
    """
    x, w = np.array([[[1.0, 2.0, 3.0]]]), np.array([[[[1.0, 10.0, 100.0]]]])
    for timing, cycles, fold_cycles in (("scalesim", 14, [7, 7]), ("overlap", 12, [7, 5])):
        res = run_conv(x, w, padding=(0, 1), rows=2, cols=2, dataflow="ws", timing=timing)
        np.testing.assert_array_equal(res.output, [[[210.0, 321.0, 32.0]]])
        assert res.cycles == cycles and res.fold_cycles == fold_cycles and res.folds == 2
        assert (res.ifmap_reads, res.ifmap_pad_reads, res.filter_reads) == (9, 2, 3)
        assert res.inter_pe_hops == {"ifmap": 9, "filter": 1, "psum": 6}
        assert (res.psum_reads, res.partial_writes, res.final_writes, res.ofmap_writes) == (3, 3, 3, 6)
        assert (res.macs, res.padding_macs) == (9, 2)
        assert res.rf_accesses == {"ifmap": 9, "filter": 9, "psum": 18}


def test_hand_worked_counts_os():
    """Same layer on a 2x2 OS array: T = 3 pixels over rows -> folds ceil(3/2) * ceil(1/2) = 2.

    * cycles: 2 * (R + C + K - 2) = 2 * (2 + 2 + 3 - 2) = 10 (both timing modes).
    * ifmap_reads: every pixel's window once = 9 (2 padding). filter_reads: 3 weights per fold = 6.
    * hops: ifmap 9 words x (C-1) = 9; filter 6 words x (R-1) = 6; output drain: fold 0 holds
      outputs in rows 0, 1 (1 + 0 hops), fold 1 in row 0 (1 hop) -> 2.
    * writes: 3 finals, no partials; macs 9 (2 on padding); rf 9 / 9 / 18.
    """
    x, w = np.array([[[1.0, 2.0, 3.0]]]), np.array([[[[1.0, 10.0, 100.0]]]])
    for timing in ("scalesim", "overlap"):
        res = run_conv(x, w, padding=(0, 1), rows=2, cols=2, dataflow="os", timing=timing)
        np.testing.assert_array_equal(res.output, [[[210.0, 321.0, 32.0]]])
        assert res.cycles == 10 and res.fold_cycles == [5, 5] and res.folds == 2
        assert (res.ifmap_reads, res.ifmap_pad_reads, res.filter_reads) == (9, 2, 6)
        assert res.inter_pe_hops == {"ifmap": 9, "filter": 6, "psum": 2}
        assert (res.psum_reads, res.partial_writes, res.final_writes, res.ofmap_writes) == (0, 0, 3, 3)
        assert (res.macs, res.padding_macs) == (9, 2)
        assert res.rf_accesses == {"ifmap": 9, "filter": 9, "psum": 18}


def test_hand_worked_counts_is():
    """Same layer on a 2x2 IS array: rows hold K = 3 (blocks {0,1}, {2}), columns hold T = 3 pixels (blocks
    {0,1}, {2}), the N = 1 filter streams -> folds 2 * 2 = 4, T-block outer.

    * cycles: 4 * (2R + C + N - 2) = 4 * 5 = 20; overlap: R + 4 * (R + C + N - 2) = 2 + 12 = 14.
    * ifmap_reads: every window word preloaded once = 9 (2 padding). filter_reads: K words per T-block = 6.
    * hops: filter 6 words x (C-1) = 6; ifmap: the word preloaded into row 1 makes 1 hop, in K-block {0,1}
      only: 2 + 1 pixels -> 3; psum: 3 + 3 psums x (R-1) = 6.
    * writes: 3 partials (K-block {0,1}), read back (3) and 3 finals -> 6; macs 9 (2 on padding).
    """
    x, w = np.array([[[1.0, 2.0, 3.0]]]), np.array([[[[1.0, 10.0, 100.0]]]])
    for timing, cycles, fold_cycles in (("scalesim", 20, [5, 5, 5, 5]), ("overlap", 14, [5, 3, 3, 3])):
        res = run_conv(x, w, padding=(0, 1), rows=2, cols=2, dataflow="is", timing=timing)
        np.testing.assert_array_equal(res.output, [[[210.0, 321.0, 32.0]]])
        assert res.cycles == cycles and res.fold_cycles == fold_cycles and res.folds == 4
        assert (res.ifmap_reads, res.ifmap_pad_reads, res.filter_reads) == (9, 2, 6)
        assert res.inter_pe_hops == {"ifmap": 3, "filter": 6, "psum": 6}
        assert (res.psum_reads, res.partial_writes, res.final_writes, res.ofmap_writes) == (3, 3, 3, 6)
        assert (res.macs, res.padding_macs) == (9, 2)
        assert res.rf_accesses == {"ifmap": 9, "filter": 9, "psum": 18}


def test_result_type_and_int_args():
    x, w = _rand(2, 4, 4), _rand(2, 2, 3, 3)
    res = run_conv(x, w, stride=1, padding=1, dilation=1, rows=4, cols=4, dataflow="WS")
    assert isinstance(res, ReferenceResult)
    np.testing.assert_allclose(res.output, _conv_ref(x, w, 1, 1, 1, 1), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(dataflow="rs"),
        dict(dataflow="ws", timing="fast"),
        dict(dataflow="ws", rows=0),
        dict(dataflow="ws", groups=3),
        dict(dataflow="ws", padding=(0, 0), w=np.zeros((2, 2, 9, 9))),
    ],
)
def test_rejects_bad_arguments(kwargs):
    args = dict(x=np.zeros((2, 4, 4)), w=np.zeros((2, 2, 3, 3)), rows=2, cols=2) | kwargs
    with pytest.raises(ValueError):
        run_conv(args.pop("x"), args.pop("w"), **args)


@st.composite
def _layers(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 3))
    fh, fw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    ph, pw = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    h = draw(st.integers(max(1, dh * (fh - 1) + 1 - 2 * ph), 6))
    wd = draw(st.integers(max(1, dw * (fw - 1) + 1 - 2 * pw), 6))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((cin, h, wd)), rng.standard_normal((cout, cin // groups, fh, fw))
    kw = dict(
        stride=(draw(st.integers(1, 2)), draw(st.integers(1, 2))), padding=(ph, pw), groups=groups,
        dilation=(dh, dw), rows=draw(st.integers(1, 8)), cols=draw(st.integers(1, 8)),
        dataflow=draw(st.sampled_from(["ws", "os", "is"])), timing=draw(st.sampled_from(["scalesim", "overlap"])),
    )  # fmt: skip
    return x, w, kw


@settings(max_examples=50, deadline=None)
@given(_layers())
def test_random_layers_match_conv2d_and_closed_form(layer):
    x, w, kw = layer
    _check(x, w, **kw)
