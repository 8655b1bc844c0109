"""`codesign schema`: the JSON Schema of every input file kind, for editors and other tools.

``codesign schema KIND`` prints one kind's schema; ``codesign schema --out DIR`` writes
``DIR/<kind>.schema.json`` for every kind (all or none: the directory is filled through
`codesign.atomic.atomic_dir`, files of other names in an existing DIR are kept); ``codesign schema``
alone lists the kinds. The schemas come from the pydantic models the loaders validate with (one
definition: the file a user's editor checks is checked by the same rules at load time), plus two custom
keywords JSON Schema validators ignore: ``unit`` and ``allowed`` (the range in words, as errors print it).

An editor with the YAML language server checks a file against a schema named in its first line::

    # yaml-language-server: $schema=schemas/accelerator.schema.json

Each kind's module is imported only when that kind is asked for (the HLS plan's imports codesign.hls).
"""

from __future__ import annotations

import argparse
import importlib
import json
from collections.abc import Callable
from typing import Any

from codesign.errors import UsageError

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _model_schema(module: str, *names: str) -> Callable[[], dict[str, Any]]:
    """A loader of the JSON Schema of the first of `names` that `module` defines (a pydantic model)."""

    def load() -> dict[str, Any]:
        mod = importlib.import_module(module)
        for name in names:
            model = getattr(mod, name, None)
            if model is not None:
                return dict(model.model_json_schema())
        raise LookupError(f"{module} defines none of {', '.join(names)}")

    return load


def _plan_schema() -> dict[str, Any]:
    # The HLS plan's model may live in codesign.fpga.plan or codesign.hls.plan (being moved); its model is
    # not public yet (`_PlanModel`): read through the module's namespace until it is renamed.
    for module in ("codesign.fpga.plan", "codesign.hls.plan"):
        try:
            return _model_schema(module, "PlanFile", "_PlanModel")()
        except (ImportError, LookupError):
            continue
    raise LookupError("no HLS plan model found in codesign.fpga.plan or codesign.hls.plan")


def _design_schema() -> dict[str, Any]:
    """The design file's schema with its `hardware:` section (`codesign.explore.hardware.HardwareSection`)."""
    from codesign.explore.hardware import HardwareSection
    from codesign.nets.design import design_file_schema

    return design_file_schema({"hardware": HardwareSection})


#: kind -> (what the file is, where such files live, a loader of its JSON Schema).
KINDS: dict[str, tuple[str, str, Callable[[], dict[str, Any]]]] = {
    "accelerator": (
        "a hardware file",
        "hw_models/<name>.yaml, --hw FILE",
        _model_schema("codesign.hw.schema", "AcceleratorFile"),
    ),
    "energy": (
        "an energy table",
        "hw_models/energy/<name>.yaml",
        _model_schema("codesign.hw.schema", "EnergyTableFile"),
    ),
    "technology": (
        "a technology table",
        "hw_models/tech/<name>.yaml",
        _model_schema("codesign.hw.schema", "TechnologyFile"),
    ),
    "part": ("an FPGA part file", "--part FILE.yaml", _model_schema("codesign.fpga.parts", "PartFile")),
    "design": (
        "a design file",
        "written by codesign explore/reshape, read as a model name FILE.yaml",
        _design_schema,
    ),
    "space": (
        "a search-space file",
        "codesign explore --space FILE.yaml",
        _model_schema("codesign.explore.space", "SearchSpace"),
    ),
    "plan": ("an HLS plan file", "codesign hls --plan FILE", _plan_schema),
}


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of file kind `kind`; UsageError naming the kinds if unknown."""
    from codesign.schema import suggest

    if kind not in KINDS:
        raise UsageError(
            f"unknown schema kind {kind!r}{suggest(kind, list(KINDS))} (kinds: {', '.join(KINDS)})"
        )
    what, where, load = KINDS[kind]
    schema = load()
    schema.pop("title", None)
    return {"$schema": JSON_SCHEMA_DIALECT, "title": f"codesign {kind} file: {what} ({where})", **schema}


def schema_text(kind: str) -> str:
    """`json_schema(kind)` as indented JSON text with a final newline."""
    return json.dumps(json_schema(kind), indent=2, sort_keys=False) + "\n"


def write_schemas(directory: str, kinds: list[str] | None = None) -> list[str]:
    """Write `<kind>.schema.json` for `kinds` (default: all) into `directory`, all or none; returns the names."""
    from pathlib import Path

    from codesign.atomic import atomic_dir

    chosen = kinds or list(KINDS)
    texts = {
        f"{k}.schema.json": schema_text(k) for k in chosen
    }  # every schema built before anything is written
    with atomic_dir(directory, merge=True) as tmp:
        for name, text in texts.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
    return list(texts)


def cmd_schema(args: argparse.Namespace) -> None:
    """The `codesign schema` verb."""
    if args.out:
        names = write_schemas(args.out, [args.kind] if args.kind else None)
        print(f"wrote {len(names)} schema(s) to {args.out}: {', '.join(names)}")
    elif args.kind:
        print(schema_text(args.kind), end="")
    else:
        for kind, (what, where, _) in KINDS.items():
            print(f"{kind:<12} {what}: {where}")


def register(sub: Any) -> None:
    """Add the `schema` verb to the `codesign` command's subparsers."""
    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of an input file kind (for editors); --out DIR writes them all",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    p.add_argument("kind", nargs="?", metavar="KIND", help=f"one of {', '.join(KINDS)} (none: list them)")
    p.add_argument("--out", metavar="DIR", help="write <kind>.schema.json files into DIR instead of printing")
    p.set_defaults(func=cmd_schema)
