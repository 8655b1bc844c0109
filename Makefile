PYTHON ?= .venv/bin/python

.PHONY: paper paper-quick

# Regenerate every paper table and figure into experiments/results/.
paper:
	$(PYTHON) -m experiments.run_all

paper-quick:
	$(PYTHON) -m experiments.run_all --quick
