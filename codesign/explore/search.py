"""Joint network x hardware search with Optuna, scored by the full simulator (`codesign.explore.score`).

Objectives are chosen among latency, energy, area, power, EDP, params and MACs (all minimised); budgets
(`max_area` mm^2, `max_power` mW, `max_pes`, `target_latency` ms) are constraints handed to the sampler
(`Trial.set_constraint`: NSGA-II and TPE prefer feasible trials) and the reported front keeps only
feasible designs. The space (network family and hardware knobs) is data: `codesign.explore.space`.

Store and rate. A worker runs its sampler on an in-memory copy of the study and asks a whole generation
(`population` trials) at a time; after scoring them it appends the finished trials to the shared store in
one batch (`Study.add_trials`) and copies in what other workers stored since. The store therefore sees
one write per finished trial and no RUNNING trial, so neither its latency nor a killed process bounds the
in-study rate or leaves stale trials behind: a kill loses at most the generation being scored, never a
stored trial. Stores: Optuna's journal file (`journal:study.journal`, the default; several local
processes share it through its file lock), SQLite, or PostgreSQL (`postgresql://user@host/db`, psycopg 3)
for workers on many machines.

Runs. Each run of a study (the first, and every `--resume`) is recorded in the study's user attributes
with its sampler seed, derived from `--seed`, the run index and the worker, so a resumed run never replays
the trials of an earlier one. The study records its space, objectives, budgets and base hardware; a
`--resume` that asks for a different one is refused. Worker processes die with their parent (Linux
PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from codesign.errors import CodesignError
from codesign.explore.hardware import variant
from codesign.explore.score import METRICS, Score, score
from codesign.explore.space import SearchSpace, build_design, hw_overrides, load_space, split_params, suggest

if TYPE_CHECKING:
    import optuna
    from optuna.storages import BaseStorage
    from optuna.storages.journal import BaseJournalBackend
    from optuna.trial import FrozenTrial

    from codesign.hw.model import Accelerator
    from codesign.nets.design import Design

BUDGETS = {"max_area": "area", "max_power": "power", "target_latency": "latency"}


# ---- evaluation ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluated:
    """A point of the space, the design and hardware it means, and its full score."""

    design: Design
    hw: Accelerator
    overrides: dict[str, Any]
    score: Score


def settle_heap() -> None:
    """Collect the young garbage generations, then move every surviving object out of the cyclic
    garbage collector's view (`gc.freeze`); reference counting still frees them when they die.

    Called once per generation of a search and per 100 benchmark evaluations. Scoring fills caches
    (per-layer results, GEMM cores, emitted layer lists: millions of small dicts and dataclasses) that
    hold no reference cycles, yet every 25% growth of that heap triggers a full collection that walks
    all of it: 19-22% of a 1000-design benchmark's CPU time went to 6-8 such collections (measured
    with `gc.callbacks`), 4% with this call. Only cyclic garbage older than the last young collection
    escapes collection while frozen; `run_search` (in-process worker) and `benchmark` unfreeze at their end.
    No figure changes."""
    gc.collect(1)
    gc.freeze()


class Evaluator:
    """Turns a point of the space into (design, hardware, full score); equal points are scored once."""

    def __init__(self, space: SearchSpace, layer_objective: str = "latency") -> None:
        self.space = space
        self.layer_objective = layer_objective
        self._memo: dict[tuple[object, ...], Score] = {}

    def __call__(self, net: dict[str, Any], hwv: dict[str, Any], name: str = "searched") -> Evaluated:
        """Raises DesignError / HardwareConfigError / MappingError (CodesignError) for an invalid point."""
        design = build_design(self.space, net, name)
        overrides = hw_overrides(self.space, hwv)
        hw = variant(self.space.hardware.base, overrides)
        key = (design.family, *(v for k, v in design.__dict__.items() if k != "name"), hw)
        s = self._memo.get(key)
        if s is None:
            if len(self._memo) > 8192:
                self._memo.clear()
            s = self._memo[key] = score(design, hw, "auto", self.layer_objective)
        return Evaluated(design, hw, overrides, s)

    def flat(self, params: dict[str, Any], name: str = "searched") -> Evaluated:
        """The same for a trial's flat parameters (`net.x`, `hw.y`)."""
        net, hwv = split_params(params)
        return self(net, hwv, name)


def objective_values(s: Score, objectives: tuple[str, ...]) -> list[float]:
    """The figures `objectives` name (`Score.metric`: latency ms, energy uJ, area mm^2...), in order."""
    return [s.metric(o) for o in objectives]


