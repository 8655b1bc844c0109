"""A study shared through a real PostgreSQL server (Optuna RDB storage, psycopg 3): two worker
processes, and a kill/resume that loses no trial. The test starts its own server from Debian's
`postgresql` package (installed by .ci/run); it is skipped, with the reason, where that is missing."""

from __future__ import annotations

import functools
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pytest

from codesign.explore.search import SearchConfig, make_storage, run_search

from helpers.waiting import HANG_GUARD, run_until_then_kill

ROOT = Path(__file__).resolve().parents[1]


psycopg = pytest.importorskip(
    "psycopg", reason="psycopg[binary] is needed for PostgreSQL (pip install -e '.[dev]')"
)


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    return Path(dirs[-1]) if dirs else None


@pytest.fixture(scope="module")
def pg_url():
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (apt-get install -y postgresql)")
    root = Path(tempfile.mkdtemp(prefix="codesign-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as the postgres user
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, sock = root / "data", root
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = dict(check=True, capture_output=True, timeout=HANG_GUARD)
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"], **run
    )
    subprocess.run(
        [
            *as_user,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-w",
            "-l",
            str(root / "log"),
            "-o",
            f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=50",
            "start",
        ],
        **run,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=HANG_GUARD,
        )
        shutil.rmtree(root, ignore_errors=True)


@functools.cache
def _storage(url: str):
    """One store (one connection pool) per server: polling with a new store each time would hold a new
    connection per poll until garbage collection and exhaust the server's max_connections = 50."""
    return make_storage(url)


def _trials(url: str, name: str) -> list:
    return optuna.load_study(study_name=name, storage=_storage(url)).get_trials(deepcopy=False)


def _complete(url: str, name: str) -> int:
    try:
        return sum(t.state == optuna.trial.TrialState.COMPLETE for t in _trials(url, name))
    except Exception:  # the study may not exist yet
        return 0


def test_two_worker_processes_share_a_postgres_study(pg_url):
    study = run_search(SearchConfig(storage=pg_url, study_name="pg_two", trials=20, workers=2, population=5))
    trials = _trials(pg_url, "pg_two")
    assert len(trials) == 20 and sorted(t.number for t in trials) == list(range(20))
    assert {t.user_attrs["uid"].split(".")[1] for t in trials} == {"0", "1"}
    assert study.best_trials


def test_postgres_kill_and_resume_loses_no_trial(pg_url):
    cmd = [
        sys.executable,
        "-m",
        "codesign.cli",
        "explore",
        "--storage",
        pg_url,
        "--study-name",
        "pg_k",
        "--no-progress",
        "--population",
        "5",
        "--workers",
        "2",
    ]
    run_until_then_kill(
        [*cmd, "--trials", "100000"], ROOT, lambda: _complete(pg_url, "pg_k") >= 10, "10 stored trials"
    )
    before = {t.user_attrs["uid"]: t.params for t in _trials(pg_url, "pg_k")}
    res = subprocess.run(
        [*cmd, "--trials", "10", "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD
    )
    assert res.returncode == 0, res.stderr
    after = {t.user_attrs["uid"]: t.params for t in _trials(pg_url, "pg_k")}
    assert all(after[u] == p for u, p in before.items())  # every stored trial is still there, unchanged
    # the resumed run's own trials (uid = run.worker.n): a batch the killed run committed while dying
    # may land after `before` was read; it is not the resumed run's
    killed_runs = {u.split(".")[0] for u in before}
    assert sum(u.split(".")[0] not in killed_runs for u in after) == 10
