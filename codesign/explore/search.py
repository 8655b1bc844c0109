"""Joint network x hardware design-space search with Optuna, and the fast evaluation it runs on.

Evaluation (`evaluate`): the inner loop of reshaping and search.

Builds the IR layers straight from the design (no torch, no networkx) and sums per-layer results of
the simulator's closed-form fast path (`simulate_graph(..., fast=True)`), cached per layer shape and
hardware, so that a design seen with a new width only pays for the layers that changed.

Search (`run_search`): NSGA-II (default) or TPE over blocks per stage at fixed depth, stage widths,
conv1, squeeze ratio, shared projection x array rows/cols, buffer size and dataflow support, minimising
(latency, energy, params). Studies live in an embedded store by default, Optuna's append-only journal file
(`journal:study.journal`), which survives a killed process and is shared by several worker processes through
a file lock; any SQLAlchemy URL also works (`sqlite:///study.db`, or PostgreSQL to scale out to many
machines). The journal is the default because it is fast: on this 2-core machine Optuna's NSGA-II with a
trivial objective runs about 18,000 trials/min on a journal file against about 2,100 on SQLite, and our
evaluation costs a few ms. Several processes share one study by each calling `study.optimize` on it.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import optuna
import sqlalchemy

from codesign.errors import CodesignError
from codesign.hw import load_accelerator
from codesign.ir import layers as L
from codesign.nets.design import Design, SqueezeNextDesign, design_layer_counts
from codesign.nets.squeezenext import BASE_STAGE_CHANNELS
from codesign.sim import network as _net

_VECTOR = ("pool", "add", "concat")
_CACHE: dict[tuple, dict[tuple, tuple[int, float, int]]] = {}  # (hw, dataflow) -> layer key -> result
_CACHE_LIMIT = 400_000


@dataclass(frozen=True)
class Metrics:
    """What a search optimises: latency, energy, params; plus MACs and PE utilization."""

    latency_ms: float
    energy_uj: float
    params: int
    macs: int
    cycles: int
    utilization: float


def _layer_key(layer: L.Layer) -> tuple:
    if isinstance(layer, L.Conv):
        return ("conv", layer.in_shapes[0], layer.out_shape, layer.kernel_h, layer.kernel_w, layer.groups)
    if isinstance(layer, L.Linear):
        return ("linear", layer.in_features, layer.out_features, layer.out_shape.h * layer.out_shape.w)
    kernel = (layer.kernel_h, layer.kernel_w) if isinstance(layer, L.Pool) else ()
    return (layer.kind, layer.in_shapes, layer.out_shape, kernel)


@lru_cache(maxsize=4096)
def _tables(hw) -> tuple[tuple[str, dict], ...]:
    """Per-dataflow result tables for `hw`. Keyed on the hardware without its dataflow list, so that a
    ws+os machine reuses what its ws-only and os-only siblings computed."""
    canonical = hw if hw.dataflows == ("ws", "os") else hw.with_overrides(dataflows=("ws", "os"))
    if sum(len(t) for t in _CACHE.values()) > _CACHE_LIMIT:
        _CACHE.clear()
    out = []
    for df in hw.dataflows:
        out.append((df, _CACHE.setdefault((canonical, df), {})))
    if "-" not in [d for d, _ in out]:
        out.append(("-", _CACHE.setdefault((canonical, "-"), {})))
    return tuple(out)


def _score(r: tuple[int, float, int], objective: str) -> tuple[float, float]:
    if objective == "latency":
        return (r[0], r[1])
    if objective == "energy":
        return (r[1], r[0])
    return (r[0] * r[1], r[0])


def evaluate_layers(layers, hw, objective: str = "latency") -> Metrics:
    """Totals for layers (or (layer, copies) pairs) on `hw` with the per-layer dataflow chosen by
    `objective`, as `simulate_graph(..., fast=True)` does; results are cached per layer shape."""
    tables = _tables(hw)
    vector_table = tables[-1][1]
    compute_tables = [(df, t) for df, t in tables if df != "-"]
    timing = hw.timing
    cycles = macs = params = 0
    energy = 0.0
    for item in layers:
        layer, copies = item if isinstance(item, tuple) else (item, 1)
        params += copies * layer.params
        kind = layer.kind
        if kind in _VECTOR:
            key = _layer_key(layer)
            hit = vector_table.get(key)
            if hit is None:
                r = _net._vector_layer(layer, hw, 1)
                hit = vector_table[key] = (r.cycles, r.energy_total_pj, r.macs)
        elif kind in ("conv", "linear"):
            key = _layer_key(layer)
            best = None
            for df, table in compute_tables:
                res = table.get(key)
                if res is None:
                    r = _net._compute_layer(layer, hw, df, 1, timing, True)
                    res = table[key] = (r.cycles, r.energy_total_pj, r.macs)
                if best is None or _score(res, objective) < _score(best, objective):
                    best = res
            hit = best
        else:
            continue
        cycles += copies * hit[0]
        energy += copies * hit[1]
        macs += copies * hit[2]
    pes = hw.rows * hw.cols
    return Metrics(
        latency_ms=cycles / (hw.clock_mhz * 1e3),
        energy_uj=energy * 1e-6,
        params=params,
        macs=macs,
        cycles=cycles,
        utilization=macs / (cycles * pes) if cycles else 0.0,
    )


def evaluate(design: Design, hw, objective: str = "latency") -> Metrics:
    """Latency, energy, params, MACs of `design` on `hw` by the cached fast path."""
    return evaluate_layers(design_layer_counts(design), hw, objective)


# ---- the design space ---------------------------------------------------------------------------------

TOTAL_BLOCKS = 21  # 23-layer SqueezeNext: conv1 + 21 blocks + head; depth is held fixed
WIDTH_MULTS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
CONV1_KERNELS = (3, 5, 7)
CONV1_CHANNELS = (32, 48, 64)
SQUEEZE1 = (0.25, 0.375, 0.5)
ARRAY_DIMS = (8, 16, 32, 64)
GBUF_KB = (32, 64, 128, 256, 512)
DATAFLOW_SETS = {"ws": ("ws",), "os": ("os",), "ws+os": ("ws", "os")}
OBJECTIVE_NAMES = ("latency_ms", "energy_uj", "params")


def _round4(x: float) -> int:
    return max(4, int(round(x / 4)) * 4)


def design_from_params(params: dict[str, Any], name: str = "searched") -> SqueezeNextDesign:
    """The network a trial's parameters describe (blocks repaired so they sum to TOTAL_BLOCKS)."""
    blocks = [params["b0"], params["b1"], params["b2"]]
    while TOTAL_BLOCKS - sum(blocks) < 1:  # repair: take blocks from the largest stage
        blocks[blocks.index(max(blocks))] -= 1
    blocks.append(TOTAL_BLOCKS - sum(blocks))
    widths = tuple(_round4(base * params[f"w{i}"]) for i, base in enumerate(BASE_STAGE_CHANNELS))
    return SqueezeNextDesign(
        name=name,
        blocks=tuple(blocks),
        stage_widths=widths,
        conv1_kernel=params["conv1_kernel"],
        conv1_channels=params["conv1_channels"],
        squeeze1=params["squeeze1"],
        squeeze2=params["squeeze1"] / 2,
        shared_projection=params["shared_projection"],
    )


