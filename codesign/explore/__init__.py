"""The co-design loop: diagnose a network on an accelerator, reshape it move by move, and search the
joint network x hardware space for Pareto-optimal (latency, energy, params) designs.

* `diagnose.diagnose(result, graph)`: per-layer shares of latency/energy and rule-based reasons;
* `moves`: pure design -> design reshaping moves;
* `reshape.reshape(start, hw, ...)`: greedy diagnosis-driven walk;
* `search.run_search(SearchConfig(...))`: Optuna NSGA-II/TPE search, SQLite or any SQLAlchemy storage;
* `search.evaluate(design, hw)`: the cached fast evaluation both use;
* `pareto.pareto_front(points)`: non-dominated points (minimisation).

Submodules are imported on use so that `codesign --help` stays fast.
"""
