"""The schema layer: every input file kind exports a JSON Schema (`codesign schema`), every shipped file and
example validates against it with the `jsonschema` package, and the schema and the loader agree on broken
files (both refuse them)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from codesign.errors import CodesignError, HardwareConfigError
from codesign.hw import HW_MODELS_DIR, parse_accelerator
from codesign.nets.design import design_from_zoo, from_yaml, to_yaml
from codesign.schema_cli import KINDS, json_schema, schema_text
from codesign.zoo import list_models

REPO = Path(__file__).resolve().parents[1]
SPACES = REPO / "codesign" / "explore" / "spaces"


def _validator(kind: str) -> jsonschema.Draft202012Validator:
    schema = json_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _as_json(data: Any) -> Any:
    """What an editor sees: YAML read as JSON data (mapping keys as strings)."""
    return json.loads(json.dumps(data))


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _errors(kind: str, data: Any) -> list[str]:
    return [e.message for e in _validator(kind).iter_errors(_as_json(data))]


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_exports_a_valid_json_schema(kind: str) -> None:
    schema = json_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema") and kind in schema["title"]
    assert json.loads(schema_text(kind)) == schema


def _shipped(pattern: str) -> list[Path]:
    return sorted(HW_MODELS_DIR.glob(pattern))


@pytest.mark.parametrize(
    ("kind", "files"),
    [
        ("accelerator", [*_shipped("*.yaml"), REPO / "tests" / "data" / "hw" / "minimal.yaml"]),
        ("energy", _shipped("energy/*.yaml")),
        ("technology", _shipped("tech/*.yaml")),
        ("space", sorted(SPACES.glob("*.yaml"))),
    ],
)
def test_shipped_files_validate_against_their_schema(kind: str, files: list[Path]) -> None:
    assert files, kind
    for path in files:
        assert _errors(kind, _yaml(path)) == [], path


def test_zoo_designs_validate_against_the_design_schema() -> None:
    names = [m.name for m in list_models() if m.name.startswith(("squeezenet", "squeezenext"))]
    assert len(names) >= 5
    for name in names:
        design = design_from_zoo(name)
        text = to_yaml(design, {"hardware": {"base": "squeezelerator"}, "metrics": {"latency_ms": 1.0}})
        assert _errors("design", yaml.safe_load(text)) == [], name
        assert from_yaml(text) == design
        assert _errors("design", yaml.safe_load(text)["design"]) == [], name  # the bare-knobs form


def test_a_part_file_validates(tmp_path: Path) -> None:
    from codesign.fpga.parts import get_part

    doc = {"name": "myfpga", "bram18k": 100, "uram": 0, "dsp": 50, "lut": 10000, "ff": 20000}
    assert _errors("part", doc) == []
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert get_part(str(path)).bram18k == 100


def _set(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = dotted.split(".")
    target = doc
    for p in parents:
        target = target[p]
    target[last] = value
    return doc


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("pe_array.rows", 0),
        ("pe_array.rows", True),
        ("pe_array.rows", 5000),
        ("pe_array.cols", "16"),
        ("pe_array.rwos", 16),
        ("dataflows", []),
        ("dataflows", ["nlr"]),
        ("precision.act_bits", 33),
        ("global_buffer.banks", 0),
        ("global_buffer.double_buffered", "yes"),
        ("dram.bytes_per_cycle", "fast"),
        ("dram.bytes_per_cycle", -1),
        ("clock_mhz", 0),
        ("timing", "overlapped"),
        ("inter_layer", "fuse"),
        ("colour", "red"),
    ],
)
def test_schema_and_loader_both_refuse_a_broken_accelerator(key: str, value: Any) -> None:
    good = _yaml(HW_MODELS_DIR / "squeezelerator.yaml")
    assert _errors("accelerator", good) == []
    bad = _set(good, key, value)
    assert _errors("accelerator", bad), f"the schema accepts {key} = {value!r}"
    with pytest.raises(HardwareConfigError) as excinfo:
        parse_accelerator(bad)
    assert key.split(".")[-1] in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_schema_and_loader_both_refuse_a_broken_design() -> None:
    good = yaml.safe_load(to_yaml(design_from_zoo("squeezenext_v5")))
    for knob, value in (("conv1_kernel", 1.5), ("blocks", [1, 1, 1, 5000]), ("blockz", [1, 1, 1, 1])):
        bad = _set(good, f"design.{knob}", value)
        assert _errors("design", bad), knob
        with pytest.raises(CodesignError, match=knob):
            from_yaml(yaml.safe_dump(bad))


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"base": "squeezelerator", "overrides": {"rowz": 8}},
            "unknown key hardware.overrides.rowz = 8 (did you mean 'rows'?)",
        ),
        (
            {"base": "squeezelerator", "overrides": {"rows": 0}},
            "hardware.overrides.rows = 0 is out of range (allowed: integer 1..4096)",
        ),
        (
            {"base": "squeezelerator", "overrides": {"clock_mhz": "200"}},
            "hardware.overrides.clock_mhz = '200' has type string",
        ),
        (
            {"base": "squeezelerator", "overrides": {"dataflows": ["ws", "xs"]}},
            "hardware.overrides.dataflows[1] = 'xs'",
        ),
        ({"base": "squeezelerator", "overrides": [8]}, "hardware.overrides = [8] has type list"),
        ({"base": 5}, "hardware.base = 5 has type integer"),
        (
            {"name": "eyeriss", "base": "squeezelerator"},
            "hardware.name = 'eyeriss' is given together with hardware.base",
        ),
        ({"overrides": {"rows": 8}}, "missing required key hardware.base"),
        ("squeezelerator", "hardware = 'squeezelerator' has type string"),
    ],
)
def test_schema_and_loader_both_refuse_a_broken_hardware_section(section: Any, message: str) -> None:
    """A design file's `hardware:` section: the exported schema and `from_embedded` refuse the same
    sections, the loader with one line naming the key path from the file's top level."""
    from codesign.explore.hardware import embed, from_embedded

    good = yaml.safe_load(
        to_yaml(design_from_zoo("squeezenext_v5"), {"hardware": embed("squeezelerator", {"rows": 8})})
    )
    assert _errors("design", good) == []
    assert from_embedded(good["hardware"], "d.yaml") is not None
    assert _errors("design", {**good, "hardware": section}), section
    with pytest.raises(HardwareConfigError) as excinfo:  # exit 4, as for the override the accelerator refuses
        from_embedded(section, "d.yaml")
    text = str(excinfo.value)
    assert text.startswith("d.yaml: ") and message in text and "\n" not in text, text


def test_cli_writes_every_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from codesign.cli import main

    out = tmp_path / "schemas"
    assert main(["schema", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{k}.schema.json" for k in KINDS)
    for kind in KINDS:
        assert (out / f"{kind}.schema.json").read_text() == schema_text(kind)
    capsys.readouterr()
    assert main(["schema", "accelerator"]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema("accelerator")
    assert main(["schema", "acelerator"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'accelerator'" in err
