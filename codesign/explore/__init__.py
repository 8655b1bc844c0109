"""The co-design loop: diagnose a network on an accelerator, reshape it move by move, and search the
joint network x hardware space for Pareto-optimal designs -- all scored by the full simulator.

* `score.score(design, hw)`: the one scoring function (full simulation, stalls and leakage included;
  cached per layer shape x hardware; equal to what `codesign simulate` prints);
* `space.load_space(name_or_yaml)`: search spaces as data (SqueezeNext, SqueezeNet, user YAML);
* `diagnose.diagnose(result, graph)`: per-layer shares of latency/energy and rule-based reasons;
* `moves`: pure design -> design reshaping moves;
* `reshape.reshape(start, hw, ...)`: greedy diagnosis-driven walk;
* `search.run_search(SearchConfig(...))`: Optuna NSGA-II/TPE/random search with budgets, journal,
  SQLite or PostgreSQL storage, several workers;
* `nsga.NSGAIISearchSampler`: Optuna's NSGA-II with its per-trial whole-study scans kept as tallies
  (the same trials for the same seed);
* `pareto`: non-dominated points (minimisation) and a study's outputs (front table, designs, plots);
* `hardware`: searched hardware as base + overrides, embedded in design files.

Submodules are imported on use so that `codesign --help` stays fast.
"""
