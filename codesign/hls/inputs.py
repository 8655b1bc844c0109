"""What `codesign hls` reads besides the network: trained weights (a PyTorch state_dict) and calibration
images (activation ranges and the C-sim check set).

Errors are one :class:`~codesign.errors.CodesignError` line naming the file, the problem and the fix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codesign.errors import CodesignError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".npy")


def load_checkpoint(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a PyTorch ``state_dict`` (``torch.save(model.state_dict(), path)``; a dict holding it under
    ``'state_dict'`` or ``'model'`` is unwrapped, a ``module.`` prefix from DataParallel is dropped) into
    ``model`` strictly; returns ``model``. Read with ``weights_only=True`` (no pickled code runs)."""
    p = Path(path)
    if not p.is_file():
        raise CodesignError(f"--weights {p}: file does not exist")
    try:
        sd = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CodesignError(f"--weights {p}: not a PyTorch state_dict ({first[:160]})") from None
    for key in ("state_dict", "model"):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise CodesignError(f"--weights {p}: expected a state_dict (name -> tensor); save model.state_dict()")
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shape = [k for k in own if k in sd and tuple(sd[k].shape) != tuple(own[k].shape)]

    def few(keys: list[str]) -> str:
        return ", ".join(keys[:3]) + (f" (+{len(keys) - 3} more)" if len(keys) > 3 else "")

    if missing or unexpected or shape:
        parts = []
        if missing:
            parts.append(f"missing {few(missing)}")
        if unexpected:
            parts.append(f"unexpected {few(unexpected)}")
        if shape:
            k = shape[0]
            parts.append(f"shape of {k} is {tuple(sd[k].shape)}, the model has {tuple(own[k].shape)}")
        raise CodesignError(
            f"--weights {p} does not match {type(model).__name__}: {'; '.join(parts)}; fix: pass the "
            "checkpoint of this model (same name/design and --num-classes)"
        )
    model.load_state_dict(sd, strict=True)
    return model.eval()


def load_calibration(path: str | Path, shape: tuple[int, int, int], limit: int | None = None) -> torch.Tensor:
    """Calibration images as an NCHW float32 tensor of ``shape`` (C, H, W).

    ``path``: an ``.npz`` (the array named ``x``, else the first one; N x C x H x W or N x H x W x C) or a
    directory of ``.png``/``.jpg``/``.npy`` images (sorted by name). Integer images are scaled by 1/255;
    images are resized bilinearly to H x W; grey images are repeated to C channels. Values are used as
    given otherwise (apply the network's normalization before saving, if it has one)."""
    p = Path(path)
    c, h, w = shape
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise CodesignError(f"--calibration {p}: no {'/'.join(IMAGE_SUFFIXES)} files in the directory")
        files = files[:limit] if limit else files
        arrays = [_to_chw(_image(f), c, f.name) for f in files]
        x = torch.stack([_resize(torch.from_numpy(a), h, w) for a in arrays])
    elif p.suffix == ".npz" and p.is_file():
        with np.load(p) as z:
            if not z.files:
                raise CodesignError(f"--calibration {p}: the archive holds no array")
            arr = z["x"] if "x" in z.files else z[z.files[0]]
        if arr.ndim != 4:
            raise CodesignError(f"--calibration {p}: expected N x C x H x W images, got shape {arr.shape}")
        if arr.shape[1] != c and arr.shape[-1] == c:
            arr = arr.transpose(0, 3, 1, 2)
        if arr.shape[1] != c:
            raise CodesignError(f"--calibration {p}: images have {arr.shape[1]} channels, the network {c}")
        arr = arr[:limit] if limit else arr
        x = torch.from_numpy(_scale(arr).astype(np.float32))
        if x.shape[2:] != (h, w):
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    else:
        raise CodesignError(f"--calibration {p}: not a directory of images or an .npz file")
    if not torch.isfinite(x).all():
        raise CodesignError(f"--calibration {p}: images contain NaN or infinite values")
    return x.float()


def _scale(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float64) / 255.0 if np.issubdtype(a.dtype, np.integer) else a.astype(np.float64)


def _image(f: Path) -> np.ndarray:
    if f.suffix.lower() == ".npy":
        return np.asarray(np.load(f))
    import matplotlib.image as mpimg

    try:
        return mpimg.imread(f)
    except Exception as exc:
        raise CodesignError(f"--calibration: cannot read image {f} ({type(exc).__name__})") from None


def _to_chw(a: np.ndarray, c: int, name: str) -> np.ndarray:
    a = _scale(a)
    if a.ndim == 2:
        a = a[None]
    elif a.ndim == 3 and a.shape[0] not in (1, c) and a.shape[-1] in (1, 3, 4):
        a = a.transpose(2, 0, 1)
    if a.shape[0] == 4 and c == 3:
        a = a[:3]  # drop alpha
    if a.shape[0] == 1 and c > 1:
        a = np.repeat(a, c, 0)
    if a.ndim != 3 or a.shape[0] != c:
        raise CodesignError(f"--calibration: image {name} has shape {a.shape}, not {c} channels")
    return a.astype(np.float32)


def _resize(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    if tuple(x.shape[1:]) == (h, w):
        return x
    return F.interpolate(x[None], size=(h, w), mode="bilinear", align_corners=False)[0]
