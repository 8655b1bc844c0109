"""`NSGAIISearchSampler` asks exactly the trials Optuna's `NSGAIISampler` asks: same seed, same study
flow as a search worker (a generation asked at once, some trials failing, other workers' trials added
between generations), every trial compared; two deliberately broken tallies must be caught."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState

from codesign.explore.nsga import NSGAIISearchSampler

DISTS = {
    "a": IntDistribution(1, 12),
    "b": CategoricalDistribution([0.5, 0.75, 1.0, 1.5, 2.0]),
    "c": CategoricalDistribution(["ws", "os", "ws+os"]),
    "d": IntDistribution(8, 64, step=8),
}
KEY = optuna.samplers.NSGAIISampler._get_generation_key()


def _values(p: dict) -> list[float]:
    x = p["a"] * p["b"] + (p["d"] / 8) ** 0.5
    return [x, 30 / x + len(p["c"]), abs(p["a"] - 6) + p["d"] / 16]


def _run(sampler: optuna.samplers.BaseSampler, population: int = 8, generations: int = 14) -> list[tuple]:
    """The trials a worker-like loop asks, as (number, state, params, values, generation)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["minimize"] * 3, sampler=sampler)
    foreign = 0
    for g in range(generations):
        asked = [study.ask() for _ in range(population)]
        for trial in asked:
            p = {name: trial._suggest(name, dist) for name, dist in DISTS.items()}
            if (p["a"] + p["d"]) % 7 == 0:  # an invalid design
                study.tell(trial, state=TrialState.FAIL)
            else:
                study.tell(trial, _values(p))
        if g % 3 == 1:  # another worker's finished trials arrive
            extra = []
            for k in range(population // 2 + 1):
                foreign += 1
                p = {"a": 1 + foreign % 12, "b": 1.0, "c": "os", "d": 8 * (1 + k % 8)}
                extra.append(
                    optuna.trial.create_trial(
                        params=p, distributions=DISTS, values=_values(p), system_attrs={KEY: g // 2}
                    )
                )
            study.add_trials(extra)
    return [
        (t.number, t.state, tuple(sorted(t.params.items())), t.values, t.system_attrs.get(KEY))
        for t in study.get_trials(deepcopy=False)
    ]


class _CountsFailed(NSGAIISearchSampler):
    """Broken: failed trials enter the generation count."""

    def get_trial_generation(self, study, trial):
        gen = trial.system_attrs.get(KEY)
        if gen is not None:
            return gen
        done = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
        top = max([0, *(t.system_attrs.get(KEY, -1) for t in done)])
        n = sum(1 for t in done if t.system_attrs.get(KEY, -1) == top)
        gen = top if n < self._population_size else top + 1
        study._storage.set_trial_system_attr(trial._trial_id, KEY, gen)
        return gen


class _KeepsFirstParents(NSGAIISearchSampler):
    """Broken: keeps the first parent list returned (selection order) instead of the trial-order one."""

    def get_parent_population(self, study, generation):
        memo = self._parents.get((study._study_id, generation))
        if memo is None:
            memo = self._parents[(study._study_id, generation)] = (
                optuna.samplers.NSGAIISampler.get_parent_population(self, study, generation)
            )
        return memo


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_same_trials_as_optuna_nsga2(seed):
    ours = _run(NSGAIISearchSampler(population_size=8, seed=seed))
    base = _run(optuna.samplers.NSGAIISampler(population_size=8, seed=seed))
    assert len(ours) > 100 and max(t[4] or 0 for t in ours) >= 5  # several generations with parents
    assert ours == base


@pytest.mark.parametrize("broken", [_CountsFailed, _KeepsFirstParents])
def test_a_broken_tally_is_caught(broken):
    base = _run(optuna.samplers.NSGAIISampler(population_size=8, seed=0))
    assert _run(broken(population_size=8, seed=0)) != base
