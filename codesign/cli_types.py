"""Typed parsers for command-line values: every value is checked at the edge, before any work starts.

Each parser is an argparse ``type=`` callable: it returns the parsed value or raises
``argparse.ArgumentTypeError`` with the reason and the accepted range, which argparse turns into
``codesign: error: argument --bits: ...`` (exit 2, usage). Numbers are read with ``int`` / ``float``
on at most 40 characters, so a 10,000-digit argument costs nothing; floats must be finite.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from typing import TypeVar

from codesign.errors import excerpt

T = TypeVar("T")

_MAX_TEXT = 40  # longest numeric argument read at all
#: Largest input side accepted by --input-size (the memory check refuses large maps well before).
MAX_SIDE = 65536
#: Largest channel count in --input-size.
MAX_CHANNELS = 65536


def _bad(text: str, why: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"{excerpt(text, 40)} {why}")


def _int(text: str) -> int:
    t = text.strip()
    if len(t) > _MAX_TEXT or not re.fullmatch(r"[+-]?[0-9]+", t):
        raise _bad(text, "is not an integer")
    return int(t)


def _float(text: str) -> float:
    t = text.strip()
    if len(t) > _MAX_TEXT:
        raise _bad(text, "is not a number")
    try:
        value = float(t)
    except ValueError:
        raise _bad(text, "is not a number") from None
    if not math.isfinite(value):
        raise _bad(text, "is not a finite number")
    return value


def int_range(lo: int, hi: int | None = None, what: str = "an integer") -> Callable[[str], int]:
    """A parser for integers in [lo, hi] (hi None: no upper bound below 10^40)."""

    def parse(text: str) -> int:
        value = _int(text)
        if value < lo or (hi is not None and value > hi):
            limit = f"from {lo:,} to {hi:,}" if hi is not None else f">= {lo:,}"
            raise _bad(text, f"is out of range; give {what} {limit}")
        return value

    parse.__name__ = f"integer {lo}..{hi if hi is not None else ''}"
    return parse


def positive_int(hi: int | None = None) -> Callable[[str], int]:
    """A parser for integers >= 1 (and <= hi)."""
    return int_range(1, hi, "a positive integer")


def nonnegative_int(hi: int | None = None) -> Callable[[str], int]:
    """A parser for integers >= 0 (and <= hi)."""
    return int_range(0, hi, "an integer")


def float_range(
    lo: float, hi: float, lo_open: bool = False, hi_open: bool = False, what: str = "a number"
) -> Callable[[str], float]:
    """A parser for finite floats in the interval lo..hi (open or closed at either end)."""

    def parse(text: str) -> float:
        value = _float(text)
        if value < lo or value > hi or (lo_open and value == lo) or (hi_open and value == hi):
            interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
            raise _bad(text, f"is out of range; give {what} in {interval}")
        return value

    parse.__name__ = "number"
    return parse


#: --density: the fraction of weights kept, in (0, 1] (0 would zero every weight).
density = float_range(0.0, 1.0, lo_open=True, what="the fraction of weights kept")
#: --min-agreement: a fraction in [0, 1].
fraction = float_range(0.0, 1.0, what="a fraction")
#: Weight / activation bit widths: 1..32 (the fixed-point widths the FPGA cost model and hls4ml's
#: ap_fixed use here; the FPGA dataflow YAML takes the same range).
bit_width = int_range(1, 32, "a bit width")
#: Largest --batch: the cycle-level engine (codesign.sim.engine) builds per-fold arrays whose length grows
#: with the batch (measured: batch 16384 of squeezenet_v1_1 at 224x224 takes 2.6 GB and 97 s; 10^12
#: would need 437 TiB), so the command line stops at 4096.
MAX_BATCH = 4096


def batch(text: str) -> int:
    """--batch: images per inference, 1..MAX_BATCH (4096)."""
    value = _int(text)
    if not 1 <= value <= MAX_BATCH:
        raise _bad(
            text,
            f"is out of range; give a batch size from 1 to {MAX_BATCH:,} (the cycle-level simulator's work "
            "and memory grow with the batch)",
        )
    return value


def reuse_factor(text: str) -> int | str:
    """--reuse: 'auto' or an integer reuse factor 1..2^20 (hls4ml's ReuseFactor: multiplications per multiplier)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int_range(1, 2**20, "a reuse factor")(text)
    except argparse.ArgumentTypeError:
        raise _bad(text, "is not a reuse factor; give 'auto' or an integer from 1 to 1,048,576") from None


def input_size(text: str) -> tuple[int, int, int]:
    """--input-size: 'HxW' or 'CxHxW' -> (C, H, W), C 3 when omitted; each side 1..65536."""
    parts = text.strip().lower().split("x")
    if (
        len(text) > 3 * _MAX_TEXT
        or len(parts) not in (2, 3)
        or not all(re.fullmatch(r"[0-9]+", p) for p in parts)
    ):
        raise _bad(text, "is not HxW or CxHxW (e.g. 224x224 or 3x224x224)")
    if any(len(p) > 9 for p in parts):
        raise _bad(text, f"is out of range; sides go from 1 to {MAX_SIDE:,}")
    values = [int(p) for p in parts]
    if len(values) == 2:
        values = [3, *values]
    c, h, w = values
    if not 1 <= c <= MAX_CHANNELS or not 1 <= h <= MAX_SIDE or not 1 <= w <= MAX_SIDE:
        raise _bad(text, f"is out of range; give positive sizes up to {MAX_SIDE:,} (e.g. 224x224)")
    return c, h, w


_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
          "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}  # fmt: skip


def memory_size(text: str) -> int:
    """--max-memory: a size such as 4G, 512M, 2GiB, 1.5g (binary units) -> bytes, 1 MiB .. 1 PiB."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text[: 2 * _MAX_TEXT])
    if len(text) > 2 * _MAX_TEXT or not m or m.group(2).lower() not in _UNITS:
        raise _bad(text, "is not a memory size; give e.g. 4G, 512M or 2GiB")
    value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    if not 2**20 <= value <= 2**50:
        raise _bad(text, "is out of range; give a size from 1M to 1024T")
    return int(value)


_STORAGE = re.compile(r"^(journal:.+|sqlite:///.+|(postgresql|postgres|mysql)(\+\w+)?://.+)$")


def storage_url(text: str) -> str:
    """--storage: journal:PATH, sqlite:///PATH or a PostgreSQL/MySQL URL (Optuna's storages).

    Only the form is checked here; whether the directory is writable is checked before the study starts.
    """
    if len(text) > 4096 or not _STORAGE.match(text.strip()):
        raise _bad(
            text, "is not a study store; give journal:PATH, sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    return text.strip()


def file_path(text: str) -> str:
    """A path argument: non-empty, no NUL byte, at most 4096 characters (PATH_MAX)."""
    if not text or "\0" in text or len(text) > 4096:
        raise _bad(text, "is not a usable path")
    return text