def constraint_values(s: Score, hw: Accelerator, budgets: dict[str, float]) -> list[float]:
    """One value per budget, <= 0 when the budget is met (Optuna's constraints convention)."""
    out = []
    for key, limit in sorted(budgets.items()):
        value = hw.rows * hw.cols if key == "max_pes" else s.metric(BUDGETS[key])
        out.append(float(value - limit))
    return out


# ---- storage ---------------------------------------------------------------------------------------------


def repair_journal(path: str) -> int:
    """Cut a journal file's partial last record (left by a full disk or a kill mid-write) under the
    journal's own lock; returns the bytes removed. Optuna would otherwise append after the cut line and
    every later load would fail to parse it. Raises ValueError, touching nothing, for a file whose first
    record is not a journal record."""
    from optuna.storages.journal import JournalFileSymlinkLock

    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return 0
    with open(path, "rb") as f:
        head = f.read(4096)
        if not (head.lstrip().startswith(b"{") and b'"op_code"' in head):
            # not written by Optuna: never cut (or append to) a user's file
            raise ValueError("its first record is not an Optuna journal record")
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return 0
    lock = JournalFileSymlinkLock(path)
    acquired = lock.acquire()
    try:
        with open(path, "rb+") as f:
            data = f.read()
            keep = data.rfind(b"\n") + 1
            f.truncate(keep)
            f.flush()
            os.fsync(f.fileno())
        return len(data) - keep
    finally:
        if acquired:
            lock.release()


