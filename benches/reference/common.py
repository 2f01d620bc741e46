"""Shared by the Keras and PyTorch references: data loading, metrics, the JSON line.

Images are loaded the way head-ct loads them: converted to RGB (gray repeated, alpha dropped),
resized to 150x150 with an anti-aliased bilinear filter (PIL's BILINEAR, the same triangle filter
whose support widens with the downscaling factor as head-ct's `FilterType::Triangle`), scaled by
1/255. Class folders are sorted by name; `hemorrhage` is label 1. Files in sorted name order.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SIZE = 150
POSITIVE_CLASS = "hemorrhage"
EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def load_image(path):
    """One file as a 150x150x3 float32 array in [0, 1] (HWC)."""
    with Image.open(path) as img:
        rgb = img.convert("RGB")
        if rgb.size != (IMAGE_SIZE, IMAGE_SIZE):
            rgb = rgb.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR)
        return np.asarray(rgb, dtype=np.float32) * np.float32(1.0 / 255.0)


def list_split(split_dir):
    """(paths, labels) of a split folder with one subfolder per class."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        sys.exit(f"reference: folder not found: {split_dir}")
    classes = sorted(d.name for d in split_dir.iterdir() if d.is_dir())
    if POSITIVE_CLASS not in classes or len(classes) != 2:
        sys.exit(f"reference: {split_dir} needs two class folders, one named {POSITIVE_CLASS}")
    paths, labels = [], []
    for name in classes:
        files = sorted(
            p for p in (split_dir / name).iterdir()
            if p.suffix.lower() in EXTENSIONS and not p.name.startswith(".")
        )
        paths += files
        labels += [1.0 if name == POSITIVE_CLASS else 0.0] * len(files)
    return paths, np.asarray(labels, dtype=np.float32)


def load_split(split_dir):
    """(images NHWC float32, labels float32, paths)."""
    paths, labels = list_split(split_dir)
    images = np.stack([load_image(p) for p in paths])
    return images, labels, paths


def auc(probabilities, labels):
    """ROC AUC by Mann-Whitney (ties count one half), as head-ct's `mann_whitney_auc`."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels) >= 0.5
    pos, neg = p[y], p[~y]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def accuracy(probabilities, labels):
    p = np.asarray(probabilities) >= 0.5
    return float((p == (np.asarray(labels) >= 0.5)).mean())


def peak_rss_mib():
    """Peak resident memory of this process (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def median(values):
    v = sorted(values)
    return v[len(v) // 2]


def settings():
    root = os.environ.get("HEAD_CT_PREPARED") or (sys.argv[1] if len(sys.argv) > 1 else None)
    if not root:
        sys.exit("reference: give the prepared data folder (train/ validate/ test/) as the "
                 "first argument or in HEAD_CT_PREPARED")
    return Path(root), int(os.environ.get("EPOCHS", "10")), int(os.environ.get("SEED", "1"))


def single_image_files(root, val_paths):
    test = Path(root) / "test"
    if test.is_dir():
        return list_split(test)[0]
    return val_paths[:10]


def report(**fields):
    print(json.dumps(fields), flush=True)


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start