def hw_params(params: dict[str, Any]) -> tuple[int, int, int, str]:
    return params["rows"], params["cols"], params["gbuf_kb"], params["dataflows"]


@lru_cache(maxsize=16)
def _base_accelerator(name: str):
    """Parse a hardware file once per process, not once per searched variant."""
    return load_accelerator(name)


@lru_cache(maxsize=1024)
def hw_variant(base_name: str, rows: int, cols: int, gbuf_kb: int, dataflows: str):
    """`base_name` accelerator with the searched array, buffer and dataflow support."""
    base = _base_accelerator(base_name)
    return base.with_overrides(
        name=f"{base.name}-{rows}x{cols}-{gbuf_kb}k",  # no dataflows in the name: see `_tables`
        rows=rows,
        cols=cols,
        gbuf_total_bytes=gbuf_kb * 1024,
        dataflows=DATAFLOW_SETS[dataflows],
    )


def suggest(trial: optuna.Trial) -> dict[str, Any]:
    """Sample one point of the joint network x hardware space."""
    return {
        "b0": trial.suggest_int("b0", 1, 10),
        "b1": trial.suggest_int("b1", 1, 10),
        "b2": trial.suggest_int("b2", 1, 16),
        "w0": trial.suggest_categorical("w0", WIDTH_MULTS),
        "w1": trial.suggest_categorical("w1", WIDTH_MULTS),
        "w2": trial.suggest_categorical("w2", WIDTH_MULTS),
        "w3": trial.suggest_categorical("w3", WIDTH_MULTS),
        "conv1_kernel": trial.suggest_categorical("conv1_kernel", CONV1_KERNELS),
        "conv1_channels": trial.suggest_categorical("conv1_channels", CONV1_CHANNELS),
        "squeeze1": trial.suggest_categorical("squeeze1", SQUEEZE1),
        "shared_projection": trial.suggest_categorical("shared_projection", (False, True)),
        "rows": trial.suggest_categorical("rows", ARRAY_DIMS),
        "cols": trial.suggest_categorical("cols", ARRAY_DIMS),
        "gbuf_kb": trial.suggest_categorical("gbuf_kb", GBUF_KB),
        "dataflows": trial.suggest_categorical("dataflows", tuple(DATAFLOW_SETS)),
    }