class BatchedJournal:
    """An Optuna journal-file backend that writes a whole batch of records in one append (one lock, one
    fsync) instead of one per record; reads are Optuna's `JournalFileBackend.read_logs`.

    Inside `batch()` it holds the journal's own lock (`JournalFileSymlinkLock`, the one every Optuna
    process on the file uses), so the file cannot grow under it; records appended by the storage are
    buffered and served back to the storage's own reads after the file's, so the storage sees exactly
    the order the file will have. At the end the buffer is written as whole JSON lines (Optuna's format:
    one compact JSON object per line) and fsynced. A kill mid-append leaves at most a cut last line,
    which `repair_journal` removes on the next open."""

    def __init__(self, path: str) -> None:
        from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

        self._path = path
        self._file = JournalFileBackend(path)
        self._lock = JournalFileSymlinkLock(path)
        self._buffer: list[dict[str, Any]] | None = None
        self._total = 0  # records known to be in the file

    def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
        """The records from number `log_number_from` on: the file's, then (inside `batch()`) the buffer's."""
        if self._buffer is None:
            count = 0
            for log in self._file.read_logs(log_number_from):
                count += 1
                yield log
            self._total = max(self._total, log_number_from + count)
            return
        if log_number_from < self._total:
            yield from self._file.read_logs(log_number_from)
        yield from self._buffer[max(0, log_number_from - self._total) :]

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        """Append `logs` to the file (Optuna's locked append), or to the buffer inside `batch()`."""
        if self._buffer is None:
            self._file.append_logs(logs)
        else:
            self._buffer.extend(logs)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the journal's lock; records appended meanwhile are written in one append and fsync at the
        end (nothing is written when the body raises). Raises OSError as the file does."""
        self._lock.acquire()
        try:
            self._total += sum(1 for _ in self._file.read_logs(self._total))  # what others wrote
            self._buffer = []
            yield
            if self._buffer:
                text = "\n".join(json.dumps(log, separators=(",", ":")) for log in self._buffer) + "\n"
                with open(self._path, "ab") as f:
                    f.write(text.encode("utf-8"))
                    f.flush()
                    os.fsync(f.fileno())
                self._total += len(self._buffer)
        finally:
            self._buffer = None
            self._lock.release()


def add_trials_batched(study: optuna.Study, trials: list[FrozenTrial]) -> None:
    """`study.add_trials(trials)` with one store write for the whole list where the store allows it
    (our journal backend); other stores write one trial at a time."""
    backend = _BATCHED.get(id(storage_of(study)))
    if backend is not None:
        with backend.batch():
            study.add_trials(trials)
    else:
        study.add_trials(trials)


_BATCHED: dict[int, BatchedJournal] = {}  # id(JournalStorage) -> its backend (storages live per process)
_STORAGE_OF: dict[int, BaseStorage] = {}  # id(study) -> the storage `load_study` opened it on


def storage_of(study: optuna.Study) -> BaseStorage | None:
    """The storage `load_study` opened `study` on in this process (None for another study)."""
    return _STORAGE_OF.get(id(study))


def normalise_url(url: str) -> str:
    """Storage URL with PostgreSQL routed to psycopg 3 (`postgresql://` means psycopg2 to SQLAlchemy)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_storage(url: str) -> BaseStorage:
    """`journal:PATH` (Optuna journal file, repaired if its last record was cut), or RDB storage for a
    SQLAlchemy URL (sqlite:///x.db, postgresql://user@host:port/db). One-line CodesignError for a URL
    that is not one of these or a store that cannot be opened."""
    import optuna
    import sqlalchemy

    if url.startswith("journal:"):
        path = url.removeprefix("journal:").removeprefix("//")
        if not path:
            raise CodesignError("--storage journal: needs a file path, e.g. journal:study.journal")
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise CodesignError(f"--storage {url}: directory {parent} does not exist; create it first")
        if os.path.isdir(path):
            raise CodesignError(f"--storage {url}: {path} is a directory; name a journal file")
        try:
            repair_journal(path)
            backend = BatchedJournal(path)
            storage = optuna.storages.JournalStorage(
                cast("BaseJournalBackend", backend)
            )  # duck-typed backend
            _BATCHED[id(storage)] = backend
            return storage
        except OSError as exc:
            from codesign.errors import os_error

            raise os_error(exc, "open the journal", exc.filename or url) from None
        except (ValueError, UnicodeDecodeError) as exc:
            from codesign.errors import InputError  # a file that is not a journal: bad input, exit 4

            raise InputError(
                f"--storage {url}: {path} is not an Optuna journal ({str(exc)[:80]}); name another file"
            ) from None
    if not url.startswith(("sqlite:", "postgresql", "postgres:", "mysql")):
        raise CodesignError(
            f"--storage {url!r}: not a store URL (use journal:PATH, sqlite:///PATH or postgresql://user@host/db)"
        )
    url = normalise_url(url)
    try:
        if url.startswith("sqlite"):
            rdb = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
            sqlalchemy.event.listen(rdb.engine, "connect", _sqlite_pragmas)
            rdb.engine.dispose()
            return rdb
        return optuna.storages.RDBStorage(url, heartbeat_interval=None)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        reason = " ".join(str(getattr(exc, "orig", None) or exc).split())[:160]
        message = f"--storage {url}: cannot open the store ({reason})"
        db = url.split(":///", 1)[1] if url.startswith("sqlite:///") else ""
        folder = os.path.dirname(os.path.abspath(db)) if db else ""
        if folder and os.path.isdir(folder) and not os.access(folder, os.W_OK):
            from codesign.errors import EnvironmentFailure  # a read-only filesystem or no permission: exit 5

            raise EnvironmentFailure(
                f"{message}; {folder} is not writable, choose a writable directory"
            ) from None
        raise CodesignError(message) from None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# ---- configuration ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchConfig:
    """Everything a search run needs; picklable so worker processes get their own copy."""

    storage: str = "journal:study.journal"
    study_name: str = ""  # "" = `default_study_name` of the settings
    trials: int = 2000
    workers: int = 1
    sampler: str = "nsga2"
    seed: int = 0
    space: str = "squeezenext"
    objectives: tuple[str, ...] = ("latency", "energy", "area")
    budgets: dict[str, float] = field(default_factory=dict)
    layer_objective: str = "latency"
    resume: bool = False
    progress: bool = False
    population: int = 100
    hw: str | None = None  # replaces the space's hardware.base when given

    def load_space(self) -> SearchSpace:
        """The space, with `hw` as its base hardware when given (validated: one-line error if unknown)."""
        space = load_space(self.space)
        if self.hw:
            from codesign.explore.hardware import base_accelerator

            base_accelerator(self.hw)
            space = space.model_copy(update={"hardware": space.hardware.model_copy(update={"base": self.hw})})
        return space

    def default_study_name(self, space: SearchSpace) -> str:
        """The study name when none is given, from what the search is: space name, base hardware when
        `hw` replaces the space's, objectives, budgets and a non-latency layer objective, e.g.
        `squeezenext.latency-energy-area` or `squeezenet@eyeriss.latency-energy.max_area=3`. Another
        space or objective set in the same store is thus another study, and the same search again is
        the same study (continued with --resume)."""
        name = space.name + (f"@{self.hw}" if self.hw else "") + "." + "-".join(self.objectives)
        for key, value in sorted(self.budgets.items()):
            name += f".{key}={value:g}"
        if self.layer_objective != "latency":
            name += f".layer_{self.layer_objective}"
        return name

    def recorded(self, space: SearchSpace) -> dict[str, Any]:
        """What the study records and a resume must match."""
        return {
            "space": json.loads(space.canonical()),
            "objectives": list(self.objectives),
            "budgets": dict(sorted(self.budgets.items())),
            "layer_objective": self.layer_objective,
        }


