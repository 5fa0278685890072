"""Throughput of the batched augmenters vs per-sample torchvision v2.

The baseline is how users augment today: a torchvision ``v2.Compose`` of the
same transforms, applied per sample by a ``DataLoader`` (num_workers=0). Two
pairs: ``ImageAugmenter(combine="all")`` (rotation, shift, ink noise) and the
strong ``RandomDistortion()`` (affine with rotation, shear, scale and
translation, elastic warp, erasing) against ``RandomAffine``,
``ElasticTransform`` and ``RandomErasing``. Each baseline twice: with
bilinear resampling, as the augmenters (the same work), and with
torchvision's default nearest resampling. Same MNIST images, same machine,
same run. Result: a section of docs/benchmarks.md.

    .venv/bin/python benchmarks/bench_augment_throughput.py [--n 10000]
"""

import argparse
import time

import numpy as np
import torch
from _report import mnist_home, table, write_section
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import InterpolationMode, v2

from sklearn_pseudolabel import ImageAugmenter, RandomDistortion, fetch_mnist

BILINEAR, NEAREST = InterpolationMode.BILINEAR, InterpolationMode.NEAREST


class _InkNoise(torch.nn.Module):
    """Gaussian noise on non-zero pixels, clipped to [0, 1] (no v2 equivalent)."""

    def __init__(self, std):
        super().__init__()
        self.std = std

    def forward(self, x):
        noisy = (x + self.std * torch.randn_like(x)).clamp_(0, 1)
        return torch.where(x > 0, noisy, x)


class _PerSample(Dataset):
    def __init__(self, images, transform):
        self.images, self.transform = images, transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i])


def basic(interpolation):
    """ImageAugmenter(combine="all") per sample."""
    return [
        v2.RandomRotation(45, interpolation=interpolation),
        v2.RandomAffine(degrees=0, translate=(0, 4 / 28), interpolation=interpolation),
        _InkNoise(1.0),
    ]


def strong(interpolation):
    """RandomDistortion() per sample.

    Its defaults: ±20° rotation, ±15° shear, ±15 % scale, ±10 % translation,
    elastic alpha 34 sigma 4, a blank rectangle of up to 40 % × 40 % of the
    image.
    """
    return [
        v2.RandomAffine(
            degrees=20,
            translate=(0.1, 0.1),
            scale=(0.85, 1.15),
            shear=15,
            interpolation=interpolation,
        ),
        v2.ElasticTransform(alpha=34.0, sigma=4.0),
        v2.RandomErasing(p=1.0, scale=(0.0, 0.16), ratio=(0.25, 4.0), value=0),
    ]


def torchvision_loop(images, transforms):
    transform = v2.Compose(
        [
            v2.ToDtype(torch.float32, scale=True),
            *transforms,
            v2.ToDtype(torch.uint8, scale=True),
        ]
    )
    loader = DataLoader(_PerSample(images, transform), batch_size=128, num_workers=0)
    return torch.cat(list(loader))


def best_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    X, _ = fetch_mnist(data_home=mnist_home(), return_X_y=True)
    X = X[: args.n].reshape(-1, 28, 28)
    images = torch.from_numpy(X.copy())[:, None]  # (n, 1, 28, 28) uint8 tensors
    pairs = [
        # combine="all": the same three methods per image as the Compose.
        ("`ImageAugmenter(combine='all')`", ImageAugmenter(combine="all"), basic),
        ("`RandomDistortion()`", RandomDistortion(), strong),
    ]
    rows = []
    for name, augmenter, transforms in pairs:
        augmenter.set_params(random_state=0, device=args.device)
        ours = best_time(lambda: augmenter.transform(X), args.repeat)
        rows.append(
            [f"{name}.transform (batched)", f"{args.n / ours:,.0f}", f"{ours:.3f}", ""]
        )
        for interpolation, what in [
            (BILINEAR, "bilinear, the same work"),
            (NEAREST, "torchvision's default nearest, less work"),
        ]:
            theirs = best_time(
                lambda: torchvision_loop(images, transforms(interpolation)), args.repeat
            )
            rows.append(
                [
                    "torchvision v2 `Compose` of the same, per sample, "
                    f"`DataLoader(num_workers=0)`; {what}",
                    f"{args.n / theirs:,.0f}",
                    f"{theirs:.3f}",
                    f"**{theirs / ours:.1f}×**",
                ]
            )
    body = table(
        ["method", "images/s", f"seconds for {args.n:,} images", "speed-up"], rows
    )
    body += (
        f"\n\nTarget: ≥ 50× for `ImageAugmenter`. Best of "
        f"{args.repeat} runs each, 28×28 uint8 MNIST training images, device "
        f"`{args.device}`. `ImageAugmenter(combine='all')`: rotation ±45°, "
        "vertical shift ≤ 4 rows, noise std 1 on ink pixels, all three on every "
        "image; `RandomDistortion()`: see the script's `strong` for the "
        "torchvision equivalent of its defaults. Both interpolate bilinearly; "
        "torchvision's `RandomRotation` and `RandomAffine` default to nearest "
        "(a cheaper, blockier resampling), so the bilinear baseline is the same "
        "work and the nearest one is given beside it."
    )
    if torch.device(args.device).type == "cpu":
        write_section("augment-throughput", "Augmentation throughput (cpu)", body)
    else:
        write_section(
            "augment-throughput-cuda",
            "Augmentation throughput (cuda)",
            body,
            args.device,
        )


if __name__ == "__main__":
    np.random.seed(0)
    torch.manual_seed(0)
    main()
