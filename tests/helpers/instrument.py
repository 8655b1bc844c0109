"""Instrumented C simulation of an hls4ml io_stream project: stream statistics and bounded FIFOs.

What C-sim can and cannot show. hls4ml's C-sim stream (`firmware/ap_types/hls_stream.h`, included
by every nnet_utils stream header) is an unbounded `std::deque`, and `myproject()` calls the layer
functions one after another, each over the whole image. So a plain instrumented run sees every FIFO
hold its whole tensor (max occupancy = words per image): it checks token counts and stream
topology, never depths, and a bounded FIFO there could only fail (its writer runs before its
reader), never block.

What we do instead (`instrument_project(..., concurrent=True)`): patch `myproject.cpp` so that each
layer call runs in its own `std::thread` (all joined before `myproject()` returns) and replace
`hls_stream.h` with a thread-safe stream whose `write()` blocks while the FIFO holds its bound
(read from `firmware/stream_depths.txt`, written from the `#pragma HLS STREAM depth=` lines, i.e. the
depths hls4ml would synthesize) and whose `read()` blocks while empty. That is the Kahn process
network the DATAFLOW region implements, with the FIFO bounds of the hardware: its outputs do not
depend on thread timing, and whether it deadlocks with given bounds does not either (a bounded KPN is
a KPN with reverse credit channels). So too-shallow FIFOs that deadlock the hardware (a Fire or
residual bypass shallower than the other branch's lag) deadlock here, detected by a watchdog (no
stream progress for `CODESIGN_STREAM_TIMEOUT_MS`), which writes the stats and exits with code 3.
Occupancies observed in the threaded run depend on thread scheduling, not on cycles, so they are
reported but not compared with the cycle model; a depth that is too small only for throughput (a
stall, not a deadlock) cannot be seen here: `codesign.fpga.dataflow.simulate` checks that.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DEADLOCK_EXIT = 3

STREAM_HEADER = r"""// Instrumented C-simulation model of hls::stream (tests/helpers/instrument.py).
// Thread-safe; write() blocks while the stream holds its bound (firmware/stream_depths.txt or
// $CODESIGN_STREAM_DEPTHS), read() blocks while empty; per-stream max occupancy and word counts
// are written to $CODESIGN_STREAM_STATS by hls_stream_stats_dump(). A watchdog declares deadlock
// when no stream makes progress for $CODESIGN_STREAM_TIMEOUT_MS ms (default 3000): exit code 3.
#ifndef X_HLS_STREAM_SIM_H
#define X_HLS_STREAM_SIM_H
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>