def check_config(cfg: SearchConfig) -> None:
    """Raise a one-line CodesignError for unknown or repeated objectives, an unknown or non-positive budget,
    trials < 0, workers < 1, population < 2 or an unknown sampler."""
    bad = [o for o in cfg.objectives if o not in METRICS]
    if bad or not cfg.objectives or len(set(cfg.objectives)) != len(cfg.objectives):
        raise CodesignError(
            f"--objectives {','.join(cfg.objectives)}: give distinct names among {', '.join(METRICS)}"
        )
    for key, value in cfg.budgets.items():
        if key not in (*BUDGETS, "max_pes"):
            raise CodesignError(f"unknown budget {key}")
        if not value > 0:
            raise CodesignError(f"--{key.replace('_', '-')} {value:g}: must be > 0")
    if cfg.trials < 0 or cfg.workers < 1 or cfg.population < 2:
        raise CodesignError("--trials must be >= 0, --workers >= 1 and --population >= 2")
    if cfg.sampler not in ("nsga2", "tpe", "random"):
        raise CodesignError(f"unknown sampler {cfg.sampler!r} (choose from nsga2, tpe, random)")


def make_sampler(cfg: SearchConfig, seed: int) -> optuna.samplers.BaseSampler:
    """`cfg.sampler`'s Optuna sampler seeded with `seed`: NSGA-II (population `cfg.population`), multivariate
    TPE, or random."""
    import optuna

    if cfg.sampler == "nsga2":
        from codesign.explore.nsga import NSGAIISearchSampler  # NSGAIISampler without its O(n) scans

        return NSGAIISearchSampler(population_size=cfg.population, seed=seed)
    if cfg.sampler == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True)
    return optuna.samplers.RandomSampler(seed=seed)


def run_seed(base: int, run_index: int, worker: int) -> int:
    """Sampler seed of worker `worker` in the `run_index`-th run of a study (recorded in the study)."""
    return random.Random(f"{base}:{run_index}:{worker}").getrandbits(31)


# ---- studies ---------------------------------------------------------------------------------------------


def _describe_difference(old: dict[str, Any], new: dict[str, Any]) -> str:
    for key in new:
        if old.get(key) != new[key]:
            if key == "space":
                return f"space {old['space'].get('name')!r} (with its ranges) vs {new['space'].get('name')!r}"
            return f"{key} {old.get(key)!r} vs {new[key]!r}"
    return "settings"


#: The study name every search used before names were derived from the settings.
LEGACY_STUDY_NAME = "codesign"


def resolve_study_name(cfg: SearchConfig, space: SearchSpace) -> SearchConfig:
    """`cfg` with its study name filled in: the given one, else `default_study_name`; a `--resume`
    without a name whose derived study is not in the store continues a study named `codesign` (the
    name every search had before) if that one recorded the same settings."""
    import dataclasses

    if cfg.study_name:
        return cfg
    name = cfg.default_study_name(space)
    if cfg.resume:
        import optuna

        storage = make_storage(cfg.storage)
        names = set(optuna.get_all_study_names(storage=storage))
        if name not in names and LEGACY_STUDY_NAME in names:
            legacy = optuna.load_study(study_name=LEGACY_STUDY_NAME, storage=storage)
            if legacy.user_attrs.get("codesign") == cfg.recorded(space):
                name = LEGACY_STUDY_NAME
    return dataclasses.replace(cfg, study_name=name)


