"""Search runs: stores, workers, kill/resume, seeds, budgets, recorded settings (no wall-clock limits:
waits are for events in the store; subprocess timeouts are hang guards only)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from codesign.cli import main
from codesign.explore.pareto import front_rows, pareto_front
from codesign.explore.search import SearchConfig, load_study, make_storage, repair_journal, run_search

from helpers.waiting import HANG_GUARD, run_until_then_kill, wait_for

ROOT = Path(__file__).resolve().parents[1]
STORES = [("journal", "journal:{}", "w.journal"), ("sqlite", "sqlite:///{}", "w.db")]


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def trials(url: str, name: str, states=None) -> list:
    study = optuna.load_study(study_name=name, storage=make_storage(url))
    return study.get_trials(deepcopy=False, states=states)


def complete(url: str, name: str) -> list:
    return trials(url, name, (optuna.trial.TrialState.COMPLETE,))


def _count_or_zero(url: str, name: str) -> int:
    try:
        return len(complete(url, name))
    except Exception:  # the store or the study may not exist yet
        return 0


@pytest.mark.parametrize(("kind", "template", "filename"), STORES)
def test_two_workers_share_a_study(tmp_path, kind, template, filename):
    url = template.format(tmp_path / filename)
    cfg = SearchConfig(storage=url, study_name="two", trials=24, workers=2, population=6)
    study = run_search(cfg)
    done = complete(url, "two")
    assert len(done) + len(trials(url, "two", (optuna.trial.TrialState.FAIL,))) == 24
    assert {t.user_attrs["uid"].split(".")[1] for t in done} == {"0", "1"}  # both workers stored trials
    assert not trials(url, "two", (optuna.trial.TrialState.RUNNING,))  # batches never leave RUNNING trials
    ours = {done[i].number for i in pareto_front([t.values for t in done])}
    assert ours == {t.number for t in study.best_trials}


@pytest.mark.parametrize(("kind", "template", "filename"), STORES)
def test_kill_and_resume_loses_no_trial(tmp_path, kind, template, filename):
    url = template.format(tmp_path / filename)
    cmd = [
        sys.executable,
        "-m",
        "codesign.cli",
        "explore",
        "--storage",
        url,
        "--study-name",
        "k",
        "--no-progress",
        "--population",
        "5",
    ]
    run_until_then_kill(
        [*cmd, "--trials", "100000"], ROOT, lambda: _count_or_zero(url, "k") >= 10, "10 stored trials"
    )
    before = {t.user_attrs["uid"]: t.params for t in trials(url, "k")}
    assert len(before) >= 10
    again = subprocess.run(
        [*cmd, "--trials", "10"], cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD
    )
    assert again.returncode != 0 and "--resume" in again.stderr and "Traceback" not in again.stderr
    again = subprocess.run(
        [*cmd, "--trials", "10", "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD
    )
    assert again.returncode == 0, again.stderr
    after = {t.user_attrs["uid"]: t.params for t in trials(url, "k")}
    assert all(after[u] == p for u, p in before.items())  # every stored trial is still there, unchanged
    # the resumed run's own trials (uid = run.worker.n): a batch the killed run wrote while dying may land
    # after `before` was read; it is not the resumed run's
    killed_runs = {u.split(".")[0] for u in before}
    assert sum(u.split(".")[0] not in killed_runs for u in after) == 10
    numbers = sorted(t.number for t in trials(url, "k"))
    assert numbers == list(range(len(after)))


def test_resumed_runs_never_repeat_trials(tmp_path):
    url = f"journal:{tmp_path / 'r.journal'}"
    base = dict(storage=url, study_name="r", trials=20, sampler="random", population=10)
    run_search(SearchConfig(**base))
    run_search(SearchConfig(**base, resume=True))
    study = load_study(SearchConfig(**base))
    params = [tuple(sorted(t.params.items())) for t in study.trials]
    assert len(params) == 40 and len(set(params)) == 40
    runs = {k: v for k, v in study.user_attrs.items() if k.startswith("run_")}
    assert len(runs) == 2 and runs["run_0000"]["worker_seeds"] != runs["run_0001"]["worker_seeds"]


def test_stale_running_trials_are_failed_on_resume(tmp_path):
    url = f"journal:{tmp_path / 's.journal'}"
    cfg = SearchConfig(storage=url, study_name="s", trials=4, population=4)
    run_search(cfg)
    load_study(cfg).ask()  # what a killed foreign client leaves behind
    assert len(trials(url, "s", (optuna.trial.TrialState.RUNNING,))) == 1
    run_search(SearchConfig(storage=url, study_name="s", trials=4, population=4, resume=True))
    assert not trials(url, "s", (optuna.trial.TrialState.RUNNING,))
    assert load_study(cfg).user_attrs["run_0001"]["stale_failed"] == 1


def test_resume_with_other_settings_is_refused(tmp_path):
    url = f"journal:{tmp_path / 'm.journal'}"
    named = ("--storage", url, "--study-name", "m", "--trials", "4", "--no-progress")
    rc, _, _ = cli("explore", *named, "--population", "4")
    assert rc == 0
    rc, out, err = cli("explore", *named, "--resume", "--space", "squeezenet")
    assert rc != 0 and err.count("\n") == 1 and "space 'squeezenext'" in err and "squeezenet" in err
    rc, out, err = cli("explore", *named, "--resume", "--max-area", "5")
    assert rc != 0 and "budgets" in err
    rc, out, err = cli("explore", *named, "--resume", "--hw", "eyeriss")
    assert rc != 0 and err.count("\n") == 1 and "--hw" in err
    assert len(trials(url, "m")) == 4  # nothing was added by the refused runs


def test_default_study_name_follows_the_search(tmp_path):
    """Without --study-name, another space (or objective set) in the same store is another study; the
    same search again is refused with a one-line hint and continued by --resume; a study stored under
    the old default name `codesign` with the same settings is continued by --resume."""
    url = f"journal:{tmp_path / 'd.journal'}"
    common = ("--storage", url, "--trials", "4", "--population", "4", "--no-progress")
    rc, _, err = cli("explore", *common)
    assert rc == 0 and "study 'squeezenext.latency-energy-area'" in err
    rc, _, err = cli("explore", *common, "--space", "squeezenet", "--objectives", "latency,energy")
    assert rc == 0, err
    assert len(complete(url, "squeezenet.latency-energy")) == 4
    rc, _, err = cli("explore", *common)
    assert rc != 0 and err.count("\n") == 1 and "--resume" in err
    rc, _, err = cli("explore", *common, "--resume")
    assert rc == 0 and len(complete(url, "squeezenext.latency-energy-area")) == 8
    legacy = f"journal:{tmp_path / 'legacy.journal'}"
    rc, _, _ = cli("explore", *common[2:], "--storage", legacy, "--study-name", "codesign")
    assert rc == 0
    rc, _, err = cli("explore", *common[2:], "--storage", legacy, "--resume")
    assert rc == 0 and "study 'codesign'" in err and len(complete(legacy, "codesign")) == 8


def test_out_dir_with_a_trailing_slash_prints_clean_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli(
        "explore",
        "--storage",
        "journal:o.journal",
        "--trials",
        "6",
        "--population",
        "3",
        "--no-progress",
        "--out",
        "front/",
        "--show",
        "1",
    )
    assert rc == 0, err
    assert "front/front.csv" in out and "//" not in out and (tmp_path / "front" / "front.csv").is_file()


def test_journal_with_a_cut_last_record_is_repaired(tmp_path):
    path = tmp_path / "c.journal"
    url = f"journal:{path}"
    run_search(SearchConfig(storage=url, study_name="c", trials=6, population=3))
    n = len(complete(url, "c"))
    with open(path, "ab") as f:  # what a full disk leaves: half a record, no newline
        f.write(b'{"op_code": 5, "worker_id": "x", "study_id": 0, "datetime_start": "20')
    run_search(SearchConfig(storage=url, study_name="c", trials=6, population=3, resume=True))
    assert len(complete(url, "c")) == n + 6
    assert path.read_bytes().endswith(b"\n")
    assert repair_journal(str(path)) == 0


def test_area_budget_front_respects_it(tmp_path):
    url = f"journal:{tmp_path / 'a.journal'}"
    out = tmp_path / "out"
    rc, text, err = cli(
        "explore",
        "--storage",
        url,
        "--trials",
        "40",
        "--population",
        "10",
        "--max-area",
        "2.5",
        "--max-pes",
        "1024",
        "--out",
        str(out),
        "--no-progress",
    )
    assert rc == 0, err
    study = optuna.load_study(
        study_name="squeezenext.latency-energy-area.max_area=2.5.max_pes=1024", storage=make_storage(url)
    )
    rows, points, _ = front_rows(study)
    assert rows and any(p.metrics["area_mm2"] > 2.5 for p in points)  # the budget binds
    for r in rows:
        assert r["score"].area_mm2 <= 2.5 and r["hw"].rows * r["hw"].cols <= 1024
    header = (out / "front.csv").read_text().splitlines()[0]
    assert "area_mm2" in header and "budgets max_area=2.5" in text
    for name in ("latency_vs_energy.png", "latency_vs_area.png", "latency_vs_area.pdf", "plots.txt"):
        assert (out / name).stat().st_size > 0
    caption = (out / "plots.txt").read_text()  # plain words, not Python reprs
    assert (
        "objectives latency, energy, area; budgets max_area=2.5, max_pes=1024" in caption
        and "[" not in caption
    )


def test_workers_die_with_their_parent(tmp_path):
    url = f"journal:{tmp_path / 'p.journal'}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codesign.cli",
            "explore",
            "--storage",
            url,
            "--trials",
            "100000",
            "--workers",
            "2",
            "--population",
            "4",
            "--no-progress",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def children() -> list[int]:
        out = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                with contextlib.suppress(OSError):
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    if int(fields[1]) == proc.pid:
                        out.append(int(pid))
        return out

    try:
        wait_for(lambda: _count_or_zero(url, "squeezenext.latency-energy-area") >= 4, proc, "4 stored trials")
        kids = children()
        assert len(kids) >= 2
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

    def gone() -> bool:
        alive = []
        for k in kids:
            with contextlib.suppress(OSError):
                state = Path(f"/proc/{k}/stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    alive.append(k)
        return not alive

    start = time.monotonic()
    while not gone():
        assert time.monotonic() - start < HANG_GUARD, "workers outlived their parent"
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--storage", "mongodb://x"], "not a store URL"),
        (["--storage", "journal:/nonexistent-dir/x.journal"], "does not exist"),
        (["--objectives", "latency,speed"], "--objectives"),
        (["--max-area", "-1"], "argument --max-area: '-1' is out of range"),
        (["--workers", "0"], "--workers"),
        (["--space", "nope.yaml"], "not a built-in space"),
    ],
)
def test_bad_arguments_one_line(tmp_path, args, message):
    base = ["explore", "--trials", "2", "--no-progress"]
    if "--storage" not in args:
        base += ["--storage", f"journal:{tmp_path / 'b.journal'}"]
    rc, _, err = cli(*base, *args)
    assert rc != 0 and err.startswith("codesign: error:") and err.count("\n") == 1 and message in err, err
