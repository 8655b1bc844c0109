"""Optuna's NSGA-II sampler with its two per-trial scans of the whole study made incremental.

`optuna.samplers.NSGAIISampler` (Optuna 4-5, `samplers/_ga/_base.py`) works out a new trial's generation
by walking every COMPLETE trial of the study (`get_trial_generation`), and returns a generation's parents
by walking every trial for the cached ids (`get_parent_population`). Both run once per trial, so a study
of n trials costs O(n^2): with 4,000 trials in a worker's local study they took about 2 ms per trial,
as much as the rest of Optuna's work (profiled with the evaluation stubbed).

`NSGAIISearchSampler` returns the same values from running tallies:

* generation: the base counts, among COMPLETE trials, those whose generation attribute equals the
  largest one (the largest being at least 0; trials without the attribute count as -1), and starts a new
  generation when that count reaches the population size. The count depends only on the multiset of
  generations of COMPLETE trials, so it is kept per study as a `Counter`, updated with the trials that
  completed since the last call: new trials are read from the end of the trial list, and trials not
  finished when read are looked at again until they finish (a finished trial never changes).
* parents: once a generation's parent ids are cached in the study, the base returns the trials with
  those ids in trial order, the same list every time; it is computed once and kept.

Everything else (selection, crossover, mutation, the random sampler, seeds, the attribute keys) is the
base class's, so the same seed asks the same trials (`tests/test_explore_nsga.py` runs both on a
study with failed and foreign trials and compares every trial). The tallies are used only on Optuna's
in-memory storage (the worker's local study); other storages take the base class's path.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from optuna.samplers import NSGAIISampler
from optuna.storages import InMemoryStorage
from optuna.trial import TrialState

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial


@dataclass
class _Tally:
    """Generations of one study's COMPLETE trials: how many carry each generation (-1: none)."""

    counts: Counter[int] = field(default_factory=Counter)
    read: int = 0  # trials [0, read) of the trial list have been looked at
    pending: set[int] = field(default_factory=set)  # of those, the ones not finished when looked at


class NSGAIISearchSampler(NSGAIISampler):
    """`NSGAIISampler` (same arguments) whose generation number and parent population come from
    per-study tallies instead of a scan of every trial (see the module docstring)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._tallies: dict[int, _Tally] = {}
        self._parents: dict[tuple[int, int], list[FrozenTrial]] = {}

    def _in_memory(self, study: Study) -> bool:
        return isinstance(study._storage, InMemoryStorage)

    def get_trial_generation(self, study: Study, trial: FrozenTrial) -> int:
        """The generation of `trial`, as the base class computes it (set on the trial if new)."""
        key = self._get_generation_key()
        generation: int | None = trial.system_attrs.get(key, None)
        if generation is not None:
            return generation
        if not self._in_memory(study):
            return super().get_trial_generation(study, trial)
        tally = self._tallies.setdefault(study._study_id, _Tally())
        trials = study._storage.get_all_trials(study._study_id, deepcopy=False)

        def note(t: FrozenTrial) -> None:
            tally.counts[t.system_attrs.get(key, -1)] += 1

        for index in list(tally.pending):
            t = trials[index]
            if t.state.is_finished():
                tally.pending.discard(index)
                if t.state == TrialState.COMPLETE:
                    note(t)
        for index in range(tally.read, len(trials)):
            t = trials[index]
            if not t.state.is_finished():
                tally.pending.add(index)
            elif t.state == TrialState.COMPLETE:
                note(t)
        tally.read = len(trials)
        top = max(0, max(tally.counts, default=0))
        assert self._population_size is not None, "Population size must be set."
        generation = top if tally.counts[top] < self._population_size else top + 1
        study._storage.set_trial_system_attr(trial._trial_id, key, generation)
        return generation

    def get_parent_population(self, study: Study, generation: int) -> list[FrozenTrial]:
        """The base class's parent population of `generation`, kept once its ids are cached in the
        study (from then on the base returns the same trials in trial order on every call)."""
        if generation == 0 or not self._in_memory(study):
            return super().get_parent_population(study, generation)
        memo = self._parents.get((study._study_id, generation))
        if memo is not None:
            return memo
        cached = study._storage.get_study_system_attrs(study._study_id).get(
            self._get_parent_cache_key_prefix() + str(generation), None
        )
        parents = super().get_parent_population(study, generation)
        if cached is not None:  # the trials with the stored ids, in trial order: fixed from now on
            self._parents[(study._study_id, generation)] = parents
        return parents


# Keep the base class's attribute keys (Optuna derives them from the class name), so trials stored by
# either sampler, e.g. by a study run before this class existed, read the same.
NSGAIISearchSampler._GENERATION_KEY = NSGAIISampler._get_generation_key()
NSGAIISearchSampler._PARENT_CACHE_KEY_PREFIX = NSGAIISampler._get_parent_cache_key_prefix()