def random_params(rng: random.Random) -> dict[str, Any]:
    """A uniformly random point of the same space (for the throughput benchmark)."""
    return {
        "b0": rng.randint(1, 10),
        "b1": rng.randint(1, 10),
        "b2": rng.randint(1, 16),
        **{f"w{i}": rng.choice(WIDTH_MULTS) for i in range(4)},
        "conv1_kernel": rng.choice(CONV1_KERNELS),
        "conv1_channels": rng.choice(CONV1_CHANNELS),
        "squeeze1": rng.choice(SQUEEZE1),
        "shared_projection": rng.choice((False, True)),
        "rows": rng.choice(ARRAY_DIMS),
        "cols": rng.choice(ARRAY_DIMS),
        "gbuf_kb": rng.choice(GBUF_KB),
        "dataflows": rng.choice(tuple(DATAFLOW_SETS)),
    }


def evaluate_params(
    params: dict[str, Any], hw_name: str = "squeezelerator", objective: str = "latency"
) -> Metrics:
    """Metrics of the design x hardware point a trial sampled."""
    return evaluate(design_from_params(params), hw_variant(hw_name, *hw_params(params)), objective)


class Objective:
    """Optuna objective: (latency ms, energy uJ, params) of the sampled design on the sampled hardware."""

    def __init__(self, hw_name: str = "squeezelerator", objective: str = "latency") -> None:
        self.hw_name = hw_name
        self.objective = objective

    def __call__(self, trial: optuna.Trial) -> tuple[float, float, float]:
        m = evaluate_params(suggest(trial), self.hw_name, self.objective)
        return m.latency_ms, m.energy_uj, float(m.params)


# ---- studies -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchConfig:
    """Everything a search run needs; picklable so worker processes get their own copy."""

    storage: str = "journal:study.journal"
    study_name: str = "codesign"
    trials: int = 2000
    workers: int = 1
    sampler: str = "nsga2"
    seed: int | None = 0
    hw: str = "squeezelerator"
    objective: str = "latency"
    resume: bool = False
    progress: bool = True
    population: int = 100


def make_sampler(kind: str, seed: int | None, population: int = 100) -> optuna.samplers.BaseSampler:
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise CodesignError(f"unknown sampler {kind!r} (choose from nsga2, tpe, random)")


