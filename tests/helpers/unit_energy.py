"""The unit energy table the simulator tests share (Eyeriss ratios: MAC 1, RF 1, inter-PE 2, buffer 6, DRAM 200;
Chen et al., ISCA 2016, Fig. 1)."""

from __future__ import annotations

from codesign.hw.model import EnergyTable

ENERGY = EnergyTable(
    name="unit",
    mac_pj=1.0,
    rf_pj=1.0,
    inter_pe_pj=2.0,
    gbuf_pj=6.0,
    dram_pj=200.0,
    citation="test: Eyeriss ratios",
    word_bits=16,
)
