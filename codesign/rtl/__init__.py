"""RTL ground truth: a generated systolic-array design (Amaranth) simulated in Verilator (cocotb testbench)
against the simulator's cycles, access counts and PyTorch's outputs; open-synthesis resources (Yosys).

Needs the ``rtl`` extra (``pip install -e '.[rtl]'``); importing this package does not.
"""
