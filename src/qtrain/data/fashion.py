"""Where MNIST-format data lives: Fashion-MNIST (Debian), full MNIST (user path), sklearn digits.

* Fashion-MNIST: the Debian package ``dataset-fashion-mnist`` installs the four IDX ``.gz`` files
  in ``/usr/share/datasets/fashion-mnist/`` (``apt-get install -y dataset-fashion-mnist``, or
  ``make fashion-data``, which unpacks the ``.deb`` into ``.data/`` when not root).
* Full MNIST: no registry ships it; put the four IDX files in a folder and pass it as
  ``data_dir`` (``--set data_dir=DIR``) or ``QTRAIN_DATA_DIR`` (``$QTRAIN_DATA_DIR/mnist`` also works).
* sklearn digits (8x8, 1,797 images, values 0..16): optional (``pip install "qtrain[data]"``);
  upsampled to 28x28 so that the same CNN applies.

All three come back as :class:`qtrain.data.ImageSplits` (normalised ``float32 (n, 1, 28, 28)``).
Nothing is downloaded.

Example:
    >>> root = find_fashion_mnist()                           # doctest: +SKIP
    >>> splits = load_mnist_format_splits(root, 60000, 0, 10000, 0, FASHION_MEAN, FASHION_STD)  # doctest: +SKIP
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import TensorDataset

from qtrain.data.idx import IDX_FILES, find_idx_file, load_idx_split
from qtrain.data.mnist import ImageSplits, normalize_images, stratified_split

__all__ = ["ENV_DATA_DIR", "FASHION_DIRS", "FASHION_MEAN", "FASHION_STD", "find_fashion_mnist", "find_mnist",
           "load_mnist_format_splits", "load_digits_splits"]

ENV_DATA_DIR = "QTRAIN_DATA_DIR"
FASHION_DEB_DIR = Path("/usr/share/datasets/fashion-mnist")
#: searched after ``data_dir`` and ``$QTRAIN_DATA_DIR``: the Debian install, then ``make fashion-data``'s
#: unpack (relative to the working directory).
FASHION_DIRS: tuple[Path, ...] = (FASHION_DEB_DIR, Path(".data") / "usr/share/datasets/fashion-mnist")
FASHION_MEAN = 0.2860  # Fashion-MNIST training-set pixel mean / std (of x / 255)
FASHION_STD = 0.3530
FASHION_INSTALL = ("apt-get install -y dataset-fashion-mnist   (root), or `make fashion-data` "
                   "(apt-get download + dpkg -x into .data/)")


def _has_idx(folder: Path) -> bool:
    try:
        for stems in IDX_FILES.values():
            for stem in stems:
                find_idx_file(folder, stem)
    except FileNotFoundError:
        return False
    return True


def _candidates(data_dir: str | os.PathLike[str] | None, sub: str, extra: Sequence[Path] = ()) -> list[Path]:
    out = []
    if data_dir:
        out += [Path(data_dir), Path(data_dir) / sub]
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        out += [Path(env) / sub, Path(env)]
    return out + list(extra)


def find_fashion_mnist(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The first folder holding the four Fashion-MNIST IDX files.

    Searched: ``data_dir`` (and ``data_dir/fashion-mnist``), ``$QTRAIN_DATA_DIR/fashion-mnist``,
    ``$QTRAIN_DATA_DIR``, :data:`FASHION_DIRS`.

    Raises:
        FileNotFoundError: none has the files; the message lists the folders and how to install.
    """
    cands = _candidates(data_dir, "fashion-mnist", FASHION_DIRS)
    for cand in cands:
        if _has_idx(cand):
            return cand
    raise FileNotFoundError(
        f"Fashion-MNIST IDX files (train-images-idx3-ubyte[.gz], ...) not found in {[str(c) for c in cands]}; "
        f"install them with: {FASHION_INSTALL}, or put the four files in a folder and pass "
        f"--set data_dir=DIR (or set {ENV_DATA_DIR})")


def find_mnist(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the four (full, 60k/10k) MNIST IDX files: ``data_dir`` or ``$QTRAIN_DATA_DIR[/mnist]``.

    Raises:
        FileNotFoundError: with the folders searched and where to put the files.
    """
    cands = _candidates(data_dir, "mnist")
    for cand in cands:
        if _has_idx(cand):
            return cand
    where = [str(c) for c in cands] or "nothing: data_dir is unset and so is " + ENV_DATA_DIR
    raise FileNotFoundError(
        f"full MNIST IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-...) not found; "
        f"searched {where}. No package ships them: copy the four files into a folder and pass "
        f"--set data_dir=DIR (or set {ENV_DATA_DIR}); for a quick run use dataset=mnist5k")


def load_mnist_format_splits(root: str | os.PathLike[str], n_train: int, n_val: int, n_test: int, seed: int,
                             mean: float, std: float) -> ImageSplits:
    """Stratified splits of an IDX folder: train and val from the training files, test from ``t10k``.

    Args:
        root: folder with the four IDX files.
        n_train, n_val, n_test: split sizes (at most 60,000 = n_train + n_val and 10,000 for the standard sets).
        seed: split seed.
        mean, std: normalisation ``(x / 255 - mean) / std``.

    Returns:
        :class:`ImageSplits` of ``float32 (n, 1, 28, 28)`` images and ``int64`` labels.
    """
    train, test = load_idx_split(root, "train"), load_idx_split(root, "test")
    for name, ds, need in (("train", train, n_train + n_val), ("test", test, n_test)):
        if need > len(ds):
            raise ValueError(f"the {name} files in {str(root)!r} hold {len(ds)} images but {need} were asked for; "
                             f"lower {'n_train + n_val' if name == 'train' else 'n_test'}")
    tr, va = stratified_split(train.tensors[1], [n_train, n_val], seed)
    (te,) = stratified_split(test.tensors[1], [n_test], seed)

    def subset(ds: TensorDataset, idx: torch.Tensor) -> TensorDataset:
        return TensorDataset(normalize_images(ds.tensors[0][idx], mean, std), ds.tensors[1][idx].clone())

    return ImageSplits(subset(train, tr), subset(train, va), subset(test, te))


def load_digits_splits(n_train: int, n_val: int, n_test: int, seed: int, size: int = 28) -> ImageSplits:
    """sklearn's 1,797 8x8 digits, bilinearly upsampled to ``size`` x ``size``, stratified splits.

    Values 0..16 are scaled to 0..1 and standardised with the training pool's mean and std.

    Raises:
        ImportError: scikit-learn is missing (``pip install "qtrain[data]"``).
        ValueError: the split sizes exceed the 1,797 images.
    """
    from qtrain._optional import require

    datasets = require("sklearn.datasets", "data", "the sklearn digits dataset")
    bunch = datasets.load_digits()
    n = len(bunch.target)
    if n_train + n_val + n_test > n:
        raise ValueError(f"n_train + n_val + n_test = {n_train + n_val + n_test} > {n} sklearn digits; lower them")
    x = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32) / 16.0).unsqueeze(1)
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    y = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
    tr, va, te = stratified_split(y, [n_train, n_val, n_test], seed)
    mean, std = float(x[tr].mean()), float(x[tr].std())
    return ImageSplits(*(TensorDataset((x[i] - mean) / std, y[i].clone()) for i in (tr, va, te)))
