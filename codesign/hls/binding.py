"""Memory binding of the stream FIFOs in a written hls4ml project (a choice a plan drives).

hls4ml declares every inter-layer stream in ``firmware/<project>.cpp`` as ``hls::stream<T> name`` with
``#pragma HLS STREAM variable=name depth=D`` and leaves the memory to the HLS tool, which maps shallow or
narrow FIFOs to shift registers (SRL) or LUTRAM and deep, wide ones to BRAM (UG1399, "bind_storage";
"Specifying the FIFO implementation"). :func:`patch_fifo_binding` pins the memory per stream by adding,
after the depth pragma:

- Vitis HLS: ``#pragma HLS bind_storage variable=name type=fifo impl=bram|uram|lutram|srl`` (UG1399);
- Vivado HLS: ``#pragma HLS RESOURCE variable=name core=FIFO_BRAM|FIFO_LUTRAM|FIFO_SRL`` (UG902; URAM
  FIFOs are not offered there, refused).

C simulation ignores both pragmas (checked: the patched project compiles and C-simulates unchanged); their
effect shows only in synthesis, which is not run here. Line buffers of k x k convolutions are
``ap_shift_reg`` arrays inside hls4ml's ``nnet_conv_stream.h`` (shift registers: SRL or flip-flops); they are
not bound here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from codesign.errors import CodesignError

V = TypeVar("V")

_VITIS = {"bram": "bram", "uram": "uram", "lutram": "lutram", "srl": "srl"}
_VIVADO = {"bram": "FIFO_BRAM", "lutram": "FIFO_LUTRAM", "srl": "FIFO_SRL"}


def stream_names(project_dir: str | Path, project_name: str) -> list[str]:
    """C++ names of the streams with a depth pragma in ``firmware/<project_name>.cpp``, in order."""
    cpp = Path(project_dir) / "firmware" / f"{project_name}.cpp"
    return re.findall(r"#pragma HLS STREAM variable=(\w+) depth=\d+", cpp.read_text())


def resolve_streams(hm: Any, keys: Mapping[str, V]) -> dict[str, V]:
    """Plan keys (a C++ stream name, or an hls4ml layer name meaning that layer's output stream) -> C++ name."""
    by_layer = {}
    for layer in hm.get_layers():
        var = layer.get_output_variable()
        by_layer[layer.name] = getattr(var, "name", layer.name)
    return {by_layer.get(k, k): v for k, v in keys.items()}


def patch_fifo_binding(
    project_dir: str | Path, project_name: str, binding: Mapping[str, str], backend: str = "vitis"
) -> list[str]:
    """Bind each stream in ``binding`` (C++ name -> 'bram' | 'uram' | 'lutram' | 'srl') in the written project.

    Raises ``CodesignError`` for a stream the project does not have or a memory the backend cannot bind.
    Returns one line per bound stream."""
    cpp = Path(project_dir) / "firmware" / f"{project_name}.cpp"
    text = cpp.read_text()
    known = set(stream_names(project_dir, project_name))
    table = _VITIS if backend.lower() == "vitis" else _VIVADO
    done: list[str] = []
    for name, impl in binding.items():
        if name not in known:
            raise CodesignError(
                f"HLS: plan binds stream '{name}', which {cpp.name} does not declare; streams: "
                f"{', '.join(sorted(known)[:8])}{' ...' if len(known) > 8 else ''}"
            )
        if impl not in table:
            raise CodesignError(
                f"HLS: the {backend} backend cannot bind a FIFO to '{impl}'; use one of {', '.join(table)}"
            )
        if backend.lower() == "vitis":
            pragma = f"#pragma HLS bind_storage variable={name} type=fifo impl={table[impl]}"
        else:
            pragma = f"#pragma HLS RESOURCE variable={name} core={table[impl]}"
        pat = re.compile(rf"^(\s*)(#pragma HLS STREAM variable={re.escape(name)} depth=\d+)\s*$", re.M)

        def bound(m: re.Match[str], p: str = pragma) -> str:
            return f"{m.group(1)}{m.group(2)}\n{m.group(1)}{p}"

        text, n = pat.subn(bound, text, count=1)
        if n != 1:
            raise CodesignError(f"HLS: cannot find the depth pragma of stream '{name}' in {cpp.name}")
        done.append(f"{name}: FIFO bound to {impl}")
    cpp.write_text(text)
    return done