def make_storage(url: str) -> optuna.storages.BaseStorage:
    """`journal:PATH` (Optuna journal file), or RDB storage for any SQLAlchemy URL; SQLite gets a lock
    timeout so several workers can share it."""
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        path = url.removeprefix("journal:").removeprefix("//")
        if not path:
            raise CodesignError("journal storage needs a file path: journal:study.journal")
        return optuna.storages.JournalStorage(JournalFileBackend(path))
    if not url.startswith("sqlite"):
        return optuna.storages.RDBStorage(url)
    storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    # WAL + synchronous=NORMAL: commits survive a killed process (not a power cut) and cost no fsync
    # each, which is what made a trial take ~0.3 s of disk wait with SQLite's defaults.
    sqlalchemy.event.listen(storage.engine, "connect", _sqlite_pragmas)
    storage.engine.dispose()
    return storage


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_study(cfg: SearchConfig, create: bool, worker: int = 0) -> optuna.Study:
    """Create (or, with `resume`, continue) the study; workers load it with their own sampler seed."""
    seed = None if cfg.seed is None else cfg.seed + worker
    sampler = make_sampler(cfg.sampler, seed, cfg.population)
    storage = make_storage(cfg.storage)
    if create:
        try:
            return optuna.create_study(
                storage=storage,
                study_name=cfg.study_name,
                directions=["minimize"] * len(OBJECTIVE_NAMES),
                sampler=sampler,
                load_if_exists=cfg.resume,
            )
        except optuna.exceptions.DuplicatedStudyError:
            raise CodesignError(
                f"study '{cfg.study_name}' already exists in {cfg.storage}; pass --resume to continue it "
                "or --study-name for a new one"
            ) from None
    return optuna.load_study(study_name=cfg.study_name, storage=storage, sampler=sampler)


def _shares(total: int, workers: int) -> list[int]:
    base, extra = divmod(total, workers)
    return [base + (1 if i < extra else 0) for i in range(workers)]


def _worker(cfg: SearchConfig, worker: int, n_trials: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(cfg, create=False, worker=worker)
    study.optimize(
        Objective(cfg.hw, cfg.objective),
        n_trials=n_trials,
        show_progress_bar=cfg.progress and worker == 0,
        gc_after_trial=False,
    )


def run_search(cfg: SearchConfig) -> optuna.Study:
    """Run `cfg.trials` new trials in `cfg.workers` processes sharing one study; return the study."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    open_study(cfg, create=True)  # create (or, with resume, load) before the workers start
    shares = [s for s in _shares(cfg.trials, max(1, cfg.workers)) if s > 0]
    if len(shares) <= 1:
        _worker(cfg, 0, shares[0] if shares else 0)
    else:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_worker, args=(cfg, i, n)) for i, n in enumerate(shares)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        failed = [i for i, p in enumerate(procs) if p.exitcode != 0]
        if failed:
            raise CodesignError(
                f"search workers {failed} failed (exit codes {[procs[i].exitcode for i in failed]})"
            )
    return optuna.load_study(study_name=cfg.study_name, storage=make_storage(cfg.storage))


@dataclass(frozen=True)
class Point:
    """One completed trial: its number, parameters, objectives, and the design and hardware it means."""

    number: int
    params: dict[str, Any]
    latency_ms: float
    energy_uj: float
    params_count: int

    @property
    def values(self) -> tuple[float, float, float]:
        return (self.latency_ms, self.energy_uj, float(self.params_count))

    @property
    def hw_label(self) -> str:
        rows, cols, kb, df = hw_params(self.params)
        return f"{rows}x{cols} {kb}K {df}"


def completed_points(study: optuna.Study) -> list[Point]:
    trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [Point(t.number, dict(t.params), t.values[0], t.values[1], int(t.values[2])) for t in trials]


def benchmark(n: int = 2000, hw_name: str = "squeezelerator", seed: int = 0) -> tuple[float, float]:
    """(wall, CPU) evaluations per minute of the evaluation path (design -> IR -> cached fast
    simulation) in this process; the CPU figure is what a dedicated core gives on a loaded machine."""
    rng = random.Random(seed)
    points = [random_params(rng) for _ in range(n)]
    start, cpu = time.perf_counter(), time.process_time()
    for p in points:
        evaluate_params(p, hw_name)
    return n / (time.perf_counter() - start) * 60, n / (time.process_time() - cpu) * 60
