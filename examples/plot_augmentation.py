"""
==========================================
Augmenting digit images: the three methods
==========================================

:class:`~sklearn_pseudolabel.ImageAugmenter` knows a random rotation, a random
vertical shift and Gaussian noise on the ink pixels, drawn independently for
every image, as batched tensor operations. This example shows each method
alone, one method at random per image (the default) and all three chained on
scikit-learn's 8×8 digits, then uses
:class:`~sklearn_pseudolabel.AugmentationSampler` for the reference
experiment's static expansion.
"""

# %%
# Load the digits. Their pixels run from 0 to 16, so the augmenter is told
# the pixel range: it fills with 0 and clips noise to [0, 16].
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from sklearn_pseudolabel import AugmentationSampler, ImageAugmenter

digits = load_digits()
images = digits.images[:8]  # (8, 8, 8): image arrays are accepted as they are

common = dict(value_range=(0, 16), random_state=0)
variants = {
    "original": None,
    "rotation ±45°": ImageAugmenter(max_shift=0, noise_std=0, **common),
    "shift 1–2 rows": ImageAugmenter(
        max_rotation=0, max_shift=2, noise_std=0, **common
    ),
    "ink noise, std 0.2": ImageAugmenter(
        max_rotation=0, max_shift=0, noise_std=0.2, **common
    ),
    "one at random": ImageAugmenter(max_shift=2, noise_std=0.2, **common),
    "all three": ImageAugmenter(max_shift=2, noise_std=0.2, combine="all", **common),
}

# %%
# One row per method, one column per image: every image gets its own draw.
fig, axes = plt.subplots(len(variants), len(images), figsize=(8, 6.5))
for row, (name, augmenter) in zip(axes, variants.items()):
    out = images if augmenter is None else augmenter.transform(images)
    for ax, img in zip(row, out):
        ax.imshow(img, cmap="gray_r", vmin=0, vmax=16)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
fig.suptitle("ImageAugmenter on sklearn digits")
fig.tight_layout()

# %%
# Static expansion, as in the reference experiment: ``n_copies`` copies per
# enabled method of every labeled image; unlabeled rows (-1) pass through once.
y = digits.target.copy()
y[100:] = -1  # keep 100 labels
sampler = AugmentationSampler(
    ImageAugmenter(max_shift=2, noise_std=0.2, value_range=(0, 16)),
    n_copies=10,
    random_state=0,
)
X_res, y_res = sampler.fit_resample(digits.images, y)
print(
    f"{(y != -1).sum()} labeled -> {(y_res != -1).sum()} labeled rows; "
    f"{(y_res == -1).sum()} unlabeled rows; X_res {X_res.shape}"
)
print("labeled rows per class:", np.bincount(y_res[y_res != -1]))
plt.show()