def prepare_study(cfg: SearchConfig, space: SearchSpace) -> tuple[int, int]:
    """Create the study (or check a resumed one matches), fail stale RUNNING trials, record this run.
    Returns (run index, stale trials failed)."""
    import optuna

    storage = make_storage(cfg.storage)
    recorded = cfg.recorded(space)
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=cfg.study_name,
            directions=["minimize"] * len(cfg.objectives),
            load_if_exists=cfg.resume,
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise CodesignError(
            f"study '{cfg.study_name}' already exists in {cfg.storage}; pass --resume to continue it "
            "or --study-name for a new one"
        ) from None
    attrs = study.user_attrs
    if "codesign" in attrs:
        old = attrs["codesign"]
        if old != recorded:
            raise CodesignError(
                f"--resume: study '{cfg.study_name}' was run with {_describe_difference(old, recorded)}; "
                "resume it with the same --space/--hw/--objectives/budgets or use a new --study-name"
            )
    elif study.trials:
        raise CodesignError(
            f"--resume: study '{cfg.study_name}' was not made by this version of codesign explore; use a new --study-name"
        )
    else:
        study.set_user_attr("codesign", recorded)
    stale = 0
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        stale += 1
    runs = [k for k in attrs if k.startswith("run_")]
    index = len(runs)
    study.set_user_attr(
        f"run_{index:04d}",
        {
            "seed": cfg.seed,
            "worker_seeds": [run_seed(cfg.seed, index, w) for w in range(cfg.workers)],
            "trials": cfg.trials,
            "workers": cfg.workers,
            "sampler": cfg.sampler,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "host": os.uname().nodename,
            "stale_failed": stale,
        },
    )
    return index, stale


def load_study(cfg: SearchConfig) -> optuna.Study:
    """Open `cfg.study_name` in `cfg.storage`. Raises CodesignError when the store has no such study (and
    what `make_storage` raises)."""
    import optuna

    storage = make_storage(cfg.storage)
    try:
        study = optuna.load_study(study_name=cfg.study_name, storage=storage)
        _STORAGE_OF[id(study)] = storage
        return study
    except KeyError:
        raise CodesignError(f"no study '{cfg.study_name}' in {cfg.storage}") from None


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:
            os._exit(1)


def worker_loop(cfg: SearchConfig, worker: int, n_trials: int, run_index: int) -> int:
    """Run `n_trials` trials of the study in batches of one generation; returns the trials stored."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = cfg.load_space()
    evaluator = Evaluator(space, cfg.layer_objective)
    shared = load_study(cfg)
    local = optuna.create_study(
        directions=["minimize"] * len(cfg.objectives),
        sampler=make_sampler(cfg, run_seed(cfg.seed, run_index, worker)),
    )
    seen: set[str] = set()
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)

    def pull() -> None:
        fresh = [
            t for t in shared.get_trials(deepcopy=False, states=states) if t.user_attrs.get("uid") not in seen
        ]
        for t in fresh:
            seen.add(t.user_attrs.get("uid", f"foreign-{t.number}"))
        if fresh:
            local.add_trials(fresh)

    pull()
    run_id = uuid.uuid4().hex[:8]
    done = 0
    t0 = time.perf_counter()
    while done < n_trials:
        batch = min(cfg.population, n_trials - done)
        asked = [local.ask() for _ in range(batch)]
        seen_batch: list[str] = []
        for trial in asked:
            net = suggest(trial, "net", space.network.params)
            hwv = suggest(trial, "hw", space.hardware.params)
            uid = f"{run_id}.{worker}.{done + len(seen_batch)}"
            seen_batch.append(uid)
            trial.set_user_attr("uid", uid)
            seen.add(uid)
            try:
                ev = evaluator(net, hwv)
            except CodesignError as exc:
                trial.set_user_attr("error", str(exc)[:200])
                local.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            trial.set_user_attr("metrics", ev.score.as_dict())
            if cfg.budgets:
                values = constraint_values(ev.score, ev.hw, cfg.budgets)
                trial.set_user_attr("constraints", values)
                for key, value in zip(sorted(cfg.budgets), values, strict=True):
                    trial.set_constraint(key, value)  # the sampler prefers feasible trials
            local.tell(trial, objective_values(ev.score, cfg.objectives))
        numbers = {t.number for t in asked}
        finished = [t for t in local.get_trials(deepcopy=False) if t.number in numbers]
        add_trials_batched(shared, finished)
        done += batch
        pull()
        settle_heap()
        if cfg.progress and worker == 0:
            elapsed = time.perf_counter() - t0
            print(f"\r{done}/{n_trials} trials, {elapsed:.0f} s", end="", file=sys.stderr, flush=True)
    if cfg.progress and worker == 0 and n_trials:
        print(file=sys.stderr)
    return done


def _spawned_worker(cfg: SearchConfig, worker: int, n_trials: int, run_index: int) -> None:
    _die_with_parent()
    worker_loop(cfg, worker, n_trials, run_index)


def _shares(total: int, workers: int) -> list[int]:
    base, extra = divmod(total, workers)
    return [base + (1 if i < extra else 0) for i in range(workers)]


def run_search(cfg: SearchConfig) -> optuna.Study:
    """Run `cfg.trials` new trials in `cfg.workers` processes sharing one study; return the study."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    check_config(cfg)
    space = cfg.load_space()
    cfg = resolve_study_name(cfg, space)
    run_index, _ = prepare_study(cfg, space)
    shares = [s for s in _shares(cfg.trials, cfg.workers) if s > 0]
    if len(shares) <= 1:
        worker_loop(cfg, 0, shares[0] if shares else 0, run_index)
        gc.unfreeze()  # normal collection again for what this process does next (a test session, say)
    else:
        ctx = multiprocessing.get_context("spawn")
        procs = [
            ctx.Process(target=_spawned_worker, args=(cfg, i, n, run_index)) for i, n in enumerate(shares)
        ]
        try:
            for p in procs:
                p.start()
            for p in procs:
                p.join()
        finally:
            for p in procs:
                if p.is_alive():
                    p.kill()
                    p.join()
        failed = [i for i, p in enumerate(procs) if p.exitcode != 0]
        if failed:
            raise CodesignError(
                f"search workers {failed} failed (exit codes {[procs[i].exitcode for i in failed]}); "
                "the trials they stored are kept, rerun with --resume"
            )
    return load_study(cfg)


