"""Small SqueezeNet- and SqueezeNext-style nets trained on scikit-learn's 8x8 digits, taken through HLS.

Why: the zoo's ImageNet nets have no trained weights offline, so "does the C simulation classify like
PyTorch" needs a real, trained network on real images. scikit-learn ships the 1,797 digits, so this runs
anywhere, on CPU, in seconds. Images are upscaled (bilinear) to 16x16 so the nets keep the shape of their
big siblings: a 3x3/2 ceil-mode max pool (needs the pooling patch), Fire concats, residual adds,
BatchNorm to fold, and a global average pool.\nTraining runs on one thread (see ``train``).

``run_digits`` trains (deterministic seed), compresses (8-bit weights, optional pruning), generates the HLS
project and reports float, quantized-PyTorch and C-simulation accuracy on the held-out images.
``PYTHONPATH=tests python -m helpers.digits --arch both --schedule long`` runs the longer schedule.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codesign.fpga.plan import Plan
from codesign.hls.project import DEFAULT_PART, HlsResult, generate_hls

Arch = Literal["squeezenet", "squeezenext"]
Schedule = Literal["ci", "long"]
SCHEDULES: dict[str, dict[str, float]] = {
    "ci": {"epochs": 5, "lr": 0.01},
    "long": {"epochs": 40, "lr": 0.01},
}


@dataclass
class DigitsData:
    """Train/test split of the digits, NCHW float32 in [0, 1], upscaled to ``size`` x ``size``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits_data(size: int = 16, test_fraction: float = 0.2, seed: int = 0) -> DigitsData:
    """scikit-learn's ``load_digits`` (values 0..16 -> [0, 1]), a seeded stratified split, bilinear upscale."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(0.0, 1.0)
    y = torch.tensor(d.target, dtype=torch.long)
    idx = np.arange(len(y))
    tr, te = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=d.target)
    return DigitsData(x[tr], y[tr], x[te], y[te])


def _cb(cin: int, cout: int, k: int | tuple[int, int], stride: int = 1) -> nn.Sequential:
    """Conv (no bias) + BatchNorm; the HLS rewrite folds the BatchNorm back into the conv."""
    k2 = (k, k) if isinstance(k, int) else k
    return nn.Sequential(
        nn.Conv2d(cin, cout, k2, stride, (k2[0] // 2, k2[1] // 2), bias=False), nn.BatchNorm2d(cout)
    )


class Fire(nn.Module):
    """SqueezeNet Fire module: squeeze 1x1, expand 1x1 and 3x3, concatenated (BatchNorm after each conv)."""

    def __init__(self, cin: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = _cb(cin, squeeze, 1)
        self.expand1x1 = _cb(squeeze, expand, 1)
        self.expand3x3 = _cb(squeeze, expand, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.expand1x1(x)), F.relu(self.expand3x3(x))], 1)


class TinySqueezeNet(nn.Module):
    """Conv stem, 3x3/2 ceil-mode max pool, two Fire modules, conv classifier, global average pool.

    Two departures from SqueezeNet, both for short CPU training: BatchNorm after each conv (folded for
    HLS), and no ReLU between the classifier conv and the pool (with 10 classes and a few epochs it kills
    whole class maps: 0.2-0.4 test accuracy with it, 0.97 without).
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _cb(in_channels, width, 3),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            Fire(width, width // 2, width),
            Fire(2 * width, width // 2, width),
        )
        self.classifier = nn.Sequential(
            nn.Dropout(0.2),
            nn.Conv2d(2 * width, num_classes, 1),
            nn.AdaptiveAvgPool2d(1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def _cbr(cin: int, cout: int, k: tuple[int, int], stride: int = 1) -> nn.Sequential:
    pad = (k[0] // 2, k[1] // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class SqnxtBlock(nn.Module):
    """SqueezeNext block: 1x1 (C/2), 1x1 (C/4), 3x1, 1x3, 1x1 expand, each conv + BN + ReLU; residual add
    with a 1x1 + BN projection when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _cbr(cin, cout // 2, (1, 1), stride),
            _cbr(cout // 2, cout // 4, (1, 1)),
            _cbr(cout // 4, cout // 2, (3, 1)),
            _cbr(cout // 2, cout // 2, (1, 3)),
            nn.Conv2d(cout // 2, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


class TinySqueezeNext(nn.Module):
    """Stem, two SqueezeNext blocks (the first with a stride-2 projection), 1x1 head, pool, Linear."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 16) -> None:
        super().__init__()
        self.stem = _cbr(in_channels, width, (3, 3))
        self.block1 = SqnxtBlock(width, 2 * width, stride=2)
        self.block2 = SqnxtBlock(2 * width, 2 * width)
        self.head = _cbr(2 * width, 4 * width, (1, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.block2(self.block1(self.stem(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


def build(arch: Arch, num_classes: int = 10, width: int = 16) -> nn.Module:
    """One of the two digits nets by name."""
    if arch == "squeezenet":
        return TinySqueezeNet(num_classes, width=width)
    if arch == "squeezenext":
        return TinySqueezeNext(num_classes, width=width)
    raise ValueError(f"unknown digits arch {arch!r}; use 'squeezenet' or 'squeezenext'")


def train(
    model: nn.Module, data: DigitsData, *, epochs: int, lr: float = 0.01, batch_size: int = 64, seed: int = 0
) -> nn.Module:
    """Adam with a cosine schedule, CPU, one thread, seeded (the same seed gives the same weights).

    One thread: these nets are tiny, and on a shared 2-core machine more threads made training 10-20x slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(model, data, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed)
    finally:
        torch.set_num_threads(threads)


def _train(
    model: nn.Module, data: DigitsData, *, epochs: int, lr: float, batch_size: int, seed: int
) -> nn.Module:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * -(-len(data.y_train) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(data.y_train), generator=gen)
        for i in range(0, len(perm), batch_size):
            b = perm[i : i + batch_size]
            opt.zero_grad()
            F.cross_entropy(model(data.x_train[b]), data.y_train[b]).backward()
            opt.step()
            sched.step()
    return model.eval()


@torch.no_grad()
def accuracy(logits: torch.Tensor | np.ndarray, labels: torch.Tensor) -> float:
    """Top-1 accuracy of ``logits`` (N x classes) against ``labels``."""
    pred = torch.as_tensor(np.asarray(logits)).reshape(len(labels), -1).argmax(1)
    return float((pred == labels).float().mean())


@dataclass
class DigitsResult:
    """Accuracies on the held-out digits at each stage, and the HLS project."""

    arch: str
    schedule: str
    epochs: int
    n_test: int
    train_s: float
    float_acc: float
    quant_acc: float
    csim_acc: float
    csim_vs_quant_agreement: float
    hls: HlsResult

    def line(self) -> str:
        return (
            f"{self.arch:12s} {self.schedule:5s} float {self.float_acc:.4f}  quantized {self.quant_acc:.4f}  "
            f"C-sim {self.csim_acc:.4f}  agreement {self.csim_vs_quant_agreement:.4f}  "
            f"(n={self.n_test}, train {self.train_s:.1f} s, compile {self.hls.timings['compile']:.1f} s)"
        )


def run_digits(
    arch: Arch = "squeezenet",
    *,
    schedule: Schedule = "ci",
    out_dir: str | Path | None = None,
    bits: int = 8,
    density: float | None = None,
    size: int = 16,
    n_test: int | None = None,
    force: bool = False,
    seed: int = 0,
    part: str = DEFAULT_PART,
    backend: str = "vitis",
    plan: Plan | None = None,
) -> DigitsResult:
    """Train ``arch`` on the digits, generate + C-simulate its HLS project, report the three accuracies.
    ``plan`` (e.g. codebook weight storage) is passed to ``generate_hls``."""
    data = load_digits_data(size=size, seed=seed)
    sch = SCHEDULES[schedule]
    torch.manual_seed(seed)  # the initial weights too: same seed, same net, same figures
    model = build(arch)
    t = time.perf_counter()
    train(model, data, epochs=int(sch["epochs"]), lr=float(sch["lr"]), seed=seed)
    train_s = time.perf_counter() - t
    x_test, y_test = data.x_test, data.y_test
    if n_test is not None:
        x_test, y_test = x_test[:n_test], y_test[:n_test]
    res = generate_hls(
        model,
        part=part,
        backend=backend,
        out_dir=out_dir if out_dir is not None else Path("hls_out") / f"digits_{arch}",
        bits=bits,
        density=density,
        input_size=(1, size, size),
        inputs=x_test,
        calib_inputs=data.x_train[:512],
        force=force,
        name=f"digits_{arch}",
        input_nonnegative=True,  # pixel values in [0, 1]
        seed=seed,
        plan=plan,
    )
    assert (
        res.csim_outputs is not None and res.quantized_outputs is not None and res.float_outputs is not None
    )
    return DigitsResult(
        arch=arch,
        schedule=schedule,
        epochs=int(sch["epochs"]),
        n_test=len(y_test),
        train_s=train_s,
        float_acc=accuracy(res.float_outputs, y_test),
        quant_acc=accuracy(res.quantized_outputs, y_test),
        csim_acc=accuracy(res.csim_outputs, y_test),
        csim_vs_quant_agreement=res.comparison.top1_agreement,
        hls=res,
    )


def main(argv: list[str] | None = None) -> int:
    """``PYTHONPATH=tests python -m helpers.digits``: train, generate, C-simulate, print the accuracies."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=["squeezenet", "squeezenext", "both"], default="both")
    ap.add_argument("--schedule", choices=list(SCHEDULES), default="ci")
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--density", type=float, default=None)
    ap.add_argument("--out-root", default="hls_out")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args(argv)
    archs = ["squeezenet", "squeezenext"] if args.arch == "both" else [args.arch]
    for a in archs:
        r = run_digits(
            a,  # type: ignore[arg-type]
            schedule=args.schedule,
            bits=args.bits,
            density=args.density,
            out_dir=Path(args.out_root) / f"digits_{a}",
            force=args.force,
        )
        print(r.line())
        print(f"  project: {r.hls.project_dir}  max |err| vs quantized {r.hls.comparison.max_abs_err:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