namespace hls {

struct stream_stat { size_t max_occ = 0; size_t writes = 0; size_t bound = 0; };

inline std::mutex &stats_mutex() { static std::mutex m; return m; }
inline std::map<std::string, stream_stat> &stats() { static std::map<std::string, stream_stat> s; return s; }
inline std::atomic<unsigned long> &progress() { static std::atomic<unsigned long> p(0); return p; }
inline std::map<std::string, size_t> &bounds() {
    static std::map<std::string, size_t> b;
    static bool loaded = false;
    std::lock_guard<std::mutex> lg(stats_mutex());
    if (!loaded) {
        loaded = true;
        const char *env = std::getenv("CODESIGN_STREAM_DEPTHS");
        std::ifstream f(env ? env : "stream_depths.txt");
        std::string name; size_t d;
        while (f >> name >> d) b[name] = d;
    }
    return b;
}
inline long timeout_ms() {
    const char *env = std::getenv("CODESIGN_STREAM_TIMEOUT_MS");
    return env ? std::atol(env) : 20000;
}
inline void hls_stream_stats_dump(const char *status = "ok") {
    const char *path = std::getenv("CODESIGN_STREAM_STATS");
    if (!path) return;
    std::lock_guard<std::mutex> lg(stats_mutex());
    FILE *f = std::fopen(path, "w");
    if (!f) return;
    std::fprintf(f, "#status %s\n", status);
    for (auto &kv : stats())
        std::fprintf(f, "%s %zu %zu %zu\n", kv.first.c_str(), kv.second.max_occ, kv.second.writes, kv.second.bound);
    std::fclose(f);
}
[[noreturn]] inline void deadlock(const std::string &where) {
    std::string s = "deadlock " + where;
    hls_stream_stats_dump(s.c_str());
    std::fflush(stdout);
    std::_Exit(3);
}

template <typename __STREAM_T__> class stream {
  protected:
    std::string _name;
    std::deque<__STREAM_T__> _data;
    std::mutex _mutex;
    std::condition_variable _cv;
    size_t _bound = 0;  // 0: unbounded
    size_t _max = 0;
    size_t _writes = 0;

    void wait(std::unique_lock<std::mutex> &ul, const char *op) {
        unsigned long seen = progress().load();
        auto since = std::chrono::steady_clock::now();
        _cv.wait_for(ul, std::chrono::milliseconds(20));
        if (progress().load() != seen) return;
        while (true) {
            if ((op[0] == 'r' && !_data.empty()) || (op[0] == 'w' && (_bound == 0 || _data.size() < _bound))) return;
            _cv.wait_for(ul, std::chrono::milliseconds(20));
            if (progress().load() != seen) { seen = progress().load(); since = std::chrono::steady_clock::now(); }
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
            if (ms > timeout_ms()) { ul.unlock(); deadlock(std::string(op) + " " + _name); }
        }
    }
    void init() {
        auto &b = bounds();
        auto it = b.find(_name);
        _bound = it == b.end() ? 0 : it->second;
    }

  public:
    stream() : _name("hls_stream") { init(); }
    stream(const std::string name) : _name(name) { init(); }
    stream(const char *name) : _name(name) { init(); }
    virtual ~stream() {
        std::lock_guard<std::mutex> lg(stats_mutex());
        stream_stat &s = stats()[_name];
        if (_max > s.max_occ) s.max_occ = _max;
        s.writes += _writes;
        s.bound = _bound;
    }
  private:
    stream(const stream &);
    stream &operator=(const stream &);
  public:
    void operator>>(__STREAM_T__ &rdata) { read(rdata); }
    void operator<<(const __STREAM_T__ &wdata) { write(wdata); }
    bool empty() { std::lock_guard<std::mutex> lg(_mutex); return _data.empty(); }
    bool full() { std::lock_guard<std::mutex> lg(_mutex); return _bound && _data.size() >= _bound; }
    void read(__STREAM_T__ &head) { head = read(); }
    __STREAM_T__ read() {
        std::unique_lock<std::mutex> ul(_mutex);
        while (_data.empty()) wait(ul, "read");
        __STREAM_T__ elem = _data.front();
        _data.pop_front();
        progress()++;
        _cv.notify_all();
        return elem;
    }
    void write(const __STREAM_T__ &tail) {
        std::unique_lock<std::mutex> ul(_mutex);
        while (_bound && _data.size() >= _bound) wait(ul, "write");
        _data.push_back(tail);
        _writes++;
        if (_data.size() > _max) _max = _data.size();
        progress()++;
        _cv.notify_all();
    }
    bool read_nb(__STREAM_T__ &head) {
        std::lock_guard<std::mutex> lg(_mutex);
        if (_data.empty()) { head = __STREAM_T__(); return false; }
        head = _data.front(); _data.pop_front(); progress()++; _cv.notify_all(); return true;
    }
    bool write_nb(const __STREAM_T__ &tail) {
        std::lock_guard<std::mutex> lg(_mutex);
        if (_bound && _data.size() >= _bound) return false;
        _data.push_back(tail); _writes++; if (_data.size() > _max) _max = _data.size();
        progress()++; _cv.notify_all(); return true;
    }
    size_t size() { std::lock_guard<std::mutex> lg(_mutex); return _data.size(); }
};

} // namespace hls
#endif
"""

_CALL = re.compile(r"^(\s*)(nnet::\w+<.*>\(.*\);)(\s*//\s*(\S+))?\s*$")
_PRAGMA = re.compile(r"#pragma HLS STREAM variable=(\w+) depth=(\d+)")


@dataclass(frozen=True)
class StreamStat:
    """One C++ stream of an instrumented run."""

    name: str
    max_occupancy: int
    words: int
    bound: int  # 0: unbounded


@dataclass(frozen=True)
class CsimRun:
    """Outcome of an instrumented C simulation; `outputs` is None when it deadlocked."""

    status: str  # "ok" | "deadlock <read|write> <stream>"
    outputs: np.ndarray | None
    stats: dict[str, StreamStat]

    @property
    def deadlocked(self) -> bool:
        return self.status.startswith("deadlock")


def stream_depths_from_cpp(project_dir: str | Path, project_name: str = "myproject") -> dict[str, int]:
    """C++ stream name -> depth, from the `#pragma HLS STREAM` lines hls4ml wrote."""
    text = (Path(project_dir) / "firmware" / f"{project_name}.cpp").read_text()
    return {m.group(1): int(m.group(2)) for m in _PRAGMA.finditer(text)}


def instrument_project(
    project_dir: str | Path, project_name: str = "myproject", *, concurrent: bool = True, bounded: bool = True
) -> dict[str, int]:
    """Replace `hls_stream.h` in a written project; with `concurrent`, run each layer call in a thread.

    Writes `firmware/stream_depths.txt` (the pragma depths when `bounded`, else empty: unbounded).
    Returns the depths. Call after `hm.write()` and before `hm._compile()`.
    """
    fw = Path(project_dir) / "firmware"
    (fw / "ap_types" / "hls_stream.h").write_text(STREAM_HEADER)
    depths = stream_depths_from_cpp(project_dir, project_name) if bounded else {}
    (fw / "stream_depths.txt").write_text("".join(f"{n} {d}\n" for n, d in depths.items()))
    cpp = fw / f"{project_name}.cpp"
    lines = cpp.read_text().splitlines()
    out: list[str] = []
    n_calls = 0
    last = -1
    in_layers = False
    for line in lines:
        in_layers = in_layers or "insert layers" in line
        m = _CALL.match(line) if in_layers else None
        if m and concurrent:
            out.append(f"{m.group(1)}std::thread _cs_t{n_calls}([&]() {{ {m.group(2)} }});{m.group(3) or ''}")
            n_calls += 1
            last = len(out)
        else:
            out.append(line)
    if concurrent:
        if n_calls == 0:
            raise ValueError(f"no layer calls found in {cpp}")
        joins = [f"    _cs_t{i}.join();" for i in range(n_calls)]
        out[last:last] = joins
        out.insert(0, "#include <thread>")
    # Stats after every call of the top function (predict runs it per sample).
    text = "\n".join(out) + "\n"
    if concurrent:
        text = text.replace(joins[-1] + "\n", joins[-1] + "\n    }\n    hls::hls_stream_stats_dump();\n", 1)
        text = text.replace(
            "// hls-fpga-machine-learning insert layers\n",
            "// hls-fpga-machine-learning insert layers\n    {\n",
            1,
        )
    cpp.write_text(text)
    return depths


def _child(hm: Any, x: np.ndarray, conn: Any, env: dict[str, str]) -> None:
    os.environ.update(env)
    try:
        y = hm.predict(np.ascontiguousarray(x))
        conn.send(("ok", np.asarray(y)))
    except BaseException as exc:  # report anything to the parent
        conn.send(("error", repr(exc)))
    conn.close()


def read_stats(path: str | Path) -> tuple[str, dict[str, StreamStat]]:
    """Parse the stats file the instrumented header writes."""
    status, stats = "missing", {}
    p = Path(path)
    if not p.exists():
        return status, stats
    for line in p.read_text().splitlines():
        if line.startswith("#status"):
            status = line.split(" ", 1)[1]
            continue
        name, occ, words, bound = line.split()
        stats[name] = StreamStat(name, int(occ), int(words), int(bound))
    return status, stats


def run_csim(
    hm: Any, x: np.ndarray, project_dir: str | Path, *, timeout_ms: int = 20_000, wall_s: float = 1200
) -> CsimRun:
    """Run `hm.predict(x)` (x flattened NHWC, one row per sample) in a forked child; catch deadlock.

    The compiled library must come from an instrumented project (`instrument_project` then
    `hm._compile()`). The child's working directory must let the library find its weights, as in
    hls4ml's own predict.
    """
    stats_path = Path(project_dir) / "stream_stats.txt"
    if stats_path.exists():
        stats_path.unlink()
    env = {
        "CODESIGN_STREAM_STATS": str(stats_path),
        "CODESIGN_STREAM_DEPTHS": str(Path(project_dir) / "firmware" / "stream_depths.txt"),
        "CODESIGN_STREAM_TIMEOUT_MS": str(timeout_ms),
    }
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(hm, x, child, env))
    proc.start()
    child.close()
    result = None
    if parent.poll(wall_s):
        try:
            result = parent.recv()
        except EOFError:
            result = None
    proc.join(10)
    if proc.is_alive():
        proc.kill()
        proc.join()
    status, stats = read_stats(stats_path)
    if result and result[0] == "ok" and not status.startswith("deadlock"):
        return CsimRun("ok", result[1], stats)
    if status.startswith("deadlock") or proc.exitcode == DEADLOCK_EXIT:
        return CsimRun(status if status.startswith("deadlock") else "deadlock", None, stats)
    raise RuntimeError(f"instrumented C-sim failed: exit code {proc.exitcode}, {result!r}, status {status}")