# ---- results ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One completed trial: number, parameters, objective values and full-simulation metrics."""

    number: int
    params: dict[str, Any]
    values: tuple[float, ...]
    metrics: dict[str, float]
    constraints: tuple[float, ...]

    @property
    def feasible(self) -> bool:
        """Every budget met (each constraint value <= 0, Optuna's convention)."""
        return all(c <= 0 for c in self.constraints)

    def metric(self, name: str) -> float:
        """The figure an objective names, in `METRICS`' units. Raises KeyError for another name."""
        return float(self.metrics[METRICS[name][0]])


def completed_points(study: optuna.Study) -> list[Point]:
    """Every COMPLETE trial of `study` as a `Point`, in trial order."""
    import optuna

    trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [
        Point(
            t.number,
            dict(t.params),
            tuple(t.values),
            dict(t.user_attrs.get("metrics", {})),
            tuple(t.user_attrs.get("constraints", ())),
        )
        for t in trials
    ]


def study_settings(study: optuna.Study) -> dict[str, Any]:
    """What the study recorded: space (as data), objectives, budgets, layer objective."""
    rec: dict[str, Any] | None = study.user_attrs.get("codesign")
    if rec is None:
        raise CodesignError(f"study '{study.study_name}' was not made by codesign explore")
    return rec


# ---- benchmarks ------------------------------------------------------------------------------------------


def random_points(space: SearchSpace, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """`n` uniformly random points of `space` as flat trial parameters (RandomSampler, in memory)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        t = study.ask()
        p = {f"net.{k}": v for k, v in suggest(t, "net", space.network.params).items()}
        p |= {f"hw.{k}": v for k, v in suggest(t, "hw", space.hardware.params).items()}
        study.tell(t, 0.0)
        out.append(p)
    return out


def benchmark(
    n: int = 2000, space_name: str = "squeezenext", seed: int = 0, distinct_hw: int = 0
) -> tuple[float, float]:
    """(wall, CPU) full-score evaluations per minute in this process over `n` random points of the space,
    cold cache. `distinct_hw` > 0 draws the hardware from that many random machines (a study's population
    converges on few machines; 0 = every point's own random hardware)."""
    from codesign.explore.score import cache_clear

    space = load_space(space_name)
    points = random_points(space, n, seed)
    if distinct_hw:
        machines = [{k: v for k, v in p.items() if k.startswith("hw.")} for p in points[:distinct_hw]]
        rng = random.Random(seed)
        points = [{k: v for k, v in p.items() if k.startswith("net.")} | rng.choice(machines) for p in points]
    evaluator = Evaluator(space)
    cache_clear()
    start, cpu = time.perf_counter(), time.process_time()
    for i, p in enumerate(points):
        if i % 100 == 99:
            settle_heap()  # as a search does once per generation
        with contextlib.suppress(CodesignError):
            evaluator.flat(p, f"b{i}")
    rates = n / (time.perf_counter() - start) * 60, n / (time.process_time() - cpu) * 60
    gc.unfreeze()
    return rates
