"""Canonical Huffman coding (Deep Compression's last stage) with exact bit counts.

Code lengths come from the textbook heap construction; ties are broken by a fixed order (symbols sorted,
then merge order), so the code is deterministic. Codes are then assigned canonically: symbols sorted by
(length, symbol) get consecutive codes, so a decoder needs only the code length of each symbol. A
single-symbol alphabet gets a 1-bit code (a stream must still say how many symbols it holds).
Bits are packed MSB first; the last byte is zero-padded.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from codesign.errors import CompressionError


def code_lengths(freqs: Mapping[Hashable, int]) -> dict[Hashable, int]:
    """Optimal prefix-code length per symbol (symbols with frequency 0 are left out)."""
    items = [(s, int(f)) for s, f in freqs.items() if f > 0]
    if any(f < 0 for f in freqs.values()):
        raise CompressionError("Huffman frequencies must be non-negative")
    try:
        items.sort(key=lambda sf: sf[0])  # type: ignore[arg-type, return-value]  # TypeError caught below
    except TypeError:
        raise CompressionError("Huffman symbols must be mutually comparable (e.g. all ints)") from None
    if not items:
        return {}
    if len(items) == 1:
        return {items[0][0]: 1}
    lengths = dict.fromkeys((s for s, _ in items), 0)
    heap = [(f, i, [s]) for i, (s, f) in enumerate(items)]
    heapq.heapify(heap)
    order = len(heap)
    while len(heap) > 1:
        f1, _, a = heapq.heappop(heap)
        f2, _, b = heapq.heappop(heap)
        for s in a + b:
            lengths[s] += 1
        heapq.heappush(heap, (f1 + f2, order, a + b))
        order += 1
    return lengths


@dataclass(frozen=True)
class HuffmanCode:
    """A canonical prefix code: `codes[s]` is an int read as a `lengths[s]`-bit word, MSB first."""

    lengths: dict[Hashable, int]
    codes: dict[Hashable, int]

    @classmethod
    def from_lengths(cls, lengths: Mapping[Hashable, int]) -> HuffmanCode:
        """Canonical codes for given lengths (consecutive codes in (length, symbol) order)."""
        order = sorted(lengths, key=lambda s: (lengths[s], s))
        codes: dict[Hashable, int] = {}
        code, prev = 0, lengths[order[0]] if order else 0
        for s in order:
            code <<= lengths[s] - prev
            prev = lengths[s]
            codes[s] = code
            code += 1
        return cls(dict(lengths), codes)

    @classmethod
    def from_frequencies(cls, freqs: Mapping[Hashable, int]) -> HuffmanCode:
        """Canonical code for symbol counts `freqs` (zero counts left out); CompressionError for negatives."""
        return cls.from_lengths(code_lengths(freqs))

    @classmethod
    def from_symbols(cls, symbols: Iterable[Hashable]) -> HuffmanCode:
        """Canonical code for the symbol frequencies of the stream `symbols`."""
        return cls.from_frequencies(Counter(symbols))

    def encoded_bits(self, freqs: Mapping[Hashable, int]) -> int:
        """Exact length in bits of a stream with these symbol counts (no table, no padding)."""
        try:
            return sum(int(f) * self.lengths[s] for s, f in freqs.items() if f > 0)
        except KeyError as e:
            raise CompressionError(f"symbol {e.args[0]!r} has no Huffman code") from None

    def encode(self, symbols: Iterable[Hashable]) -> tuple[bytes, int]:
        """Pack `symbols` MSB first; returns (bytes, number of meaningful bits)."""
        try:
            bits = "".join(format(self.codes[s], f"0{self.lengths[s]}b") for s in symbols)
        except KeyError as e:
            raise CompressionError(f"symbol {e.args[0]!r} has no Huffman code") from None
        if not bits:
            return b"", 0
        padded = bits + "0" * (-len(bits) % 8)
        return int(padded, 2).to_bytes(len(padded) // 8, "big"), len(bits)

    def decode(self, data: bytes, n_symbols: int) -> list[Hashable]:
        """Read `n_symbols` symbols back from `encode`'s bytes."""
        table = {(self.lengths[s], c): s for s, c in self.codes.items()}
        max_len = max(self.lengths.values(), default=0)
        out: list[Hashable] = []
        code = length = 0
        for byte in data:
            for shift in range(7, -1, -1):
                if len(out) == n_symbols:
                    return out
                code, length = (code << 1) | ((byte >> shift) & 1), length + 1
                if (length, code) in table:
                    out.append(table[length, code])
                    code = length = 0
                elif length >= max_len:
                    raise CompressionError("invalid Huffman stream: no code matches")
        if len(out) != n_symbols:
            raise CompressionError(f"Huffman stream ended after {len(out)} of {n_symbols} symbols")
        return out


def huffman_bits(freqs: Mapping[Hashable, int]) -> int:
    """Exact Huffman-coded length in bits of a stream with these symbol counts."""
    return HuffmanCode.from_frequencies(freqs).encoded_bits(freqs)
