"""Regenerate the README's generated blocks from the code, so no figure in it is typed by hand.

A block is the text between ``<!-- BEGIN generated:NAME -->`` and ``<!-- END generated:NAME -->``; each NAME
has a function here that renders it. ``python -m codesign.report.readme`` rewrites README.md in place
(``--check`` only reports whether it is current, exit status 1 if not); tests/test_readme_tour.py checks
that README.md equals what this produces.

Blocks:

* ``compare``: `codesign compare` of the eight zoo models on the default hardware, as Markdown.
* ``compare-ratios``: the sentence setting our SqueezeNext v5 ratios beside the paper's (Gholami et al.
  2018, SqueezeNext, Table 3 / Section 6: 2.59x faster and 2.25x more energy-efficient than SqueezeNet v1.0,
  8.26x and 7.5x against AlexNet).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codesign.sim.network import NetworkResult

README = Path(__file__).resolve().parents[2] / "README.md"
COMPARE_MODELS = (
    "squeezenet_v1_0",
    "squeezenet_v1_1",
    "squeezenext_v1",
    "squeezenext_v2",
    "squeezenext_v3",
    "squeezenext_v4",
    "squeezenext_v5",
    "alexnet",
)
#: SqueezeNext paper (Gholami et al., CVPR Workshops 2018), its best variant against SqueezeNet v1.0 and AlexNet.
PAPER_RATIOS = {"squeezenet_v1_0": (2.59, 2.25), "alexnet": (8.26, 7.5)}

_BLOCK = re.compile(
    r"(<!-- BEGIN generated:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- END generated:(?P=name) -->)", re.S
)


def _results() -> list[NetworkResult]:
    from codesign.hw.cached import load_accelerator_cached
    from codesign.sim import simulate

    hw = load_accelerator_cached("squeezelerator")
    return [simulate(name, hw, dataflow="auto", objective="latency") for name in COMPARE_MODELS]


def render_compare() -> str:
    """The comparison table, exactly as `codesign compare ... --format md` prints it (no title)."""
    from codesign.report.tables import render
    from codesign.report.views import compare_table

    records, columns = compare_table(_results())
    command = "codesign compare " + " ".join(COMPARE_MODELS)
    return (
        f"`{command} --format md`\non the default hardware (Squeezelerator-like, 16x16 PEs, WS+OS picked per layer for latency):\n\n"
        + render(records, columns, "md")
    )


def render_compare_ratios() -> str:
    """Our SqueezeNext v5 speed-up and energy ratios beside the paper's."""
    by_name = {r.model: r for r in _results()}
    v5 = by_name["squeezenext_v5"]

    def ours(base: str) -> tuple[float, float]:
        b = by_name[base]
        return b.cycles / v5.cycles, b.energy_pj / v5.energy_pj

    (s1, e1), (s2, e2) = ours("squeezenet_v1_0"), ours("alexnet")
    (p1, q1), (p2, q2) = PAPER_RATIOS["squeezenet_v1_0"], PAPER_RATIOS["alexnet"]
    return (
        f"The SqueezeNext paper reports its best variant {p1}x faster and {q1}x more energy-efficient than\n"
        f"SqueezeNet v1.0 (we get {s1:.2f}x / {e1:.2f}x) and {p2}x / {q2}x against AlexNet (we get {s2:.2f}x / "
        f"{e2:.2f}x).\n"
    )


RENDERERS: dict[str, Callable[[], str]] = {"compare": render_compare, "compare-ratios": render_compare_ratios}


def regenerate(text: str) -> str:
    """`text` with every generated block re-rendered; raises KeyError for a block name with no renderer."""
    cache: dict[str, str] = {}

    def body(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in cache:
            cache[name] = RENDERERS[name]()
        return match.group(1) + cache[name] + match.group(4)

    return _BLOCK.sub(body, text)


def blocks(text: str) -> dict[str, str]:
    """Name -> body of every generated block in `text`."""
    return {m.group("name"): m.group("body") for m in _BLOCK.finditer(text)}


def main(argv: list[str] | None = None) -> int:
    """`python -m codesign.report.readme [--check] [--readme PATH]`: rewrite the generated blocks of README.md
    in place; with --check only compare. Returns the exit status (1: --check found stale blocks)."""
    parser = argparse.ArgumentParser(description="regenerate README.md's generated blocks")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if README.md is stale")
    parser.add_argument("--readme", default=str(README))
    args = parser.parse_args(argv)
    path = Path(args.readme)
    old = path.read_text()
    new = regenerate(old)
    if args.check:
        stale = [n for n, b in blocks(new).items() if blocks(old).get(n) != b]
        print("README.md is current" if not stale else f"stale blocks: {', '.join(stale)}")
        return 1 if stale else 0
    if new != old:
        from codesign.report.output import write_text_atomic

        write_text_atomic(path, new)
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
