"""Test-only helpers: oracles and harnesses the tests use, kept out of the installed package.

instrument.py: FIFO-occupancy instrumentation of generated HLS projects (oracle for codesign.fpga FIFO sizing);
digits.py: small nets trained on scikit-learn digits, pushed through the hls4ml path;
dataflow_hw.py: loader for the FPGA dataflow files in tests/data/fpga_dataflow/.
"""
