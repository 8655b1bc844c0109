"""Reuse factors hls4ml 1.3 accepts for a dense/conv product of n_in inputs and n_out outputs.

hls4ml's `FPGABackend._validate_reuse_factor` (hls4ml/backends/fpga/fpga_backend.py) accepts RF iff
  (a) ceil(n_in*n_out / min(n_in, RF)) % n_out == 0  or  RF >= n_in,
  (b) RF % n_in == 0  or  RF < n_in,
  (c) (n_in*n_out) % RF == 0.
For RF < n_in, (c) makes n_in*n_out/RF exact, and (a) then asks it to be a multiple of n_out, i.e.
RF divides n_in. For RF >= n_in, (b) asks RF = n_in*m and (c) then asks m to divide n_out. So the
valid set is closed-form: the divisors of n_in, plus n_in times the divisors of n_out. This is
stricter than "(n_in*n_out) % RF == 0 and (RF < n_in or RF % n_in == 0)": n_in=9, n_out=4, RF=6
passes that but fails (a). `valid_reuse_factors` computes the set in O(sqrt n) rather than hls4ml's
O(n_in*n_out) scan; tests check the two agree.

hls4ml corrects an invalid RF to the nearest valid one (ties to the smaller) for Conv2D and Dense, but
not for the PointwiseConv2D it makes from 1x1 convs in io_stream, where an invalid RF fails in g++
(shared/HLS4ML_NOTES.md): set a valid RF on every layer before converting.
"""

from __future__ import annotations

from bisect import bisect_left

from codesign.ir.layers import Conv, Layer, Linear


def divisors(n: int) -> list[int]:
    """Divisors of n in ascending order (a valid reuse factor always divides n_in * n_out)."""
    small, large = [], []
    i = 1
    while i * i <= n:
        if n % i == 0:
            small.append(i)
            if i * i != n:
                large.append(n // i)
        i += 1
    return small + large[::-1]


def _check(n_in: int, n_out: int) -> None:
    if n_in < 1 or n_out < 1:
        raise ValueError(f"n_in and n_out must be >= 1, got {n_in}, {n_out}")


def is_valid_reuse_factor(n_in: int, n_out: int, rf: int) -> bool:
    """hls4ml 1.3's `_validate_reuse_factor`, written out (see module docstring)."""
    _check(n_in, n_out)
    if rf < 1 or rf > n_in * n_out:
        return False
    multiplier_limit = -(-(n_in * n_out) // min(n_in, rf))
    ok = multiplier_limit % n_out == 0 or rf >= n_in
    ok = ok and (rf % n_in == 0 or rf < n_in)
    return ok and (n_in * n_out) % rf == 0


def valid_reuse_factors(n_in: int, n_out: int) -> list[int]:
    """All RFs hls4ml accepts, ascending: divisors of n_in, then n_in times each divisor of n_out."""
    _check(n_in, n_out)
    return sorted(set(divisors(n_in)) | {n_in * m for m in divisors(n_out)})


def nearest_valid_reuse_factor(n_in: int, n_out: int, target: int) -> int:
    """The valid RF closest to `target`, ties to the smaller: what hls4ml's `get_closest_reuse_factor` picks."""
    valid = valid_reuse_factors(n_in, n_out)
    pos = bisect_left(valid, target)
    if pos == 0:
        return valid[0]
    if pos == len(valid):
        return valid[-1]
    before, after = valid[pos - 1], valid[pos]
    return after if after - target < target - before else before


def mult_size(layer: Layer) -> tuple[int, int, int]:
    """(n_in, n_out, groups) of a conv or linear layer, per group, as hls4ml's `get_layer_mult_size` counts.

    A grouped conv becomes `groups` separate convs (hls4ml has no grouped conv; the rewrite splits them),
    each with n_in = kh*kw*cin/groups and n_out = cout/groups.
    """
    if isinstance(layer, Conv):
        g = layer.groups
        return layer.kernel_h * layer.kernel_w * (layer.in_channels // g), layer.out_channels // g, g
    if isinstance(layer, Linear):
        return layer.in_features, layer.out_features, 1
    raise ValueError(f"layer {layer.name!r} ({layer.kind}) has no weights to reuse")
