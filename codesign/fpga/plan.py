"""The per-layer design choices of an hls4ml design: a :class:`Plan` (what `codesign hls` writes and what
the FPGA cost model, :func:`codesign.fpga.cost.estimate`, costs).

A planner (``codesign fit --plan``, built on the FPGA cost model) or a user file decides, per hls4ml layer
(named by its fx node, as hls4ml names it): the reuse factor, the weight width, how the weights are stored
(``dense``: one ``ap_fixed`` word per weight; ``codebook``: a k-means codebook of 2^index_bits values
plus one index per weight, Deep Compression, Han et al. 2016, section 3), and, per stream FIFO, the memory
it is bound to (``#pragma HLS bind_storage ... impl=`` in the written project: BRAM, URAM, LUTRAM or SRL,
UG1399 "bind_storage"). ``codesign.hls.generate_hls(plan=...)`` applies it and
``codesign.fpga.cost.estimate(..., plan=...)`` costs it; anything a plan leaves out keeps ``generate_hls``'s
own choice.

A plan file is YAML or JSON (read with ``yaml.safe_load``), validated by pydantic::

    default: {storage: codebook, index_bits: 4}      # every conv/linear layer, unless named below
    layers:
      features_0: {weight_bits: 8, storage: dense, reuse: 27}
    default_fifo_impl: bram
    fifo_impl: {layer2_out: srl}                      # by the C++ stream name in firmware/<project>.cpp
    act_bits: 10                                      # activation (stream) width of the design
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from codesign.errors import CodesignError

WeightStorage = Literal["dense", "codebook"]
MemoryImpl = Literal["auto", "bram", "uram", "lutram", "srl"]


@dataclass(frozen=True)
class LayerChoice:
    """One layer's choices; ``None`` = leave it to ``generate_hls`` (reuse from fit, width from ``bits``)."""

    reuse: int | None = None
    weight_bits: int | None = None  # width of a stored weight (dense) or of a codebook value (codebook)
    storage: WeightStorage = "dense"
    index_bits: int = 4  # codebook storage: 2^index_bits shared values per layer


@dataclass
class Plan:
    """Per-layer reuse factors, weight widths and storage, and per-FIFO memory binding."""

    layers: dict[str, LayerChoice] = field(default_factory=dict)
    default: LayerChoice | None = None
    fifo_impl: dict[str, MemoryImpl] = field(default_factory=dict)
    default_fifo_impl: MemoryImpl = "auto"
    act_bits: int | None = (
        None  # activation (stream) width of the whole design; None: generate_hls's act_bits
    )

    def choice(self, layer: str) -> LayerChoice:
        """The choice for ``layer``: its own entry, else ``default``, else all-automatic."""
        return self.layers.get(layer) or self.default or LayerChoice()

    def reuse_overrides(self) -> dict[str, int]:
        """Layers whose reuse factor the plan fixes."""
        return {n: c.reuse for n, c in self.layers.items() if c.reuse is not None}

    def fifo_binding(self, streams: list[str]) -> dict[str, MemoryImpl]:
        """Memory per C++ stream name for ``streams``; 'auto' (leave it to the HLS tool) is left out."""
        out = {s: self.fifo_impl.get(s, self.default_fifo_impl) for s in streams}
        return {s: impl for s, impl in out.items() if impl != "auto"}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Plan:
        """Validate a plan given as plain data (the YAML/JSON form, schema :class:`PlanFile`).

        Raises ``CodesignError`` (one line: ``plan: <key path>: <problem>``) if invalid."""
        try:
            m = PlanFile.model_validate(dict(data))
        except ValidationError as exc:
            e = exc.errors()[0]
            where = ".".join(str(p) for p in e["loc"])
            raise CodesignError(f"plan: {where}: {e['msg']}") from None
        return cls(
            layers={k: LayerChoice(**v.model_dump()) for k, v in m.layers.items()},
            default=LayerChoice(**m.default.model_dump()) if m.default is not None else None,
            fifo_impl=dict(m.fifo_impl),
            default_fifo_impl=m.default_fifo_impl,
            act_bits=m.act_bits,
        )

    @classmethod
    def from_file(cls, path: str | Path) -> Plan:
        """Read a YAML or JSON plan file (``yaml.safe_load``).

        Raises ``CodesignError`` for a missing file, bad YAML/JSON, a top level that is not a mapping, or
        an invalid entry (``from_mapping``)."""
        import yaml

        p = Path(path)
        if not p.is_file():
            raise CodesignError(f"plan file {p} does not exist")
        from codesign.textfile import read_text_file

        text = read_text_file(p, "plan file", CodesignError)  # not UTF-8, a directory, too large: one line
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise CodesignError(f"plan file {p} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
        if not isinstance(data, dict):
            raise CodesignError(f"plan file {p} must hold a mapping (layers:, default:, fifo_impl:)")
        return cls.from_mapping(data)


class LayerChoiceFile(BaseModel):
    """One layer's entry of a plan file (or its `default`): the fields of :class:`LayerChoice`.

    `reuse`: reuse factor >= 1 (hls4ml snaps an invalid one to the nearest valid); `weight_bits`: 2..32 bits
    of a stored weight or codebook value; `index_bits`: 1..8 bits per codebook index (2^index_bits values;
    Deep Compression, Han et al. 2016, used 4 to 8).
    """

    model_config = ConfigDict(extra="forbid")
    reuse: int | None = Field(default=None, ge=1)
    weight_bits: int | None = Field(default=None, ge=2, le=32)
    storage: WeightStorage = "dense"
    index_bits: int = Field(default=4, ge=1, le=8)


class PlanFile(BaseModel):
    """The plan file (module doc): per-layer choices, a default, per-stream FIFO memory, activation width.

    Unknown keys are refused; `act_bits` is 2..32 bits. `codesign schema plan` prints its JSON Schema.
    """

    model_config = ConfigDict(extra="forbid")
    layers: dict[str, LayerChoiceFile] = {}
    default: LayerChoiceFile | None = None
    fifo_impl: dict[str, MemoryImpl] = {}
    default_fifo_impl: MemoryImpl = "auto"
    act_bits: int | None = Field(default=None, ge=2, le=32)
