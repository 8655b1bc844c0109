"""The paper's experiments: one script per table or figure, run together by `experiments.run_all`."""
