"""SqueezeNet v1.0 and v1.1 in the torchvision layout (Iandola et al. 2016, arXiv:1602.07360).

v1.0 follows the paper (conv1 7x7/2, 96 filters; pools after conv1, fire4, fire8); v1.1 follows
forresti/SqueezeNet SqueezeNet_v1.1 (conv1 3x3/2, 64 filters; pools after conv1, fire3, fire5), which
cuts computation about 2.4x at the same accuracy. Both end in dropout, a 1x1 conv to the classes,
ReLU and a global average pool, as torchvision does. The Fire concatenation is written as
``torch.cat([a, b], dim=1)`` because hls4ml's PyTorch parser only recognises that form.
"""

from __future__ import annotations

import torch
from torch import nn

# (squeeze, expand1x1, expand3x3) for fire2..fire9; identical in v1.0 and v1.1.
FIRE_WIDTHS: tuple[tuple[int, int, int], ...] = (
    (16, 64, 64),
    (16, 64, 64),
    (32, 128, 128),
    (32, 128, 128),
    (48, 192, 192),
    (48, 192, 192),
    (64, 256, 256),
    (64, 256, 256),
)

# version -> (conv1 out channels, conv1 kernel, fire indices (2..9) followed by a max pool)
_STEMS: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "1_0": (96, 7, (4, 8)),
    "1_1": (64, 3, (3, 5)),
}


class Fire(nn.Module):
    """Squeeze 1x1 conv, then parallel 1x1 and 3x3 expand convs concatenated on channels."""

    def __init__(self, in_channels: int, squeeze: int, expand1x1: int, expand3x3: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze, kernel_size=1)
        self.squeeze_relu = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, kernel_size=1)
        self.expand1x1_relu = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, kernel_size=3, padding=1)
        self.expand3x3_relu = nn.ReLU(inplace=True)

    @property
    def out_channels(self) -> int:
        return self.expand1x1.out_channels + self.expand3x3.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze_relu(self.squeeze(x))
        a = self.expand1x1_relu(self.expand1x1(s))
        b = self.expand3x3_relu(self.expand3x3(s))
        return torch.cat([a, b], dim=1)


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)


class SqueezeNet(nn.Module):
    """SqueezeNet classifier; `version` is "1_0" or "1_1"."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        if version not in _STEMS:
            raise ValueError(f"SqueezeNet version must be one of {sorted(_STEMS)}, got {version!r}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.version = version
        self.num_classes = num_classes
        stem_channels, stem_kernel, pool_after = _STEMS[version]
        layers: list[nn.Module] = [
            nn.Conv2d(3, stem_channels, kernel_size=stem_kernel, stride=2),
            nn.ReLU(inplace=True),
            _pool(),
        ]
        channels = stem_channels
        for index, (squeeze, e1, e3) in enumerate(FIRE_WIDTHS, start=2):
            layers.append(Fire(channels, squeeze, e1, e3))
            channels = e1 + e3
            if index in pool_after:
                layers.append(_pool())
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Conv2d(channels, num_classes, kernel_size=1),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.classifier(self.features(x))
        return torch.flatten(x, 1)


def squeezenet(version: str = "1_0", num_classes: int = 1000) -> SqueezeNet:
    """Build SqueezeNet v1.0 (`"1_0"`) or v1.1 (`"1_1"`); 1,248,424 / 1,235,496 params at 1000 classes."""
    return SqueezeNet(version=version, num_classes=num_classes)
